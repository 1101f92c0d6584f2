"""Write a new Alembic revision from the difference between the tables and the migrations.

    python -m chronobridge.store.migrations "add sync tables" --rev-id 0002_sync

It migrates a throwaway SQLite database to the current heads, compares it with
`chronobridge.store.tables.metadata` and writes `versions/<rev-id>_<slug>.py`. Read and edit
the result: check it on PostgreSQL too (tests/integration/store/test_store_migrations.py).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from alembic import command

from chronobridge.store._database import make_engine
from chronobridge.store._migrate import alembic_config, upgrade


async def write_revision(message: str, *, rev_id: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(folder) / 'scratch.sqlite'}")
        try:
            await upgrade(engine)
            async with engine.connect() as conn:
                await conn.run_sync(
                    lambda sync: command.revision(
                        alembic_config(sync), message=message, autogenerate=True, rev_id=rev_id
                    )
                )
        finally:
            await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m chronobridge.store.migrations")
    parser.add_argument("message", help="what the revision does, e.g. 'add sync tables'")
    parser.add_argument("--rev-id", help="revision id, e.g. 0002_sync (default: random)")
    args = parser.parse_args()
    asyncio.run(write_revision(args.message, rev_id=args.rev_id))


if __name__ == "__main__":
    main()
