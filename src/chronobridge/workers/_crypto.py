"""Encryption of what DBOS stores, and the serializer that applies it.

DBOS persists workflow inputs, outputs, step results, events and exceptions in its system
tables. With the default serializer that is pickle in base64: readable by anyone with the
database, and unpickling it runs code. `EncryptingSerializer` writes tagged JSON (see `_codec`)
encrypted with a `Cipher` instead, bound to the context label `dbos` so that a ciphertext
copied from another column does not decrypt here.

`Cipher` is the shape of the store's `KeyRing` (Fernet keys, newest first, context label inside
the authenticated plaintext), so the hub passes its one key ring. `FernetCipher` is a small
stand-alone implementation for processes and tests that have no store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from dbos import Serializer

from chronobridge.errors import ConfigError, DecryptionFailed
from chronobridge.workers import _codec

CONTEXT = "dbos"
_PREFIX = "cb1:"


class Cipher(Protocol):
    """Authenticated encryption of bytes, bound to a context label; tokens are ASCII text."""

    def encrypt_bytes(self, value: bytes, *, context: str) -> str: ...

    def decrypt_bytes(self, token: str, *, context: str) -> bytes: ...


class FernetCipher:
    """A `Cipher` over Fernet keys, newest first (MultiFernet: all decrypt, first encrypts)."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ConfigError("No encryption key is configured.")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except ValueError:
            raise ConfigError("An encryption key is not a valid Fernet key.") from None

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode("ascii")

    def encrypt_bytes(self, value: bytes, *, context: str) -> str:
        return self._fernet.encrypt(_label(context) + value).decode("ascii")

    def decrypt_bytes(self, token: str, *, context: str) -> bytes:
        try:
            plain = self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise DecryptionFailed(f"Stored data for {context} could not be decrypted.") from None
        if not plain.startswith(_label(context)):
            raise DecryptionFailed(f"Stored data does not belong to {context}.")
        return plain[len(_label(context)) :]


def _label(context: str) -> bytes:
    return b"cb1\x1f" + context.encode() + b"\x1f"


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
