"""Read-only specials computed from the records: work schedules, availability, day sheets and
the patient documents (C-CDA, QRDA I) as synthetic XML."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from xml.sax.saxutils import escape

from starlette.responses import Response

from chronobridge.emulator._appointments import DEFAULT_DURATION, span
from chronobridge.emulator._call import Call, Handler
from chronobridge.emulator._filters import FilterError, parse_date, parse_range
from chronobridge.emulator._http import INTEGER, REQUIRED, field_error, not_found, ok, parse_int
from chronobridge.emulator._records import Record
from chronobridge.emulator._tables import item, visible

DAY_SHEET_DATE = "Date has wrong format. Use one of these formats instead: M/D/YYYY."
MAX_AVAILABILITY_DAYS = 31
DAY_SHEETS: dict[str, tuple[str, str, str]] = {
    # path → (table, date field, amount field)
    "/api/day_sheet_charges": ("line_items", "service_date", "billed"),
    "/api/day_sheet_credits": ("transactions", "posted_date", "ins_paid"),
    "/api/day_sheet_patient_payments": ("patient_payments", "posted_date", "amount"),
}


async def doctor_work_schedule(call: Call) -> Response:
    """The work schedule of the token's doctor (records keyed by the doctor's id)."""
    return _schedule(call, "doctor_work_schedule", call.principal.user.doctor)


async def office_work_schedule(call: Call) -> Response:
    """The schedule of the doctor's primary office: the first office whose doctor they are."""
    doctor = str(call.principal.user.doctor)
    offices = [
        r for r, m in call.state.records.scan("offices") if m.practice == call.practice
    ]  # a practice has a handful of offices
    primary = next((o for o in offices if str(o.get("doctor")) == doctor), None)
    primary = primary or (offices[0] if offices else None)
    return _schedule(call, "office_work_schedule", int(primary["id"]) if primary else None)


def _schedule(call: Call, table: str, record_id: int | None) -> Response:
    found = visible(call.state, call.principal, table, record_id)
    if found is None:
        return not_found()
    return ok(call.renderer.wire("WorkSchedule", found[0], found[1], verbose=True))


def _days(call: Call) -> list[date] | Response:
    try:
        if call.query.get("date_range"):
            start, end = parse_range(
                "date_range", call.query["date_range"], max_days=MAX_AVAILABILITY_DAYS
            )
        else:
            raw = call.query.get("date")
            start = end = parse_date("date", raw) if raw else _today(call)
    except FilterError as exc:
        return field_error(exc.param, exc.message)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _today(call: Call) -> date:
    return call.state.clock.now().astimezone(call.renderer.zone_of_practice(call.practice)).date()


async def availability(call: Call) -> Response:
    """Free slots per office and exam room: office hours minus booked appointments."""
    days = _days(call)
    if isinstance(days, Response):
        return days
    numbers = {}
    for name in ("office", "doctor", "duration"):
        raw = call.query.get(name)
        numbers[name] = parse_int(raw) if raw is not None else None
        if raw is not None and numbers[name] is None:
            return field_error(name, INTEGER)
    length = max(5, min(numbers["duration"] or DEFAULT_DURATION, 480))
    offices = [
        (r, m)
        for r, m in call.state.records.scan("offices")
        if m.practice == call.practice and numbers["office"] in (None, r["id"])
    ]
    booked = _booked({str(d) for d in days}, {r["id"] for r, _ in offices}, call)
    slots = [
        {**slot, "doctor": numbers["doctor"] or office.get("doctor")}
        for office, _meta in offices
        for day in days
        for slot in _free(office, day, length, booked)
    ]
    return ok({"results": slots})


def _booked(days: set[str], offices: set[Any], call: Call) -> dict[tuple[Any, Any], list[Any]]:
    taken: dict[tuple[Any, Any], list[Any]] = defaultdict(list)
    for record, _meta in call.state.records.scan("appointments"):
        if record.get("office") in offices and str(record.get("scheduled_time"))[:10] in days:
            window = span(record)
            if window is not None and record.get("status") != "Cancelled":
                taken[(record.get("office"), record.get("exam_room"))].append(window)
    return taken


