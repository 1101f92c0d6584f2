"""What the sync, store and errors commands share: the engine over the hub, the mapping file,
and who is acting (for the audit log)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from chronobridge.cli._common import actor
from chronobridge.domain.mappings import CompiledMapping, default_mapping, load_mapping
from chronobridge.errors import InvalidRequest
from chronobridge.store import App
from chronobridge.sync import ConnectionClients, SyncEngine
from chronobridge.wiring import Hub, ingest_hooks

__all__ = ["MappingOpt", "SyncSession", "actor", "load_mapping_file", "sync_session"]


MappingOpt = Annotated[
    Path | None,
    typer.Option(
        "--mapping",
        envvar="CHRONOBRIDGE_MAPPING_FILE",
        help="The practice's mapping file (default: the shipped default.yaml).",
        show_default=False,
    ),
]


@dataclass(frozen=True)
class SyncSession:
    hub: Hub
    app: App
    engine: SyncEngine


@asynccontextmanager
async def sync_session(app: str | None, mapping: Path | None) -> AsyncIterator[SyncSession]:
    compiled = load_mapping_file(mapping)
    async with Hub.open() as hub:
        chosen = await hub.app(app)
        clients = ConnectionClients(services=hub.services)
        engine = SyncEngine(
            hub.db, clients, compiled, clock=hub.services.clock, hooks=ingest_hooks(hub.db)
        )
        yield SyncSession(hub=hub, app=chosen, engine=engine)


def load_mapping_file(path: Path | None) -> CompiledMapping:
    if path is None:
        return default_mapping()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidRequest(
            f"Could not read the mapping file {path} ({type(error).__name__})",
            hint="Check the path given to --mapping (or CHRONOBRIDGE_MAPPING_FILE).",
        ) from None
    return load_mapping(text, origin=path.name)
