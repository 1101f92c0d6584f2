"""OAuth `state` values and their PKCE verifiers, from /o/authorize/ to the callback.

The state has 256 random bits and is stored only as its SHA-256, so a copy of the database does
not reveal a usable one. The verifier is encrypted and bound to that hash. A state is good once,
for 10 minutes, and, when the flow started in a browser session, only in that session.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from chronobridge.errors import StateMismatch
from chronobridge.store._common import utcnow
from chronobridge.store._database import Database
from chronobridge.store.tables import oauth_states

__all__ = ["STATE_TTL", "AuthorizationRequest", "OAuthStates", "VerifiedState"]

STATE_TTL = timedelta(minutes=10)
KEEP_USED = timedelta(days=1)


@dataclass(frozen=True, kw_only=True)
class AuthorizationRequest:
    """A started authorization: put `state` and `code_challenge` in the /o/authorize/ URL."""

    app_id: int
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)
    redirect_uri: str
    expires_at: datetime

    @property
    def code_challenge(self) -> str:
        """RFC 7636 S256: base64url(sha256(verifier)) without padding."""
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, kw_only=True)
class VerifiedState:
    """What the callback needs to exchange the code."""

    app_id: int
    code_verifier: str = field(repr=False)
    redirect_uri: str


class OAuthStates:
    """The oauth_states table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        app_id: int,
        *,
        redirect_uri: str,
        session_key: str | None = None,
        now: datetime | None = None,
    ) -> AuthorizationRequest:
        stamp = utcnow(now)
        state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(64)
        state_hash = _digest(state)
        values = {
            "state_hash": state_hash,
            "app_id": app_id,
            "code_verifier": self._db.keys.encrypt(verifier, context=_context(state_hash)),
            "redirect_uri": redirect_uri,
            "session_hash": None if session_key is None else _digest(session_key),
            "created_at": stamp,
        }
        async with self._db.write() as conn:
            await conn.execute(oauth_states.insert().values(values))
        return AuthorizationRequest(
            app_id=app_id,
            state=state,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            expires_at=stamp + STATE_TTL,
        )

    async def consume(
        self, state: str, *, session_key: str | None = None, now: datetime | None = None
    ) -> VerifiedState:
        """Use a state once. Unknown, used, expired or other-session states raise StateMismatch."""
        stamp = utcnow(now)
        state_hash = _digest(state)
        claim = (
            oauth_states.update()
            .where(
                oauth_states.c.state_hash == state_hash,
                oauth_states.c.used_at.is_(None),
                oauth_states.c.created_at > stamp - STATE_TTL,
            )
            .values(used_at=stamp)
            .returning(oauth_states)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(claim)).first()
        if row is None:
            raise StateMismatch()
        bound = row.session_hash
        if bound is not None and (session_key is None or _digest(session_key) != bound):
            raise StateMismatch()
        verifier = self._db.keys.decrypt(row.code_verifier, context=_context(state_hash))
        return VerifiedState(
            app_id=row.app_id, code_verifier=verifier, redirect_uri=row.redirect_uri
        )

    async def purge(self, *, now: datetime | None = None) -> int:
        """Delete states that expired or were used more than a day ago."""
        cutoff = utcnow(now) - KEEP_USED
        stmt = oauth_states.delete().where(
            sa.or_(oauth_states.c.created_at < cutoff, oauth_states.c.used_at < cutoff)
        )
        async with self._db.write() as conn:
            result = await conn.execute(stmt)
        return result.rowcount


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _context(state_hash: str) -> str:
    return f"oauth_states.code_verifier:{state_hash}"
