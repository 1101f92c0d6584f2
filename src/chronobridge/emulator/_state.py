"""Everything one emulator instance knows: practices, users, applications, grants and tokens,
the records, webhook registrations, async batches, faults and request statistics.

Plain data with small methods. Route modules receive the `EmulatorState` and change it; nothing
here does I/O except `save`/`load` of the optional state file.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chronobridge.emulator._clock import Clock
from chronobridge.emulator._config import EmulatorConfig

if TYPE_CHECKING:
    from chronobridge.emulator._records import RecordStore

# In-app permissions (the document's x-permissions) plus the App Directory permission.
PERMISSIONS: tuple[str, ...] = (
    "clinical-notes", "manage-patients", "scheduling", "billing", "settings",
    "show-billing-tab", "message-center", "access-patient-payments", "calendar", "clinical",
)  # fmt: skip
MANAGE_APP_DIRECTORY = "manage-app-directory"

ACCESS_TOKEN_SECONDS = 48 * 3600  # facts §1: 48 h access tokens
AUTH_CODE_SECONDS = 60  # facts §1: "expires extremely quickly"; the library default is 60 s


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(24)


@dataclass(slots=True, kw_only=True)
class Practice:
    id: int
    name: str
    settings: dict[str, bool] = field(default_factory=dict)  # share_patients, ...


@dataclass(slots=True, kw_only=True)
class User:
    """A DrChrono login: a doctor (provider) or a staff member working for one."""

    id: int
    username: str
    practice_group: int
    is_doctor: bool
    doctor: int  # staff: their provider's doctor id; doctors: their own doctor id
    permissions: frozenset[str] = frozenset(PERMISSIONS)

    @property
    def is_staff(self) -> bool:
        return not self.is_doctor

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def wire(self) -> dict[str, Any]:
        """The body of /api/users/{id} (facts §7, recorded shape)."""
        return {
            "id": self.id,
            "username": self.username,
            "is_doctor": self.is_doctor,
            "is_staff": self.is_staff,
            "doctor": self.doctor,
            "practice_group": self.practice_group,
            "permissions": {
                p.replace("-", "_"): p in self.permissions
                for p in (*PERMISSIONS, MANAGE_APP_DIRECTORY)
            },
        }


@dataclass(slots=True, kw_only=True)
class App:
    """An API application registered on DrChrono's API page."""

    client_id: str
    client_secret: str
    name: str
    redirect_uris: tuple[str, ...]
    practice_group: int
    private: bool = False
    rate_limit: int = 500
    patient_iframe_url: str | None = None
    clinical_note_iframe_url: str | None = None
    iframe_height: int = 600

    def may_authorize(self, user: User) -> bool:
        """PRIVATE mode: only users of the application's own practice group may authorize."""
        return not self.private or user.practice_group == self.practice_group


@dataclass(slots=True, kw_only=True)
class AuthCode:
    code: str
    client_id: str
    user_id: int
    redirect_uri: str
    scopes: frozenset[str]
    expires_at: datetime
    used: bool = False


@dataclass(slots=True, kw_only=True)
class Token:
    """An access token and the refresh token issued with it (one grant's current pair)."""

    access_token: str
    refresh_token: str
    client_id: str
    user_id: int
    scopes: frozenset[str]
    expires_at: datetime
    revoked: bool = False


@dataclass(slots=True, kw_only=True)
class Principal:
    """Who is calling: the application and the user behind an access token."""

    app: App
    user: User
    scopes: frozenset[str]
    token: Token


@dataclass(slots=True)
class Stats:
    """Request counts for /_emulator/stats."""

    by_app: Counter[str] = field(default_factory=Counter)
    by_path: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_app_status: Counter[str] = field(default_factory=Counter)
    total: int = 0

    def record(self, *, client_id: str | None, path: str, status: int) -> None:
        app = client_id or "-"
        self.total += 1
        self.by_app[app] += 1
        self.by_path[path] += 1
        self.by_status[str(status)] += 1
        self.by_app_status[f"{app} {status}"] += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "per_application": dict(self.by_app),
            "per_path": dict(self.by_path),
            "per_status": dict(self.by_status),
            "per_application_status": dict(self.by_app_status),
        }


@dataclass(slots=True)
class EmulatorState:
    """The whole emulator. Route modules read and change it; `_app.create_app` builds it."""

    config: EmulatorConfig
    clock: Clock
    records: RecordStore
    practices: dict[int, Practice] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    apps: dict[str, App] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)  # by access token
    refresh_index: dict[str, str] = field(default_factory=dict)  # refresh -> access token
    # App Directory: (client_id, user_id) pairs that have authorized and not been removed.
    authorizations: set[tuple[str, int]] = field(default_factory=set)
    # iframe registrations: (client_id, doctor_id)
    iframes: set[tuple[str, int]] = field(default_factory=set)
    stats: Stats = field(default_factory=Stats)
    # Extension slots filled by the route modules (webhooks, faults, batches, rate windows).
    extensions: dict[str, Any] = field(default_factory=dict)

    # --- identity ---------------------------------------------------------------------------

    def user_by_name(self, username: str) -> User | None:
        return next((u for u in self.users.values() if u.username == username), None)

    def staff_of(self, doctor_id: int) -> list[User]:
        return [u for u in self.users.values() if u.is_staff and u.doctor == doctor_id]

    def doctor_user(self, doctor_id: int) -> User | None:
        return next((u for u in self.users.values() if u.is_doctor and u.doctor == doctor_id), None)

    # --- tokens -----------------------------------------------------------------------------

    def issue_token(self, *, client_id: str, user_id: int, scopes: frozenset[str]) -> Token:
        token = Token(
            access_token=new_token(),
            refresh_token=new_token(),
            client_id=client_id,
            user_id=user_id,
            scopes=scopes,
            expires_at=self.clock.now() + timedelta(seconds=ACCESS_TOKEN_SECONDS),
        )
        self.tokens[token.access_token] = token
        self.refresh_index[token.refresh_token] = token.access_token
        self.authorizations.add((client_id, user_id))
        return token

    def revoke(self, token: Token) -> None:
        token.revoked = True
        self.refresh_index.pop(token.refresh_token, None)

    def revoke_user_tokens(self, *, client_id: str, user_id: int) -> int:
        """Deauthorization: every token of this user for this app stops working at once."""
        count = 0
        for token in self.tokens.values():
            if token.client_id == client_id and token.user_id == user_id and not token.revoked:
                self.revoke(token)
                count += 1
        self.authorizations.discard((client_id, user_id))
        return count

    def valid_token(self, access_token: str) -> Token | None:
        token = self.tokens.get(access_token)
        if token is None or token.revoked or token.expires_at <= self.clock.now():
            return None
        return token
