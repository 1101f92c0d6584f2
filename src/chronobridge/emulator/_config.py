"""Settings of one emulator instance (the `chronobridge emulator` flags)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

DEFAULT_CLIENT_ID = "demo-client-id"
# At least 32 bytes: PyJWT warns about shorter HS256 keys (the iframe JWT is signed with it).
DEFAULT_CLIENT_SECRET = "demo-client-secret-not-for-production"  # noqa: S105 - documented demo
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8600/oauth/callback"

SignatureMode = Literal["secret", "hmac"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 8700
    seed: int = 1
    patients: int = 200
    appointments: int | None = None  # default: five per patient
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    redirect_uris: tuple[str, ...] = (DEFAULT_REDIRECT_URI,)
    rate_limit: int = 500
    private: bool = False
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_events: tuple[str, ...] = ("all",)
    webhook_signature: SignatureMode = "secret"
    auto_approve: str | None = None
    state_file: Path | None = None
    churn: float = 0.0
    base_url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.base_url or f"http://{self.host}:{self.port}"

    @property
    def appointment_count(self) -> int:
        return self.appointments if self.appointments is not None else self.patients * 5
