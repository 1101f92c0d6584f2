"""Encryption of what DBOS stores, and the serializer that applies it.

DBOS persists workflow inputs, outputs, step results, events and exceptions in its system
tables. With the default serializer that is pickle in base64: readable by anyone with the
database, and unpickling it runs code. `EncryptingSerializer` writes tagged JSON (see `_codec`)
encrypted with a `Cipher` instead, bound to the context label `dbos` so that a ciphertext
copied from another column does not decrypt here.

`Cipher` is the shape of the store's `KeyRing` (keys newest first, context label inside the
authenticated plaintext): the hub passes its one key ring.
"""

from __future__ import annotations

from typing import Any, Protocol

from dbos import Serializer

from chronobridge.errors import DecryptionFailed
from chronobridge.workers import _codec

CONTEXT = "dbos"
_PREFIX = "cb1:"


class Cipher(Protocol):
    """Authenticated encryption of bytes, bound to a context label; tokens are ASCII text."""

    def encrypt_bytes(self, value: bytes, *, context: str) -> str: ...

    def decrypt_bytes(self, token: str, *, context: str) -> bytes: ...


class EncryptingSerializer(Serializer):
    """DBOS serializer: tagged JSON, encrypted, stored as `cb1:<token>`."""

    def __init__(self, cipher: Cipher) -> None:
        self._cipher = cipher

    def name(self) -> str:
        return "chronobridge_encrypted_json_v1"

    def serialize(self, data: Any) -> str:
        return _PREFIX + self._cipher.encrypt_bytes(_codec.dumps(data), context=CONTEXT)

    def deserialize(self, serialized_data: str) -> Any:
        if not serialized_data.startswith(_PREFIX):
            raise DecryptionFailed("Stored workflow data is not in the encrypted format.")
        token = serialized_data[len(_PREFIX) :]
        return _codec.loads(self._cipher.decrypt_bytes(token, context=CONTEXT))
