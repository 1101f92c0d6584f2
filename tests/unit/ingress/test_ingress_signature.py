"""The handshake token and the delivery signature in each mode, checked against a reference
implementation; WH-4's rule that every secret comparison is constant-time, as a lint over the
ingress and web code (a comparison with `==` or `!=` of anything named like a secret fails)."""

from __future__ import annotations

import ast
import hashlib
import hmac
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronobridge.ingress import SignatureMode, body_signature, match_signature
from chronobridge.ingress import verification_token as token

SRC = Path(__file__).resolve().parents[3] / "src" / "chronobridge"
SECRET = "s3cret-value"


@given(st.text(max_size=4096), st.text(min_size=1, max_size=64))
def test_the_handshake_token_is_the_hex_hmac_of_msg(msg: str, secret: str) -> None:
    expected = hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()
    assert token(secret, msg) == expected


@pytest.mark.parametrize(
    ("mode", "header", "expected"),
    [
        (SignatureMode.SECRET, SECRET, "secret"),
        (SignatureMode.SECRET, "hmac", None),
        (SignatureMode.HMAC, SECRET, None),
        (SignatureMode.HMAC, "hmac", "hmac"),
        (SignatureMode.HMAC, "sha256=hmac", "hmac"),
        (SignatureMode.ANY, SECRET, "secret"),
        (SignatureMode.ANY, "hmac", "hmac"),
        (SignatureMode.ANY, "", None),
        (SignatureMode.ANY, SECRET[:-1], None),
        (SignatureMode.ANY, "HMAC", None),  # the upper-case digest: another header
    ],
)
def test_modes(mode: SignatureMode, header: str, expected: str | None) -> None:
    body = b'{"object": {"id": 1}}'
    digest = body_signature(SECRET, body)
    value = header.replace("hmac", digest).replace("HMAC", digest.upper())
    assert match_signature(mode, SECRET, value, body) == expected


@given(st.binary(max_size=2048), st.text(max_size=80))
def test_only_the_right_hmac_matches(body: bytes, header: str) -> None:
    right = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    matched = match_signature(SignatureMode.HMAC, SECRET, header, body)
    assert (matched == "hmac") == (header in (right, f"sha256={right}"))


def _comparisons(path: Path) -> list[str]:
    findings = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
        ):
            names = [n.id.lower() for n in ast.walk(node) if isinstance(n, ast.Name)]
            names += [n.attr.lower() for n in ast.walk(node) if isinstance(n, ast.Attribute)]
            risky = ("secret", "signature", "digest", "token", "hmac")
            if any(word in name for name in names for word in risky):
                findings.append(f"{path.name}:{node.lineno}")
    return findings


def test_no_secret_is_compared_with_equality() -> None:
    files = [*SRC.joinpath("ingress").glob("*.py"), *SRC.joinpath("web").glob("*.py")]
    assert files
    assert [finding for path in files for finding in _comparisons(path)] == []


@pytest.mark.parametrize("mode", [SignatureMode.ANY, SignatureMode.SECRET])
def test_a_secret_shaped_like_a_digest_still_matches_as_the_secret(mode: SignatureMode) -> None:
    secret = hashlib.sha256(b"a generated secret").hexdigest()  # 64 lower-case hex digits
    body = b'{"object": {"id": 1}}'
    assert match_signature(mode, secret, secret, body) == "secret"
    assert match_signature(SignatureMode.HMAC, secret, secret, body) is None


@given(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))
def test_a_digest_shaped_header_matches_only_the_right_hmac(header: str) -> None:
    body = b'{"object": {"id": 2}}'
    right = body_signature(SECRET, body)
    for value in (header, f"sha256={header}"):
        matched = match_signature(SignatureMode.ANY, SECRET, value, body)
        assert (matched == "hmac") == (header == right)
    assert match_signature(SignatureMode.ANY, SECRET, f"sha256={right}", body) == "hmac"
