"""Secrets at rest (OA-5): never plaintext in any column or file, bound to their row, fail closed
when altered, and re-encrypted by key rotation so the old key can be retired."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from chronobridge.errors import DecryptionFailed
from chronobridge.settings import Settings
from chronobridge.store import (
    Apps,
    AppSpec,
    AuditEntry,
    AuditLog,
    Connections,
    Database,
    Identity,
    KeyFile,
    KeyRing,
    OAuthStates,
    Role,
    TokenPair,
    Tokens,
    open_database,
    reencrypt_all,
)
from chronobridge.store.tables import apps, metadata, tokens
from support.databases import PostgresServer

NOW = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
CANARIES = {
    "client_secret": "canary-client-secret-5be1d2",
    "webhook_secret": "canary-webhook-secret-5be1d2",
    "access": "canary-access-token-5be1d2",
    "refresh": "canary-refresh-token-5be1d2",
}
POSITIVE_CONTROL = "positive-control-not-secret-5be1d2"


async def seed(db: Database) -> dict[str, str]:
    """Store every kind of secret; returns the plaintexts to look for (verifier included)."""
    app = await Apps(db).create(
        AppSpec(
            name="canary",
            client_id="canary-client",
            client_secret=CANARIES["client_secret"],
            redirect_uris=("http://127.0.0.1:8600/oauth/callback",),
            webhook_secret=CANARIES["webhook_secret"],
        ),
        now=NOW,
    )
    for user in (1, 2):
        await Connections(db).connect(
            app.id,
            Identity(drchrono_user_id=user, username=f"u{user}", role=Role.DOCTOR, doctor_id=user),
            TokenPair(
                access_token=f"{CANARIES['access']}-{user}",
                refresh_token=f"{CANARIES['refresh']}-{user}",
                expires_at=NOW + timedelta(hours=48),
            ),
            scopes=(),
            now=NOW,
        )
    request = await OAuthStates(db).create(app.id, redirect_uri="http://x/cb", now=NOW)
    await AuditLog(db).append(
        AuditEntry(actor="test", action="seed", target_type="app", reason=POSITIVE_CONTROL)
    )
    return {**CANARIES, "verifier": request.code_verifier, "state": request.state}


async def every_stored_text(db: Database) -> str:
    """Every column of every table as text, the way a dump would show it."""
    parts: list[str] = []
    async with db.read() as tx:
        for table in metadata.sorted_tables:
            for row in (await tx.execute(sa.select(table))).all():
                parts.extend(repr(value) for value in row)
    return "\n".join(parts)


def raw_storage(db: Database, database_url: str, postgres: PostgresServer | None) -> str:
    """The SQLite files' bytes, or a pg_dump of the PostgreSQL database."""
    if db.is_sqlite:
        path = Path(sa.make_url(database_url).database or "")
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists()).decode("latin-1")
    assert postgres is not None
    dbname = sa.make_url(database_url).database or ""
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))
    pg_dump = str(bindir[-1]) if bindir else shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed to check what a dump of the database shows"
    command = [pg_dump, "-h", postgres.host, "-p", str(postgres.port), "-U", postgres.user, dbname]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


async def test_no_secret_is_stored_in_plaintext(
    database: Database, database_url: str, request: pytest.FixtureRequest
) -> None:
    plaintexts = await seed(database)
    postgres = None if database.is_sqlite else request.getfixturevalue("postgres")
    texts = {
        "columns": await every_stored_text(database),
        "storage": raw_storage(database, database_url, postgres),
    }
    for where, text in texts.items():
        assert POSITIVE_CONTROL in text, f"the {where} scan does not see stored data"
        for name, secret in plaintexts.items():
            assert secret not in text, f"{name} found in plaintext in {where}"
            assert secret.encode().hex() not in text, f"{name} found hex-encoded in {where}"


async def test_a_ciphertext_copied_to_another_row_is_refused(database: Database) -> None:
    await seed(database)
    async with database.write() as tx:
        stolen = (
            await tx.execute(sa.select(tokens.c.refresh_token).where(tokens.c.connection_id == 1))
        ).scalar_one()
        await tx.execute(
            tokens.update().where(tokens.c.connection_id == 2).values(refresh_token=stolen)
        )
    assert (await Tokens(database).get(1)) is not None
    with pytest.raises(DecryptionFailed, match="refresh_token:2"):
        await Tokens(database).get(2)


async def test_a_ciphertext_moved_to_another_column_is_refused(database: Database) -> None:
    await seed(database)
    async with database.write() as tx:
        await tx.execute(tokens.update().values(access_token=tokens.c.refresh_token))
    with pytest.raises(DecryptionFailed):
        await Tokens(database).get(1)


async def test_a_tampered_secret_fails_closed(database: Database) -> None:
    await seed(database)
    async with database.write() as tx:
        stored = (await tx.execute(sa.select(apps.c.client_secret))).scalar_one()
        middle = len(stored) // 2
        flipped = stored[:middle] + ("A" if stored[middle] != "A" else "B") + stored[middle + 1 :]
        await tx.execute(apps.update().values(client_secret=flipped))
    with pytest.raises(DecryptionFailed) as caught:
        await Apps(database).by_client_id("canary-client")
    assert CANARIES["client_secret"] not in str(caught.value)
    assert flipped not in str(caught.value)


async def test_rotation_re_encrypts_everything_and_the_old_key_can_go(
    database: Database, database_url: str, keyring: KeyRing
) -> None:
    plaintexts = await seed(database)
    new_key = KeyRing.new_key()
    rotating = await open_database(database_url, keys=keyring.with_new_key(new_key))
    try:
        report = await reencrypt_all(rotating, batch=1)  # batch=1 walks the keyset paging
    finally:
        await rotating.close()
    # Tables of later features (records, inbox, ...) are listed too, with nothing to rotate here.
    rotated = {table: count for table, count in report.values.items() if count}
    assert rotated == {"apps": 2, "tokens": 4, "oauth_states": 1}
    assert report.total == 7

    only_new = await open_database(database_url, keys=KeyRing([new_key]))
    try:
        app = await Apps(only_new).by_client_id("canary-client")
        assert app is not None
        assert app.client_secret == plaintexts["client_secret"]
        pair = await Tokens(only_new).get(2)
        assert pair is not None
        assert pair.refresh_token == f"{plaintexts['refresh']}-2"
        verified = await OAuthStates(only_new).consume(plaintexts["state"], now=NOW)
        assert verified.code_verifier == plaintexts["verifier"]
    finally:
        await only_new.close()
    with pytest.raises(DecryptionFailed):
        await Tokens(database).get(1)  # the old key alone no longer opens anything


async def test_the_key_file_rotation_sequence(tmp_path: Path) -> None:
    """What `chronobridge keys rotate` does on the embedded default (settings + key file)."""
    settings = Settings(home=tmp_path / "hub", database_url=None, encryption_keys=None)
    db = await open_database(settings)
    plaintexts = await seed(db)
    await db.close()
    key_file = KeyFile(settings.key_file)
    old = key_file.load().keys
    key_file.add_new_key()
    db = await open_database(settings)
    assert (await reencrypt_all(db)).total == 7
    await db.close()
    key_file.retire_old_keys()
    assert key_file.load().keys[0] not in old
    assert len(key_file.load().keys) == 1
    db = await open_database(settings)
    try:
        stored = await Tokens(db).get(1)
        assert stored is not None
        assert stored.access_token == f"{plaintexts['access']}-1"
    finally:
        await db.close()
