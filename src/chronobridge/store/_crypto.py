"""Encryption at rest: a ring of Fernet keys (newest first) with a context label per value.

Fernet (AES-128-CBC + HMAC-SHA256) authenticates the whole token but takes no associated data.
So the plaintext carries a label naming the row and column it belongs to (`tokens.refresh:42`),
and decryption checks that label: a ciphertext copied into another row decrypts fine but is
refused. The label lives *inside* the authenticated plaintext, so `MultiFernet.rotate` re-encrypts
any value without knowing where it came from, and key rotation is one generic pass over every
encrypted column (store/_rotate.py). AES-GCM with associated data would bind the same way, but
then rotation would have to rebuild every row's label and manage nonces by hand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from chronobridge.errors import ConfigError, DecryptionFailed

__all__ = ["KeyRing"]

_MAGIC = b"cb1"
_SEP = b"\x1f"


class KeyRing:
    """Fernet keys, newest first: encrypts with the newest, decrypts with any."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ConfigError("No encryption key is configured.")
        self._keys = tuple(_as_bytes(key) for key in keys)
        self._fernet = MultiFernet([_fernet(key) for key in self._keys])

    @classmethod
    def generate(cls) -> KeyRing:
        """A ring with one fresh key (tests, first start)."""
        return cls([Fernet.generate_key()])

    @staticmethod
    def new_key() -> str:
        """A fresh url-safe base64 Fernet key."""
        return Fernet.generate_key().decode("ascii")

    @property
    def keys(self) -> tuple[bytes, ...]:
        return self._keys

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Short, non-secret names of the keys (first 8 hex of their SHA-256), newest first."""
        return tuple(hashlib.sha256(key).hexdigest()[:8] for key in self._keys)

    def with_new_key(self, key: str | bytes) -> KeyRing:
        """This ring with `key` in front: new values are encrypted with it."""
        return KeyRing([_as_bytes(key), *self._keys])

    def encrypt(self, value: str, *, context: str) -> str:
        """Encrypt text for the row and column named by `context`."""
        return self.encrypt_bytes(value.encode("utf-8"), context=context)

    def decrypt(self, token: str, *, context: str) -> str:
        return self.decrypt_bytes(token, context=context).decode("utf-8")

    def encrypt_bytes(self, value: bytes, *, context: str) -> str:
        label = _label(context)
        return self._fernet.encrypt(label + value).decode("ascii")

    def decrypt_bytes(self, token: str, *, context: str) -> bytes:
        plain = self._open(token, context=context)
        label = _label(context)
        if not plain.startswith(label):
            raise DecryptionFailed(f"A stored secret does not belong to {context}.")
        return plain[len(label) :]

    def rotate(self, token: str) -> str:
        """The same plaintext (label included) encrypted under the newest key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise DecryptionFailed("A stored secret could not be re-encrypted.") from exc

    def _open(self, token: str, *, context: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise DecryptionFailed(
                f"The stored secret for {context} could not be decrypted."
            ) from exc


def _label(context: str) -> bytes:
    raw = context.encode("utf-8")
    if not context or _SEP in raw:
        raise ValueError("an encryption context is a non-empty label without \\x1f")
    return _MAGIC + _SEP + raw + _SEP


def _as_bytes(key: str | bytes) -> bytes:
    return key.strip().encode("ascii") if isinstance(key, str) else key.strip()


def _fernet(key: bytes) -> Fernet:
    try:
        return Fernet(key)
    except ValueError as exc:
        raise ConfigError(
            "An encryption key is not a valid Fernet key (32 url-safe base64-encoded bytes).",
            hint="Use keys made by cryptography's Fernet.generate_key(), newest first.",
        ) from exc
