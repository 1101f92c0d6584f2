"""One admitted /api request: who calls, which catalog operation, and the request itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

from starlette.requests import Request
from starlette.responses import Response

from chronobridge.catalog import Operation
from chronobridge.emulator._serialize import Renderer, renderer
from chronobridge.emulator._state import EmulatorState, Principal
from chronobridge.emulator._tables import table_name


@dataclass(frozen=True)
class Call:
    state: EmulatorState
    principal: Principal
    op: Operation
    request: Request
    raw_id: str | None = None

    @cached_property
    def query(self) -> Mapping[str, str]:
        """Query parameters (the last value wins, like Django's QueryDict)."""
        return dict(self.request.query_params)

    @property
    def practice(self) -> int:
        return self.principal.user.practice_group

    @property
    def client_id(self) -> str:
        return self.principal.app.client_id

    @property
    def table(self) -> str:
        return table_name(self.op.resource)

    @property
    def renderer(self) -> Renderer:
        return renderer(self.state)

    def exists(self, resource: str, record_id: int) -> bool:
        """Reference checks: the record exists, is live and is in the caller's practice."""
        meta = self.state.records.meta(table_name(resource), record_id)
        return meta is not None and meta.deleted is None and meta.practice == self.practice


Handler = Callable[[Call], Awaitable[Response]]
