"""DBOS data is JSON, encrypted: values and exceptions round-trip, nothing is stored in clear."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from dbos import error as dbos_errors

from chronobridge import errors
from chronobridge.store import KeyRing
from chronobridge.workers import (
    DBOS_SCHEMA,
    DBOS_SQLITE_TABLES,
    WEBHOOKS,
    EncryptingSerializer,
    Job,
    RecordedError,
    WorkerRuntime,
    step,
    workflow,
)
from support.dbos_runtime import status_of, wait_for

CANARY = "ZEBRA-CANARY-7731-JANE-DOE"


@workflow("tests.workers.echo")
async def echo(text: str) -> dict[str, Any]:
    return {"echo": await _echo_step(text), "n": 1}


@step()
async def _echo_step(text: str) -> str:
    return text


@workflow("tests.workers.explode")
def explode(text: str) -> None:
    raise errors.MappingError(f"cannot map {text}")


class Unlisted(Exception):
    """Defined outside the trusted modules: comes back as RecordedError."""


@pytest.fixture
def serializer() -> EncryptingSerializer:
    return EncryptingSerializer(KeyRing([KeyRing.new_key()]))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        2.5,
        "text",
        [1, "a", None],
        {"args": (1, "x"), "kwargs": {"n": 2}},
        datetime(2026, 11, 25, 8, 30, tzinfo=UTC),
        date(2026, 11, 25),
        uuid.UUID(int=7),
        Decimal("1.10"),
        b"\x00\xff",
        {"nested": {"deep": [(1, 2), {"t": datetime(2026, 1, 1, tzinfo=UTC)}]}},
    ],
)
def test_values_round_trip_with_their_types(serializer: EncryptingSerializer, value: Any) -> None:
    assert serializer.deserialize(serializer.serialize(value)) == value


def test_hub_errors_come_back_as_themselves(serializer: EncryptingSerializer) -> None:
    error = errors.NotFound(method="GET", path="/api/patients/{id}")
    back = serializer.deserialize(serializer.serialize(error))
    assert isinstance(back, errors.NotFound)
    assert (back.status, back.path, str(back)) == (404, "/api/patients/{id}", str(error))
    resume = datetime(2026, 11, 25, 13, tzinfo=UTC)
    budget = serializer.deserialize(serializer.serialize(errors.BudgetExhausted(resume_at=resume)))
    assert isinstance(budget, errors.BudgetExhausted)
    assert budget.resume_at == resume


def test_dbos_and_builtin_errors_keep_their_class(serializer: EncryptingSerializer) -> None:
    exhausted = dbos_errors.DBOSMaxStepRetriesExceeded("fetch", 3, [KeyError("k")])
    back = serializer.deserialize(serializer.serialize(exhausted))
    assert isinstance(back, dbos_errors.DBOSMaxStepRetriesExceeded)
    assert isinstance(back.errors[0], KeyError)
    assert "fetch" in str(back)


def test_unknown_error_classes_become_recorded_errors(serializer: EncryptingSerializer) -> None:
    back = serializer.deserialize(serializer.serialize(Unlisted("boom")))
    assert isinstance(back, RecordedError)
    assert back.type_name.endswith("Unlisted")
    assert str(back) == "boom"


@pytest.mark.parametrize(
    "value", [datetime(2026, 1, 1), {1, 2}, object(), {1: "int key"}, {"__cb__": 1}]
)
def test_values_without_a_faithful_encoding_are_refused(
    serializer: EncryptingSerializer, value: Any
) -> None:
    with pytest.raises(TypeError):
        serializer.serialize(value)


def test_other_keys_or_formats_do_not_decrypt(serializer: EncryptingSerializer) -> None:
    stored = serializer.serialize({"id": 1})
    stranger = EncryptingSerializer(KeyRing([KeyRing.new_key()]))
    with pytest.raises(errors.DecryptionFailed):
        stranger.deserialize(stored)
    with pytest.raises(errors.DecryptionFailed):
        serializer.deserialize("gASVBQAAAAAAAAB9lC4=")  # a pickle, as DBOS's default writes


def test_a_token_from_another_context_is_refused() -> None:
    cipher = KeyRing([KeyRing.new_key()])
    token = cipher.encrypt_bytes(b'"secret"', context="tokens.refresh:1")
    with pytest.raises(errors.DecryptionFailed):
        EncryptingSerializer(cipher).deserialize("cb1:" + token)


def test_no_plaintext_canary_in_the_system_tables(dbos_runtime: WorkerRuntime) -> None:
    jobs = dbos_runtime.jobs
    ok = jobs.enqueue(Job(queue=WEBHOOKS, workflow_id="canary-echo"), echo, CANARY)
    bad = jobs.enqueue(Job(queue=WEBHOOKS, workflow_id="canary-explode"), explode, CANARY)
    wait_for(lambda: status_of(jobs.client, ok) == "SUCCESS")
    wait_for(lambda: status_of(jobs.client, bad) == "ERROR")
    assert jobs.client.retrieve_workflow(ok).get_result() == {"echo": CANARY, "n": 1}
    dumped = _dump_dbos_tables(dbos_runtime.engine)
    assert "cb1:" in dumped
    assert CANARY not in dumped


def _dump_dbos_tables(engine: sa.Engine) -> str:
    inspector = sa.inspect(engine)
    schema = None if engine.dialect.name == "sqlite" else DBOS_SCHEMA
    names = inspector.get_table_names(schema=schema)
    if schema is None:
        names = [name for name in names if name in DBOS_SQLITE_TABLES]
    assert {"workflow_status", "operation_outputs", "workflow_input"} <= set(names)
    chunks: list[str] = []
    with engine.connect() as conn:
        for name in names:
            table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
            chunks.extend(repr(tuple(row)) for row in conn.execute(sa.select(table)))
    return "\n".join(chunks)


def test_the_store_key_ring_is_a_cipher_and_reads_fernet_cipher_data() -> None:
    key = KeyRing.new_key()
    written = EncryptingSerializer(KeyRing([key])).serialize({"connection": 7})
    ring = KeyRing([KeyRing.new_key(), key])  # rotated: the old key still decrypts
    assert EncryptingSerializer(ring).deserialize(written) == {"connection": 7}
    assert EncryptingSerializer(ring).deserialize(EncryptingSerializer(ring).serialize(1)) == 1