def _free(
    office: Record, day: date, length: int, booked: dict[tuple[Any, Any], list[Any]]
) -> Iterator[dict[str, Any]]:
    opens, closes = _hours(office.get("start_time"), 8), _hours(office.get("end_time"), 17)
    step = timedelta(minutes=length)
    for room in office.get("exam_rooms") or []:
        index = room.get("index") if isinstance(room, dict) else None
        start = datetime.combine(day, opens)
        while start + step <= datetime.combine(day, closes):
            busy = booked.get((office["id"], index), [])
            if not any(s < start + step and start < e for s, e in busy):
                yield {
                    "office": office["id"],
                    "exam_room": index,
                    "start": start.isoformat(timespec="seconds"),
                    "end": (start + step).isoformat(timespec="seconds"),
                    "duration": length,
                }
            start += step


def _hours(value: Any, default: int) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        return time(default)


def _us_date(call: Call, name: str) -> date | Response:
    raw = call.query.get(name)
    if not raw:
        return field_error(name, REQUIRED)
    try:
        month, day, year = (int(p) for p in raw.split("/"))
        if not (len(raw) <= 10 and 1000 <= year <= 9999):
            raise ValueError(raw)
        return date(year, month, day)
    except ValueError:
        return field_error(name, DAY_SHEET_DATE)


def _period(call: Call) -> tuple[date, date] | Response:
    start, end = _us_date(call, "start_date"), _us_date(call, "end_date")
    if isinstance(start, Response):
        return start
    if isinstance(end, Response):
        return end
    if end < start:
        return field_error("end_date", "The end date must not be before the start date.")
    return start, end


async def day_sheet(call: Call) -> Response:
    """Day sheets need `start_date` and `end_date` as M/D/YYYY (facts §7)."""
    period = _period(call)
    if isinstance(period, Response):
        return period
    low, high = (d.isoformat() for d in period)
    head = {"start_date": _us(period[0]), "end_date": _us(period[1])}
    if call.op.path == "/api/day_sheet_totals":
        totals = {
            path.removeprefix("/api/day_sheet_"): _total(_sheet_rows(call, path, low, high))
            for path in DAY_SHEETS
        }
        return ok({**head, "results": [totals], "totals": totals})
    rows = _sheet_rows(call, call.op.path, low, high)
    return ok({**head, "results": rows, "totals": {"amount": _total(rows)}})


def _us(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def _total(rows: list[Record]) -> float:
    return round(sum(float(r["amount"] or 0) for r in rows), 2)


def _sheet_rows(call: Call, path: str, low: str, high: str) -> list[Record]:
    table, field, amount = DAY_SHEETS[path]
    patient = call.query.get("patient_id")
    rows = []
    for record, meta in call.state.records.scan(table):
        if meta.practice != call.practice or not low <= str(record.get(field))[:10] <= high:
            continue
        if patient is not None and str(record.get("patient")) != patient:
            continue
        row = {k: record.get(k) for k in ("id", "patient", "appointment")}
        rows.append({**row, "date": record.get(field), "amount": record.get(amount)})
    return rows


async def patient_document(call: Call) -> Response:
    """C-CDA / QRDA I: a small, obviously synthetic XML document about the patient."""
    found = item(call.state, call.principal, call.op, call.raw_id)
    if found is None:
        return not_found()
    patient = found[0]
    kind = "QRDA Category I" if call.op.action == "qrda1" else "C-CDA Continuity of Care"
    given, family = (
        escape(str(patient.get("first_name") or "")),
        escape(str(patient.get("last_name") or "")),
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ClinicalDocument xmlns="urn:hl7-org:v3">\n'
        f"  <title>{escape(kind)} (synthetic, DrChrono emulator)</title>\n"
        f'  <recordTarget><patientRole><id extension="{patient["id"]}"/>\n'
        f"    <patient><name><given>{given}</given><family>{family}</family></name>\n"
        f'    <birthTime value="{escape(str(patient.get("date_of_birth") or ""))}"/></patient>\n'
        "  </patientRole></recordTarget>\n"
        "</ClinicalDocument>\n"
    )
    return Response(xml, media_type="application/xml")


HANDLERS: dict[tuple[str, str], Handler] = {
    ("GET", "/api/doctor_work_schedule"): doctor_work_schedule,
    ("GET", "/api/office_work_schedule"): office_work_schedule,
    ("GET", "/api/availability"): availability,
    ("GET", "/api/day_sheet_charges"): day_sheet,
    ("GET", "/api/day_sheet_credits"): day_sheet,
    ("GET", "/api/day_sheet_patient_payments"): day_sheet,
    ("GET", "/api/day_sheet_totals"): day_sheet,
    ("GET", "/api/patients/{id}/ccda"): patient_document,
    ("GET", "/api/patients/{id}/ccda_async"): patient_document,
    ("GET", "/api/patients/{id}/qrda1"): patient_document,
}
