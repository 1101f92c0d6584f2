"""Forged and malformed webhook requests (reliability WH-3), generated from a seed.

Each `Forgery` is a request the hub must refuse with a 4xx and store nothing of. Every body
carries a unique canary so a test can prove no body reaches a log. A *replay* in the sense of
WH-3 is a captured delivery changed on its way (another body under its HMAC, or sent to another
application): an unchanged redelivery is legitimate and must get 2xx (WH-6).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from support.ingress import HOOK, SECRET

LIMIT = 1024 * 1024


@dataclass(frozen=True)
class Forgery:
    kind: str
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes


def _hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Forger:
    def __init__(self, seed: int, *, other_app: str = "second-app") -> None:
        self.rng = random.Random(seed)
        self.n = 0
        self.other_app = other_app
        self.kinds: list[Callable[[], Forgery]] = [
            self.random_body, self.wrong_signature, self.signature_of_other_body,
            self.missing_signature, self.empty_signature, self.duplicated_signature,
            self.truncated_signature, self.not_hex, self.bit_flipped, self.reserialized,
            self.wrong_secret, self.wrong_method, self.wrong_content_type, self.too_large,
            self.truncated_body, self.unknown_event_forged, self.malformed_event,
            self.missing_event, self.missing_delivery, self.replay_to_other_app,
            self.malformed_delivery, self.signed_garbage, self.signed_without_object_id,
        ]  # fmt: skip
        self._huge = b"{" + b" " * LIMIT + b"}"

    def __iter__(self) -> Iterator[Forgery]:
        while True:
            yield self.rng.choice(self.kinds)()

    # --- building blocks -------------------------------------------------------------------

    def body(self) -> bytes:
        self.n += 1
        document = {
            "receiver": {"id": 1},
            "object": {"id": self.rng.randint(1, 10**6), "note": f"CANARY-{self.n:06d}"},
        }
        return json.dumps(document).encode()

    def headers(self, body: bytes, **changes: str | None) -> list[tuple[str, str]]:
        values: dict[str, str | None] = {
            "content-type": "application/json",
            "x-drchrono-event": "PATIENT_MODIFY",
            "x-drchrono-signature": _hmac(SECRET, body),
            "x-drchrono-delivery": f"forged-{self.n}-{self.rng.randrange(10**9)}",
        }
        values.update(changes)
        return [(name, value) for name, value in values.items() if value is not None]

    def forgery(
        self,
        kind: str,
        body: bytes,
        *,
        method: str = "POST",
        path: str = HOOK,
        **changes: str | None,
    ) -> Forgery:
        return Forgery(kind, method, path, self.headers(body, **changes), body)

    def text(self, length: int) -> str:
        return "".join(self.rng.choice(string.printable[:94]) for _ in range(length))

    # --- the kinds ---------------------------------------------------------------------------

    def random_body(self) -> Forgery:
        body = self.rng.randbytes(self.rng.randint(0, 300)) + f"CANARY-{self.n}".encode()
        return self.forgery("random_body", body, **{"x-drchrono-signature": self.text(64)})

    def wrong_signature(self) -> Forgery:
        body = self.body()
        return self.forgery(
            "wrong_signature", body, **{"x-drchrono-signature": self.rng.randbytes(32).hex()}
        )

    def signature_of_other_body(self) -> Forgery:
        body, other = self.body(), self.body()
        return self.forgery("other_body", body, **{"x-drchrono-signature": _hmac(SECRET, other)})

    def missing_signature(self) -> Forgery:
        return self.forgery("missing_signature", self.body(), **{"x-drchrono-signature": None})

    def empty_signature(self) -> Forgery:
        return self.forgery("empty_signature", self.body(), **{"x-drchrono-signature": ""})

    def duplicated_signature(self) -> Forgery:
        body = self.body()
        forged = self.forgery("duplicated_signature", body)
        extra = ("x-drchrono-signature", self.rng.choice([SECRET, "0" * 64, _hmac(SECRET, body)]))
        return Forgery(forged.kind, "POST", HOOK, [*forged.headers, extra], body)

    def truncated_signature(self) -> Forgery:
        body = self.body()
        good = self.rng.choice([SECRET, _hmac(SECRET, body)])
        cut = good[: self.rng.randint(1, len(good) - 1)]
        return self.forgery("truncated_signature", body, **{"x-drchrono-signature": cut})

    def not_hex(self) -> Forgery:
        return self.forgery("not_hex", self.body(), **{"x-drchrono-signature": "zz" * 32})

    def bit_flipped(self) -> Forgery:
        body = self.body()
        good = self.rng.choice([SECRET, _hmac(SECRET, body)])
        index = self.rng.randrange(len(good))
        char = chr(ord(good[index]) ^ (1 << self.rng.randrange(7)))
        if not char.isprintable() or char.isspace():  # keep it a valid header value
            char = "g" if good[index] != "g" else "h"
        flipped = good[:index] + char + good[index + 1 :]
        return self.forgery("bit_flipped", body, **{"x-drchrono-signature": flipped})

    def reserialized(self) -> Forgery:
        body = self.body()
        again = json.dumps(json.loads(body), indent=1, sort_keys=True).encode()
        return self.forgery("reserialized", again, **{"x-drchrono-signature": _hmac(SECRET, body)})

    def wrong_secret(self) -> Forgery:
        body = self.body()
        other = "old-or-wrong-secret-" + self.text(8)
        signature = self.rng.choice([other, _hmac(other, body)])
        return self.forgery("wrong_secret", body, **{"x-drchrono-signature": signature})

    def wrong_method(self) -> Forgery:
        method = self.rng.choice(["PUT", "PATCH", "DELETE"])
        return self.forgery("wrong_method", self.body(), method=method)

    def wrong_content_type(self) -> Forgery:
        kind = self.rng.choice(["text/plain", "application/x-www-form-urlencoded", None, "json"])
        return self.forgery("wrong_content_type", self.body(), **{"content-type": kind})

    def too_large(self) -> Forgery:
        self.n += 1
        return self.forgery("too_large", self._huge, **{"x-drchrono-signature": SECRET})

    def truncated_body(self) -> Forgery:
        body = self.body()
        cut = body[: self.rng.randint(0, len(body) - 1)]
        signature = self.rng.choice([SECRET, _hmac(SECRET, body)])
        return self.forgery("truncated_body", cut, **{"x-drchrono-signature": signature})

    def unknown_event_forged(self) -> Forgery:
        body = self.body()
        event = self.rng.choice(["PATIENT_TELEPORT", "INVOICE_CREATE", "APPOINTMENT_EXPLODE"])
        return self.forgery(
            "unknown_event", body, **{"x-drchrono-event": event, "x-drchrono-signature": "0" * 64}
        )

    def malformed_event(self) -> Forgery:
        event = self.rng.choice(["patient_create", "PATIENT-CREATE", "A" * 80, "PING;", "1X"])
        return self.forgery("malformed_event", self.body(), **{"x-drchrono-event": event})

    def missing_event(self) -> Forgery:
        return self.forgery("missing_event", self.body(), **{"x-drchrono-event": None})

    def missing_delivery(self) -> Forgery:
        return self.forgery("missing_delivery", self.body(), **{"x-drchrono-delivery": None})

    def malformed_delivery(self) -> Forgery:
        value = self.rng.choice(["a:b", "has space", "x" * 200, "-lead", "semi;colon", 'q"uote'])
        return self.forgery("malformed_delivery", self.body(), **{"x-drchrono-delivery": value})

    def replay_to_other_app(self) -> Forgery:
        body = self.body()
        return self.forgery("replay_other_app", body, path=f"{HOOK}/{self.other_app}")

    def signed_garbage(self) -> Forgery:
        body = self.rng.choice([b"[]", b"null", b"42", b'"text"', b"{not json", b""])
        body += f" CANARY-{self.n}".encode() if body != b"" else b""
        return self.forgery("signed_garbage", body, **{"x-drchrono-signature": SECRET})

    def signed_without_object_id(self) -> Forgery:
        self.n += 1
        body = json.dumps({"receiver": {}, "object": {"name": f"CANARY-{self.n}"}}).encode()
        return self.forgery("no_object_id", body, **{"x-drchrono-signature": SECRET})
