"""Helpers for one catalog resource, built from its operations (no method per endpoint).

`list` yields records lazily through next links, `pages` yields whole pages with their resume
cursor (for the sync engine), `batch`/`batch_pages` run the async `_list` flow when the
resource has one; `get`, `create`, `update` (PUT), `patch`, `delete` and `action` map to the
operation of that kind. A kind the resource lacks raises `InvalidRequest` before any call.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from chronobridge.catalog import CATALOG, Kind, Operation, Resource
from chronobridge.client._batch import BatchPage, BatchPlan, iterate_batch
from chronobridge.client._build import Outgoing, build, page_size_max
from chronobridge.client._pages import Page, iterate_pages, resume_request
from chronobridge.errors import InvalidRequest

if TYPE_CHECKING:
    from chronobridge.client._core import DrChronoClient

__all__ = ["ResourceClient"]

T = TypeVar("T")
Body = Mapping[str, object]


class ResourceClient(Generic[T]):
    """The operations of one resource (`client.resource("patients")`, `client.patients`)."""

    def __init__(self, client: DrChronoClient, resource: Resource) -> None:
        self._client = client
        self.resource = resource

    @property
    def name(self) -> str:
        return self.resource.name

    def __repr__(self) -> str:
        return f"ResourceClient({self.name!r})"

    # --- reads -------------------------------------------------------------------------------

    def list(
        self, *, page_size: int | None = None, verbose: bool | None = None, **filters: object
    ) -> AsyncIterator[T]:
        """Every record matching `filters`, one at a time, fetching one page at a time."""
        first = self._list_request(page_size=page_size, verbose=verbose, filters=filters)
        return _records(iterate_pages(self._client, first))

    def pages(
        self,
        *,
        resume: str | None = None,
        page_size: int | None = None,
        verbose: bool | None = None,
        **filters: object,
    ) -> AsyncIterator[Page[T]]:
        """Whole pages; pass a page's `next` as `resume` to continue there later."""
        first = self._list_request(page_size=page_size, verbose=verbose, filters=filters)
        if resume is not None:
            first = resume_request(first, resume)
        return iterate_pages(self._client, first)

    async def get(self, id: object, **params: object) -> T:
        record: T = await self._call(Kind.GET, id=id, params=params)
        return record

    # --- writes ------------------------------------------------------------------------------

    @overload
    async def create(self, body: Body, *, files: Any = None, **params: object) -> T: ...

    @overload
    async def create(
        self, body: Sequence[Body], *, files: Any = None, **params: object
    ) -> builtins.list[T]: ...

    async def create(
        self, body: Body | Sequence[Body], *, files: Any = None, **params: object
    ) -> T | builtins.list[T]:
        """201 and the created object; a list body creates several and answers a list."""
        if files is not None:
            form = dict(_mapping(body))
            return await self._call(Kind.CREATE, params=params, data=form, files=files)  # type: ignore[no-any-return]
        payload = dict(body) if isinstance(body, Mapping) else [dict(b) for b in body]
        return await self._call(Kind.CREATE, params=params, json=payload)  # type: ignore[no-any-return]

    async def update(self, id: object, body: Body, **params: object) -> T | None:
        """PUT the whole object; DrChrono answers 204 (None) or the object."""
        return await self._call(Kind.UPDATE, id=id, params=params, json=dict(body))  # type: ignore[no-any-return]

    async def patch(self, id: object, body: Body, **params: object) -> T | None:
        """PATCH some fields; DrChrono answers 204 (None) or the object."""
        return await self._call(Kind.PATCH, id=id, params=params, json=dict(body))  # type: ignore[no-any-return]

    async def delete(self, id: object, **params: object) -> None:
        await self._call(Kind.DELETE, id=id, params=params)

    async def action(
        self,
        name: str,
        *,
        id: object = None,
        method: str | None = None,
        params: Mapping[str, object] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
    ) -> Any:
        """A sub-action (`add_exam_room`, `ccda` (XML text), `current`, ...); its answer."""
        op = self._action(name, method)
        out = build(op, id=id, params=params, json=json, data=data, files=files)
        return await self._client.execute(out)

    # --- async batches -----------------------------------------------------------------------

    def batch(self, *, page_size: int | None = None, **filters: object) -> AsyncIterator[T]:
        """Every record of an async batch (`/api/<x>_list`), one at a time."""
        return _records(self.batch_pages(page_size=page_size, **filters))

    def batch_pages(
        self, *, page_size: int | None = None, **filters: object
    ) -> AsyncIterator[BatchPage[T]]:
        """The pages of an async batch: submit, poll with backoff, then page after page."""
        submit, fetch = self._batch_ops()
        size = page_size or page_size_max(submit, verbose=False)
        checked = build(submit, params={**filters, "page_size": size})
        plan = BatchPlan(submit=submit, fetch=fetch, params=dict(checked.params), page_size=size)
        return iterate_batch(self._client, plan)

    # --- lookups -----------------------------------------------------------------------------

    def _list_request(
        self, *, page_size: int | None, verbose: bool | None, filters: Mapping[str, object]
    ) -> Outgoing:
        op = self._op(Kind.LIST)
        size = page_size or page_size_max(op, verbose=bool(verbose))
        return build(op, params={**filters, "verbose": verbose, "page_size": size})

    async def _call(self, kind: Kind, **kwargs: Any) -> Any:
        return await self._client.execute(build(self._op(kind), **kwargs))

    def _op(self, kind: Kind) -> Operation:
        op = self.resource.op(kind)
        if op is None:
            raise InvalidRequest(f"DrChrono's {self.name} has no {kind.value} operation.")
        return op

    def _action(self, name: str, method: str | None) -> Operation:
        short = name.removeprefix(f"{self.name}_")
        actions = [op for op in self.resource.operations if op.kind is Kind.ACTION]
        found = [
            op
            for op in actions
            if short in (op.action, op.name.removeprefix(f"{self.name}_"))
            and (method is None or op.method == method.upper())
        ]
        if len(found) == 1:
            return found[0]
        if not found:
            known = ", ".join(sorted({op.action or op.name for op in actions})) or "none"
            raise InvalidRequest(f"{self.name} has no action {name!r}; its actions: {known}.")
        methods = ", ".join(sorted(op.method for op in found))
        raise InvalidRequest(f"{self.name}.{name} needs method= one of {methods}.")

    def _batch_ops(self) -> tuple[Operation, Operation]:
        batch = CATALOG.resource(self.resource.batch) if self.resource.batch else self.resource
        submit, fetch = batch.op(Kind.BATCH_SUBMIT), batch.op(Kind.BATCH_FETCH)
        if submit is None or fetch is None:
            raise InvalidRequest(f"DrChrono has no async batch list for {self.name}.")
        return submit, fetch


async def _records(pages: AsyncIterator[Page[T]] | AsyncIterator[BatchPage[T]]) -> AsyncIterator[T]:
    async for page in pages:
        for record in page.results:
            yield record


def _mapping(body: Body | Sequence[Body]) -> Body:
    if isinstance(body, Mapping):
        return body
    raise InvalidRequest("A multipart create (files=...) takes one object, not a list.")
