"""Scripted faults: the misbehaviour a test asks for, one call at a time.

API scripts (`throttle`, `error`, `slow`) are consulted by the request gate (`_gate.admit`) for
every /api/ call and by the token endpoint; delivery scripts (`duplicate`, `delay`, `drop`) by
the webhook sender. Each script fires for its next `count` matching calls, or with a
`probability` until it is reset; the dice come from `config.seed`, so runs repeat.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from chronobridge.emulator._control_input import ControlError, integer, number, text
from chronobridge.emulator._gate import throttled
from chronobridge.emulator._state import EmulatorState, Principal

ApiKind = Literal["throttle", "error", "slow"]
DeliveryKind = Literal["duplicate", "delay", "drop"]
API_KINDS: tuple[str, ...] = ("throttle", "error", "slow")
DELIVERY_KINDS: tuple[str, ...] = ("duplicate", "delay", "drop")
ERROR_STATUSES = (500, 502, 503, 504)


MAX_COUNT = 1_000_000
MAX_DELAY = 600.0  # seconds: longer than any client timeout, short enough never to hang a test
MAX_RETRY_AFTER = 86_400.0


class FaultError(ControlError):
    """A fault description that cannot be scripted (answered with 400)."""


@dataclass(slots=True, kw_only=True)
class Script:
    """One scripted fault. `remaining` None means "until reset" (with `probability`)."""

    id: int
    kind: str
    remaining: int | None = 1
    probability: float = 1.0
    client_id: str | None = None
    path: str = "/api/"
    status: int = 503
    delay: float = 0.0
    retry_after: float = 1.0

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "remaining": self.remaining,
            "probability": self.probability,
            "client_id": self.client_id,
            "path": self.path,
            "status": self.status,
            "delay": self.delay,
            "retry_after": self.retry_after,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryPlan:
    """What the webhook sender does to one delivery attempt."""

    duplicate: bool = False
    delay: float = 0.0
    drop: bool = False


class Faults:
    """The fault scripts of one emulator (`state.extensions["faults"]`)."""

    def __init__(self, *, seed: int) -> None:
        self.scripts: list[Script] = []
        self.deliveries: list[Script] = []
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> Script:
        """Script a fault from its JSON description (see docs/emulator.md)."""
        return self.keep(check(spec))

    def keep(self, script: Script) -> Script:
        """Store a checked script under the next id."""
        script.id = next(self._ids)
        target = self.deliveries if script.kind in DELIVERY_KINDS else self.scripts
        target.append(script)
        return script

    def reset(self) -> None:
        self.scripts.clear()
        self.deliveries.clear()

    def json(self) -> dict[str, Any]:
        return {
            "api": [s.json() for s in self.scripts],
            "webhooks": [s.json() for s in self.deliveries],
        }

    async def intercept(self, request: Request, principal: Principal | None) -> Response | None:
        """The gate's last word: a scripted answer, a delay, or None to go on."""
        client_id = principal.app.client_id if principal else _request_client(request)
        for script in list(self.scripts):
            if not self._fires(self.scripts, script, request.url.path, client_id):
                continue
            if script.kind == "slow":
                await asyncio.sleep(script.delay)
                continue
            return _answer(script)
        return None

    def delivery_plan(self, client_id: str) -> DeliveryPlan:
        duplicate, delay, drop = False, 0.0, False
        for script in list(self.deliveries):
            if not self._fires(self.deliveries, script, "", client_id):
                continue
            duplicate = duplicate or script.kind == "duplicate"
            drop = drop or script.kind == "drop"
            delay += script.delay if script.kind == "delay" else 0.0
        return DeliveryPlan(duplicate=duplicate, delay=delay, drop=drop)

    def _fires(self, owner: list[Script], script: Script, path: str, client_id: str | None) -> bool:
        if script.client_id is not None and script.client_id != client_id:
            return False
        if path and not path.startswith(script.path):
            return False
        if script.probability < 1.0 and self._rng.random() >= script.probability:
            return False
        if script.remaining is not None:
            script.remaining -= 1
            if script.remaining <= 0:
                owner.remove(script)
        return True


def faults(state: EmulatorState) -> Faults:
    """The state's fault scripts, created (with the startup faults of the config) on first use."""
    found = state.extensions.get("faults")
    if not isinstance(found, Faults):
        found = state.extensions["faults"] = Faults(seed=state.config.seed)
        for spec in parse_cli_faults(state.config.extra.get("faults", "")):
            found.add(spec)
    return found


def parse_cli_faults(text: str) -> list[dict[str, Any]]:
    """`KIND:COUNT[:ARG]` items separated by `;` (ARG: status for error, seconds for slow/delay)."""
    specs: list[dict[str, Any]] = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        kind, _, rest = item.partition(":")
        count, _, arg = rest.partition(":")
        spec: dict[str, Any] = {"kind": kind, "count": int(count or "1")}
        if arg and kind == "error":
            spec["status"] = int(arg)
        elif arg and kind == "throttle":
            spec["retry_after"] = float(arg)
        elif arg:
            spec["delay"] = float(arg)
        check(spec)  # validate early: a bad flag fails at startup, not at the first call
        specs.append(spec)
    return specs


def check(spec: dict[str, Any]) -> Script:
    """A fault description turned into a script (id 0 until kept), or FaultError naming
    what is wrong: every number finite and in range, so no script can hang a call."""
    kind = spec.get("kind")
    if kind not in API_KINDS + DELIVERY_KINDS:
        raise FaultError(f"unknown fault kind {kind!r}; use one of {API_KINDS + DELIVERY_KINDS}")
    try:
        script = Script(
            id=0,
            kind=str(kind),
            remaining=_count(spec),
            probability=number(spec, "probability", 1.0, low=0.0, high=1.0),
            client_id=text(spec, "client_id"),
            path=text(spec, "path", "/api/") or "/api/",
            status=integer(spec, "status", 503, low=100, high=599),
            delay=number(spec, "delay", 0.0, low=0.0, high=MAX_DELAY),
            retry_after=number(spec, "retry_after", 1.0, low=0.0, high=MAX_RETRY_AFTER),
        )
    except ControlError as exc:
        raise FaultError(str(exc)) from None
    if script.probability <= 0.0:
        raise FaultError("probability must be in (0, 1]")
    if script.kind == "error" and script.status not in ERROR_STATUSES:
        raise FaultError(f"status must be one of {ERROR_STATUSES}")
    return script


def _count(spec: dict[str, Any]) -> int | None:
    if "count" in spec:
        return integer(spec, "count", 1, low=1, high=MAX_COUNT)
    return None if "probability" in spec else 1


def _request_client(request: Request) -> str | None:
    value = getattr(request.state, "client_id", None)
    return value if isinstance(value, str) else None


def _answer(script: Script) -> Response:
    if script.kind == "throttle":
        return throttled(script.retry_after)
    # Django and the load balancer in front of it answer 5xx with small HTML pages.
    return PlainTextResponse(
        f"<h1>Server Error ({script.status})</h1>",
        status_code=script.status,
        media_type="text/html",
    )
