"""DP-2 as a Hypothesis state machine: source updates, sync pages, crashes and abandoned runs in
any interleaving; afterwards the store equals the source (0 missed updates), no change is emitted
twice (0 duplicates) and no stored version ever goes back to an older one.

The fake source behaves like DrChrono's lists: `since=YYYY-MM-DD` inclusive on the practice's
local day, pages in id order, and list data up to `STALE` old (a change younger than that shows
the previous version, or nothing for a new record).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chronobridge.domain.cursors import Cursor, CursorPolicy, advance, finish, is_new_version, start
from chronobridge.domain.records import RecordVersion
from chronobridge.domain.timezones import TimeZones

ZONES = TimeZones.build({}, default="US/Eastern")
POLICY = CursorPolicy(lag=timedelta(minutes=5), overlap=timedelta(minutes=5))
STALE = timedelta(seconds=20)  # list data lags by seconds; must stay under the lag
PAGE = 3


@dataclass
class Source:
    now: datetime = datetime(2024, 3, 1, 4, 50, tzinfo=UTC)  # just before midnight in New York
    history: dict[int, list[datetime]] = field(default_factory=dict)

    def write(self, record_id: int) -> None:
        self.now += timedelta(seconds=1)  # DrChrono's seconds precision: one change per second
        self.history.setdefault(record_id, []).append(self.now)

    def visible(self, record_id: int) -> datetime | None:
        shown = [at for at in self.history[record_id] if at <= self.now - STALE]
        return shown[-1] if shown else None

    def page(self, since: date | None, after: int | None) -> list[RecordVersion]:
        out: list[RecordVersion] = []
        for record_id in sorted(self.history):
            at = self.visible(record_id)
            if (after is not None and record_id <= after) or at is None:
                continue
            if since is not None and ZONES.local_date(at) < since:
                continue
            out.append(RecordVersion(resource="patients", record_id=str(record_id), updated_at=at))
            if len(out) == PAGE:
                break
        return out


class CursorMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.source = Source()
        self.cursor = Cursor(resource="patients")
        self.store: dict[str, datetime] = {}
        self.emitted: set[tuple[str, datetime]] = set()
        self.cursor_repeats = 0
        self.abandoned = False

    @rule()
    def create(self) -> None:
        self.source.write(len(self.source.history) + 1)

    @precondition(lambda self: self.source.history)
    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        self.source.write(data.draw(st.sampled_from(sorted(self.source.history))))

    @rule(seconds=st.sampled_from([1, 7, 30, 200, 900, 3600, 6 * 3600]))
    def tick(self, seconds: int) -> None:
        self.source.now += timedelta(seconds=seconds)

    @rule()
    def sync_page(self) -> None:
        self.cursor = self._page(self.cursor, commit=True)

    @rule()
    def crash_before_commit(self) -> None:
        self._page(self.cursor, commit=False)  # the transaction rolled back: nothing kept

    @rule()
    def abandon_run(self) -> None:
        if self.cursor.run is not None:
            self.abandoned = True
            self.cursor = Cursor(resource="patients", bookmark=self.cursor.bookmark,
                                 boundary=self.cursor.boundary)  # fmt: skip

    def _page(self, cursor: Cursor, *, commit: bool) -> Cursor:
        cursor = start(cursor, now=self.source.now, timezones=ZONES, policy=POLICY)
        assert cursor.run is not None
        after = int(cursor.run.next_page) if cursor.run.next_page else None
        page = self.source.page(cursor.run.since, after)
        last = page[-1].record_id if len(page) == PAGE else None
        step = advance(cursor, page, next_page=last, timezones=ZONES, policy=POLICY)
        if commit:
            self._store(step.fresh)
        return finish(step.cursor, timezones=ZONES, policy=POLICY) if last is None else step.cursor

    def _store(self, fresh: tuple[RecordVersion, ...]) -> None:
        for version in fresh:
            assert version.updated_at is not None
            if not is_new_version(self.store.get(version.record_id), version.updated_at):
                self.cursor_repeats += 1
                continue
            key = (version.record_id, version.updated_at)
            assert key not in self.emitted, "a change was emitted twice"
            self.emitted.add(key)
            self.store[version.record_id] = version.updated_at

    @invariant()
    def cursor_dedupes_on_its_own_unless_a_run_was_dropped(self) -> None:
        assert self.abandoned or self.cursor_repeats == 0

    @invariant()
    def bookmark_never_passes_the_clock(self) -> None:
        bookmark = self.cursor.bookmark
        assert bookmark is None or bookmark <= self.source.now

    def teardown(self) -> None:
        """Quiesce, finish the run in progress, then one more full run: nothing is missing."""
        self.source.now += POLICY.lag + STALE + timedelta(seconds=1)
        for _ in range(2):
            self.cursor = self._page(self.cursor, commit=True)
            while self.cursor.run is not None:
                self.cursor = self._page(self.cursor, commit=True)
        latest = {str(i): versions[-1] for i, versions in self.source.history.items()}
        assert self.store == latest


CursorMachine.TestCase.settings = settings(
    max_examples=250,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_no_update_is_missed_around_the_cursor = CursorMachine.TestCase


def test_an_update_behind_the_page_cursor_across_midnight_is_not_missed() -> None:
    """The case the signpost exists for: a record already paged past changes before midnight,
    a later page shows a change after midnight; the next `since` must still reach back."""
    machine = CursorMachine()
    for _ in range(4):
        machine.create()
    machine.tick(30)
    machine.sync_page()  # the run starts at 23:50 and reads records 1-3
    machine.source.write(1)  # record 1 changes behind the page cursor, before midnight
    machine.tick(900)
    machine.source.write(4)  # record 4 changes after midnight
    machine.tick(30)
    machine.sync_page()  # reads record 4 and finishes the run
    machine.teardown()
