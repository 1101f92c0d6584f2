"""The values of the OAuth flow that need no server: the authorize URL (state, PKCE S256,
an explicit scope), the RFC 7636 test vector, callbacks, identities, and error texts."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from chronobridge.connections import Callback, authorize_url, callback_error, identity_from
from chronobridge.errors import AccessDenied, OAuthError, UnexpectedResponse
from chronobridge.store import App, AuthorizationRequest, Role

NOW = datetime(2026, 5, 4, tzinfo=UTC)
APP = App(id=1, name="a", client_id="cid", client_secret="s", redirect_uris=("http://h/cb",),
          drchrono_url="https://drchrono.example/", created_at=NOW, updated_at=NOW)  # fmt: skip


def _request(verifier: str = "v" * 64) -> AuthorizationRequest:
    return AuthorizationRequest(app_id=1, state="st4te", code_verifier=verifier,
                                redirect_uri="http://h/cb", expires_at=NOW)  # fmt: skip


def test_rfc_7636_appendix_b_vector() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert _request(verifier).code_challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_the_authorize_url_has_every_parameter_and_never_the_verifier() -> None:
    request = _request()
    url = authorize_url(APP, request, ("user:read", "patients:read"))
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://drchrono.example/o/authorize/"
    assert query == {
        "response_type": "code",
        "client_id": "cid",
        "redirect_uri": "http://h/cb",
        "scope": "user:read patients:read",
        "state": "st4te",
        "code_challenge": request.code_challenge,
        "code_challenge_method": "S256",
    }
    assert request.code_verifier not in url
    digest = hashlib.sha256(request.code_verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == query["code_challenge"]


def test_a_callback_url_gives_state_code_or_error() -> None:
    ok = Callback.from_url("http://h/cb?code=c0de&state=s1")
    assert (ok.state, ok.code, ok.error) == ("s1", "c0de", None)
    denied = Callback.from_url("http://h/cb?error=access_denied&state=s2")
    assert (denied.state, denied.code, denied.error) == ("s2", None, "access_denied")
    assert "c0de" not in repr(ok)


def test_callback_errors_name_the_fix_and_never_echo_odd_codes() -> None:
    assert isinstance(callback_error("access_denied"), AccessDenied)
    assert "Authorize" in callback_error("access_denied").hint
    assert "scopes" in str(callback_error("invalid_scope"))
    odd = callback_error("<script>token-abc</script>")
    assert isinstance(odd, OAuthError)
    assert "token-abc" not in str(odd)


def test_identity_of_a_doctor_and_of_a_staff_member() -> None:
    doctor = identity_from({"id": 5, "username": "dr", "is_doctor": True, "doctor": 77,
                            "practice_group": 9})  # fmt: skip
    assert (doctor.role, doctor.doctor_id, doctor.practice_group) == (Role.DOCTOR, 77, 9)
    staff = identity_from({"id": 6, "username": "st", "is_doctor": False, "doctor": 77})
    assert (staff.role, staff.doctor_id, staff.practice_group) == (Role.STAFF, 77, None)


@pytest.mark.parametrize(
    "body",
    [None, [], {"id": "5", "username": "x", "is_doctor": True, "doctor": 1},
     {"id": 5, "username": "", "is_doctor": True, "doctor": 1},
     {"id": 5, "username": "x", "is_doctor": "yes", "doctor": 1},
     {"id": 5, "username": "x", "is_doctor": True, "doctor": True}],
)  # fmt: skip
def test_an_identity_answer_missing_a_field_is_unexpected(body: object) -> None:
    with pytest.raises(UnexpectedResponse, match="current-user answer"):
        identity_from(body)
