"""The hub's settings: read once from the environment in an entry point, then passed down.

Every variable starts with `CHRONOBRIDGE_`. Secrets are `SecretStr`: their repr is `**********`
and `redacted()` is the only view meant for printing (`chronobridge config show`).

CHRONOBRIDGE_HOME defaults to `~/.chronobridge`: one data folder per user, whatever folder a
command runs from, like `~/.ssh`. It holds `hub.sqlite` (the embedded database), `keys` (the
encryption key file, mode 0600) and, later, the DBOS system database.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from chronobridge.catalog import SCOPES

__all__ = ["Settings"]

_PASSWORD_IN_URL = re.compile(r"(?P<head>://[^/:@]+:)(?P<password>[^@/]*)@")


def _default_home() -> Path:
    return Path.home() / ".chronobridge"


class Settings(BaseSettings):
    """Where the hub keeps its data and which DrChrono application it uses by default."""

    model_config = SettingsConfigDict(env_prefix="CHRONOBRIDGE_", frozen=True, extra="ignore")

    home: Path = Field(default_factory=_default_home)
    database_url: SecretStr | None = None
    encryption_keys: SecretStr | None = None
    drchrono_url: str = "https://app.drchrono.com"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    redirect_uri: str = "http://127.0.0.1:8600/oauth/callback"
    webhook_secret: SecretStr | None = None
    api_version: str = "v4"
    scopes: Annotated[tuple[str, ...], NoDecode] = SCOPES

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part for part in re.split(r"[\s,]+", value) if part)
        return value

    @field_validator("scopes", mode="after")
    @classmethod
    def _known_scopes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown DrChrono scopes: {', '.join(unknown)}")
        return value

    @property
    def sqlite_path(self) -> Path:
        """The embedded database file, used when no database URL is set."""
        return self.home / "hub.sqlite"

    @property
    def key_file(self) -> Path:
        """The encryption key file, used when no keys are set in the environment."""
        return self.home / "keys"

    @property
    def database(self) -> str:
        """The SQLAlchemy async URL of the hub's database."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.sqlite_path}"

    def redacted(self) -> dict[str, str]:
        """Every setting as text that is safe to print: secrets show only whether they are set."""
        return {
            "home": str(self.home),
            "database_url": _mask_password(self.database),
            "encryption_keys": _secret_state(self.encryption_keys, f"key file {self.key_file}"),
            "drchrono_url": self.drchrono_url,
            "client_id": self.client_id or "(not set)",
            "client_secret": _secret_state(self.client_secret, "(not set)"),
            "redirect_uri": self.redirect_uri,
            "webhook_secret": _secret_state(self.webhook_secret, "(not set)"),
            "api_version": self.api_version,
            "scopes": " ".join(self.scopes),
        }


def _secret_state(value: SecretStr | None, unset: str) -> str:
    return "(set, hidden)" if value is not None and value.get_secret_value() else unset


def _mask_password(url: str) -> str:
    return _PASSWORD_IN_URL.sub(r"\g<head>***@", url)
