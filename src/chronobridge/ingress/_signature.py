"""DrChrono's webhook secrets: the verification handshake and the delivery signature.

The handshake is settled (facts §5): `GET <callback>?msg=<value>` is answered with
`{"secret_token": hex HMAC-SHA256(key=secret, msg)}`. The delivery header is not:
DrChrono documents `X-drchrono-signature` as "the secret token associated with this webhook"
(the shared secret itself), while public receivers verify a hex HMAC-SHA256 of the raw body.
So the mode is a setting:

- `secret`: the header must equal the secret (DrChrono's documentation);
- `hmac`: the header must equal the lower-case hex HMAC-SHA256(secret, raw body), with an
  optional `sha256=` prefix (GitHub's style, which some receivers copy);
- `any` (the default): either. Both require the secret, so accepting both costs no strength,
  and the inbox records which one matched (`signature_mode`): the first real delivery settles
  the question for the operator (reliability WH-2).

Every comparison is `hmac.compare_digest` over bytes (constant time, WH-4). The header is
always compared with the secret (a comparison costs nothing); the HMAC of the body, which costs
more than the rest of the verification, is computed only for a header shaped like one (64
lower-case hex digits, optionally `sha256=`-prefixed). So the time taken depends on the shape of
the header the sender chose, never on the secret or on how close a forgery came.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from enum import StrEnum

__all__ = ["SignatureMode", "match_signature", "verification_token"]


class SignatureMode(StrEnum):
    SECRET = "secret"  # noqa: S105  (a mode's name)
    HMAC = "hmac"
    ANY = "any"


def verification_token(secret: str, msg: str) -> str:
    """The `secret_token` DrChrono expects for `msg`."""
    return hmac.new(secret.encode("utf-8"), msg.encode("utf-8"), hashlib.sha256).hexdigest()


def body_signature(secret: str, body: bytes) -> str:
    return hmac.digest(secret.encode("utf-8"), body, "sha256").hex()


_DIGEST_SHAPE = re.compile(rb"(?:sha256=)?[0-9a-f]{64}")
# Exactly Python's hexdigest (lower case): a flipped case bit is a different header.


def match_signature(mode: SignatureMode, secret: str, header: str, body: bytes) -> str | None:
    """Which mode the header satisfies (`secret` or `hmac`), or None when it matches none
    that `mode` allows."""
    received = header.encode("latin-1", errors="replace")
    as_secret = hmac.compare_digest(received, secret.encode("utf-8"))
    if mode is not SignatureMode.HMAC and as_secret:
        return SignatureMode.SECRET.value
    if mode is not SignatureMode.SECRET and _DIGEST_SHAPE.fullmatch(received) is not None:
        expected = body_signature(secret, body).encode("ascii")
        if hmac.compare_digest(received.removeprefix(b"sha256="), expected):
            return SignatureMode.HMAC.value
    return None
