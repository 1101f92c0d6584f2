"""Settings: read from CHRONOBRIDGE_* variables, frozen, secrets never printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from chronobridge.catalog import SCOPES
from chronobridge.settings import Settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("DATABASE_URL", "ENCRYPTION_KEYS", "CLIENT_ID", "CLIENT_SECRET", "SCOPES"):
        monkeypatch.delenv(f"CHRONOBRIDGE_{name}", raising=False)
    monkeypatch.setenv("CHRONOBRIDGE_HOME", str(tmp_path / "hub"))
    return monkeypatch


def test_defaults_put_everything_under_home(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings()
    assert settings.home == tmp_path / "hub"
    assert settings.database == f"sqlite+aiosqlite:///{tmp_path / 'hub' / 'hub.sqlite'}"
    assert settings.key_file == tmp_path / "hub" / "keys"
    assert settings.drchrono_url == "https://app.drchrono.com"
    assert settings.redirect_uri == "http://127.0.0.1:8600/oauth/callback"
    assert settings.scopes == SCOPES


def test_home_defaults_to_the_users_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHRONOBRIDGE_HOME", raising=False)
    assert Settings().home == Path.home() / ".chronobridge"


def test_a_tilde_in_home_is_expanded(env: pytest.MonkeyPatch) -> None:
    env.setenv("CHRONOBRIDGE_HOME", "~/elsewhere")
    assert Settings().home == Path.home() / "elsewhere"


def test_database_url_overrides_the_sqlite_file(env: pytest.MonkeyPatch) -> None:
    env.setenv("CHRONOBRIDGE_DATABASE_URL", "postgresql+psycopg://hub:pw@db:5432/hub")
    assert Settings().database == "postgresql+psycopg://hub:pw@db:5432/hub"


def test_scopes_accept_spaces_or_commas(env: pytest.MonkeyPatch) -> None:
    env.setenv("CHRONOBRIDGE_SCOPES", "patients:read, calendar:read  user:read")
    assert Settings().scopes == ("patients:read", "calendar:read", "user:read")


def test_unknown_scopes_are_refused(env: pytest.MonkeyPatch) -> None:
    env.setenv("CHRONOBRIDGE_SCOPES", "patients:read patients:everything")
    with pytest.raises(ValidationError, match="patients:everything"):
        Settings()


def test_settings_are_frozen(env: pytest.MonkeyPatch) -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.client_id = "other"  # type: ignore[misc]


def test_secrets_never_show_in_repr_or_the_redacted_view(env: pytest.MonkeyPatch) -> None:
    canaries = {
        "CHRONOBRIDGE_CLIENT_SECRET": "canary-client-secret-31337",
        "CHRONOBRIDGE_WEBHOOK_SECRET": "canary-webhook-secret-31337",
        "CHRONOBRIDGE_ENCRYPTION_KEYS": "canary-key-31337",
        "CHRONOBRIDGE_DATABASE_URL": "postgresql+psycopg://hub:canary-pw-31337@db/hub",
    }
    for name, value in canaries.items():
        env.setenv(name, value)
    env.setenv("CHRONOBRIDGE_CLIENT_ID", "client-abc")
    settings = Settings()
    shown = repr(settings) + str(settings) + repr(settings.redacted())
    for value in ("canary-client-secret", "canary-webhook-secret", "canary-key", "canary-pw"):
        assert value not in shown
    view = settings.redacted()
    assert view["client_secret"] == "(set, hidden)"
    assert view["client_id"] == "client-abc"
    assert view["database_url"] == "postgresql+psycopg://hub:***@db/hub"


def test_redacted_view_names_the_key_file_when_no_keys_are_set(env: pytest.MonkeyPatch) -> None:
    view = Settings().redacted()
    assert view["encryption_keys"].startswith("key file ")
    assert view["client_secret"] == "(not set)"
