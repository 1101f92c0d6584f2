"""Which application and connection a command means when it names none, or a name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chronobridge.connections import choose_app, choose_connection
from chronobridge.errors import ConfigError, NeedsReconnect
from chronobridge.store import App, Connection, ConnectionStatus, Role

NOW = datetime(2026, 5, 4, tzinfo=UTC)


def _app(app_id: int, name: str) -> App:
    return App(id=app_id, name=name, client_id=f"client-{name}", client_secret="s",
               redirect_uris=("http://x/cb",), created_at=NOW, updated_at=NOW)  # fmt: skip


def _conn(cid: int, user: str, role: Role, status: ConnectionStatus) -> Connection:
    return Connection(
        id=cid, app_id=1, drchrono_user_id=cid, username=user, role=role, doctor_id=7,
        status=status, scopes=(), created_at=NOW, updated_at=NOW, last_used_at=None,
    )  # fmt: skip


ACTIVE, GONE = ConnectionStatus.ACTIVE, ConnectionStatus.DEAUTHORIZED


def test_an_app_by_name_or_client_id_else_the_default_else_the_only_one() -> None:
    one, two = _app(1, "one"), _app(2, "two")
    assert choose_app([one, two], "two") is two
    assert choose_app([one, two], "client-one") is one
    assert choose_app([one, two], None, default=two) is two
    assert choose_app([one], None) is one


@pytest.mark.parametrize(
    ("apps", "name", "message"),
    [
        ([], None, "No DrChrono application is registered"),
        ([_app(1, "a"), _app(2, "b")], None, "Several applications are registered"),
        ([_app(1, "a")], "zzz", "No application named 'zzz'"),
    ],
)
def test_app_choices_that_cannot_be_made_say_what_to_do(
    apps: list[App], name: str | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        choose_app(apps, name)


def test_the_only_active_connection_else_the_first_providers() -> None:
    staff = _conn(1, "staff1", Role.STAFF, ACTIVE)
    doctor = _conn(2, "doctor1", Role.DOCTOR, ACTIVE)
    gone = _conn(3, "doctor2", Role.DOCTOR, GONE)
    assert choose_connection([staff, gone], None) is staff
    assert choose_connection([staff, doctor, gone], None) is doctor
    assert choose_connection([staff, doctor], "staff1") is staff
    assert choose_connection([staff, doctor], "2") is doctor
    assert choose_connection([gone], "doctor2") is gone  # its own error says why


def test_no_connection_yet_says_run_connect() -> None:
    with pytest.raises(ConfigError) as refused:
        choose_connection([], None)
    assert (str(refused.value), refused.value.hint) == (
        "No connection yet",
        "Run chronobridge connect.",
    )
    with pytest.raises(ConfigError, match="No connection named 'nobody'"):
        choose_connection([], "nobody")


def test_connections_that_must_be_authorized_again_are_named() -> None:
    doctor = _conn(3, "doctor2", Role.DOCTOR, GONE)
    with pytest.raises(NeedsReconnect) as one:
        choose_connection([doctor], None)
    assert (str(one.value), one.value.hint) == (
        "The connection of doctor2 was deauthorized",
        "Run chronobridge connect and sign in to DrChrono as doctor2.",
    )
    staff = _conn(4, "staff2", Role.STAFF, ConnectionStatus.NEEDS_RECONNECT)
    with pytest.raises(NeedsReconnect) as several:
        choose_connection([staff, doctor], None)
    assert (str(several.value), several.value.hint) == (
        "No connection is active (staff2 must reconnect, doctor2 was deauthorized)",
        "Run chronobridge connect and sign in to DrChrono as doctor2 (or the user to act as).",
    )
