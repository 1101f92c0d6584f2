"""The token endpoint's grants, as strict as RFC 9700 allows.

A *family* is every token pair descended from one authorization code. Refresh tokens rotate:
each refresh revokes the pair it came from and issues a new one in the same family. Presenting a
rotated refresh token again (or an authorization code twice) is treated as theft: the whole
family is revoked and the caller gets `invalid_grant`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from chronobridge.catalog import SCOPES
from chronobridge.emulator._state import ACCESS_TOKEN_SECONDS, App, EmulatorState, Token


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer."""

    def __init__(self, error: str, description: str, *, status_code: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status_code = status_code


@dataclass(slots=True)
class OAuthBook:
    """Token families, rotated refresh tokens and PKCE challenges (`extensions["oauth"]`)."""

    auto_approve: str | None = None
    family_of: dict[str, int] = field(default_factory=dict)  # access token -> family
    rotated: dict[str, int] = field(default_factory=dict)  # used refresh token -> family
    code_family: dict[str, int] = field(default_factory=dict)  # exchanged code -> family
    pkce: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> challenge, method
    next_family: int = 1

    def start_family(self, token: Token) -> int:
        family = self.next_family
        self.next_family += 1
        self.family_of[token.access_token] = family
        return family

    def revoke_family(self, state: EmulatorState, family: int) -> int:
        count = 0
        for access, member in self.family_of.items():
            token = state.tokens.get(access)
            if member == family and token is not None and not token.revoked:
                state.revoke(token)
                count += 1
        return count

    def snapshot(self) -> dict[str, Any]:
        # auto_approve is not kept: it follows the flags of each run.
        return {
            "family_of": self.family_of,
            "rotated": self.rotated,
            "code_family": self.code_family,
            "next_family": self.next_family,
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.family_of = {k: int(v) for k, v in data.get("family_of", {}).items()}
        self.rotated = {k: int(v) for k, v in data.get("rotated", {}).items()}
        self.code_family = {k: int(v) for k, v in data.get("code_family", {}).items()}
        self.next_family = int(data.get("next_family", 1))


def book(state: EmulatorState) -> OAuthBook:
    found = state.extensions.get("oauth")
    if not isinstance(found, OAuthBook):
        found = state.extensions["oauth"] = OAuthBook(auto_approve=state.config.auto_approve)
    return found


def parse_scopes(raw: str | None) -> frozenset[str]:
    """Space-separated scopes; none at all means every scope (facts §1)."""
    requested = frozenset((raw or "").split())
    if not requested:
        return frozenset(SCOPES)
    unknown = requested - set(SCOPES)
    if unknown:
        raise OAuthError("invalid_scope", f"unknown scope: {sorted(unknown)[0]}")
    return requested


def token_body(token: Token) -> dict[str, Any]:
    return {
        "access_token": token.access_token,
        "refresh_token": token.refresh_token,
        "expires_in": ACCESS_TOKEN_SECONDS,
        "token_type": "Bearer",
        "scope": " ".join(s for s in SCOPES if s in token.scopes),
    }


def exchange_code(state: EmulatorState, app: App, form: dict[str, str]) -> Token:
    value = _required(form, "code")
    code = state.codes.get(value)
    oauth = book(state)
    if code is None or code.client_id != app.client_id:
        raise OAuthError("invalid_grant", "the authorization code is invalid")
    if code.used:
        family = oauth.code_family.get(value)
        if family is not None:
            oauth.revoke_family(state, family)
        raise OAuthError("invalid_grant", "the authorization code was already used")
    if code.expires_at <= state.clock.now():
        raise OAuthError("invalid_grant", "the authorization code has expired")
    if form.get("redirect_uri") != code.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
    _check_pkce(oauth.pkce.pop(value, None), form.get("code_verifier"))
    code.used = True
    # Facts §1: authorizing again invalidates the user's earlier tokens for the app.
    state.revoke_user_tokens(client_id=app.client_id, user_id=code.user_id)
    token = state.issue_token(client_id=app.client_id, user_id=code.user_id, scopes=code.scopes)
    oauth.code_family[value] = oauth.start_family(token)
    return token


def refresh(state: EmulatorState, app: App, form: dict[str, str]) -> Token:
    presented = _required(form, "refresh_token")
    oauth = book(state)
    access = state.refresh_index.get(presented)
    if access is None:
        family = oauth.rotated.get(presented)
        if family is not None:
            oauth.revoke_family(state, family)
            raise OAuthError("invalid_grant", "the refresh token was already used")
        raise OAuthError("invalid_grant", "the refresh token is invalid")
    old = state.tokens[access]
    if old.client_id != app.client_id:
        raise OAuthError("invalid_grant", "the refresh token is invalid")
    scopes = _narrowed(old.scopes, form.get("scope"))
    family = oauth.family_of.get(old.access_token) or oauth.start_family(old)
    state.revoke(old)
    oauth.rotated[presented] = family
    token = state.issue_token(client_id=app.client_id, user_id=old.user_id, scopes=scopes)
    oauth.family_of[token.access_token] = family
    return token


def revoke(state: EmulatorState, app: App, form: dict[str, str]) -> None:
    """RFC 7009: unknown tokens and tokens of other clients are answered 200 all the same."""
    value = _required(form, "token")
    hint = form.get("token_type_hint")
    lookups = (_by_refresh, _by_access) if hint == "refresh_token" else (_by_access, _by_refresh)
    for lookup in lookups:
        token = lookup(state, value)
        if token is not None and token.client_id == app.client_id:
            state.revoke(token)
            return


def _by_access(state: EmulatorState, value: str) -> Token | None:
    return state.tokens.get(value)


def _by_refresh(state: EmulatorState, value: str) -> Token | None:
    access = state.refresh_index.get(value)
    return state.tokens.get(access) if access else None


def _narrowed(granted: frozenset[str], raw: str | None) -> frozenset[str]:
    if not raw:
        return granted
    requested = parse_scopes(raw)
    if not requested <= granted:
        raise OAuthError("invalid_scope", "a refresh cannot widen the granted scopes")
    return requested


def _check_pkce(challenge: tuple[str, str] | None, verifier: str | None) -> None:
    if challenge is None:
        return
    expected, method = challenge
    if not verifier:
        raise OAuthError("invalid_grant", "code_verifier is required")
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        verifier = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    if not hmac.compare_digest(verifier, expected):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise OAuthError("invalid_request", f"missing parameter: {name}")
    return value
