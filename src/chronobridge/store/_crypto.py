"""Encryption at rest: a ring of AES-256-GCM keys (newest first) with a context label per value.

Every synced record and mapped row is encrypted (the store holds patient data nowhere in
plaintext), so this runs twice per record of every page: AES-GCM costs about 1.5 µs for a
typical record where Fernet (AES-CBC + HMAC, base64 twice) cost about 20.

The plaintext carries a label naming the row and column it belongs to (`tokens.refresh:42`),
and decryption checks that label: a ciphertext copied into another row decrypts fine but is
refused. The label lives inside the authenticated plaintext (not as associated data), so
`rotate` re-encrypts any value without knowing where it came from, and key rotation stays one
generic pass over every encrypted column (store/_rotate.py).

A token is `cb2.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`; the key id is the key's short
fingerprint, so decryption goes straight to the right key. Nonces are 96 random bits: at the
recommended bound of 2^32 encryptions per key, a key rotation a year is far inside it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chronobridge.errors import ConfigError, DecryptionFailed

__all__ = ["KeyRing"]

_MAGIC = b"cb1"
_SEP = b"\x1f"
_TOKEN_FORMAT = "cb2"  # noqa: S105 - the version tag of a ciphertext, not a secret
_NONCE = 12


class KeyRing:
    """AES-256-GCM keys, newest first: encrypts with the newest, decrypts with any."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ConfigError("No encryption key is configured.")
        self._keys = tuple(_as_bytes(key) for key in keys)
        self._ciphers = [(_fingerprint(key), _aead(key)) for key in self._keys]

    @classmethod
    def generate(cls) -> KeyRing:
        """A ring with one fresh key (tests, first start)."""
        return cls([cls.new_key()])

    @staticmethod
    def new_key() -> str:
        """A fresh key: 32 random bytes, url-safe base64 (the key file's format)."""
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")

    @property
    def keys(self) -> tuple[bytes, ...]:
        return self._keys

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Short, non-secret names of the keys (first 8 hex of their SHA-256), newest first."""
        return tuple(kid for kid, _ in self._ciphers)

    def with_new_key(self, key: str | bytes) -> KeyRing:
        """This ring with `key` in front: new values are encrypted with it."""
        return KeyRing([_as_bytes(key), *self._keys])

    def encrypt(self, value: str, *, context: str) -> str:
        """Encrypt text for the row and column named by `context`."""
        return self.encrypt_bytes(value.encode("utf-8"), context=context)

    def decrypt(self, token: str, *, context: str) -> str:
        return self.decrypt_bytes(token, context=context).decode("utf-8")

    def encrypt_bytes(self, value: bytes, *, context: str) -> str:
        return self._seal(_label(context) + value)

    def decrypt_bytes(self, token: str, *, context: str) -> bytes:
        plain = self._open(token)
        if plain is None:
            raise DecryptionFailed(f"The stored secret for {context} could not be decrypted.")
        label = _label(context)
        if not plain.startswith(label):
            raise DecryptionFailed(f"A stored secret does not belong to {context}.")
        return plain[len(label) :]

    def rotate(self, token: str) -> str:
        """The same plaintext (label included) encrypted under the newest key."""
        plain = self._open(token)
        if plain is None:
            raise DecryptionFailed("A stored secret could not be re-encrypted.")
        return self._seal(plain)

    def _seal(self, plain: bytes) -> str:
        kid, aead = self._ciphers[0]
        nonce = os.urandom(_NONCE)
        sealed = base64.urlsafe_b64encode(nonce + aead.encrypt(nonce, plain, None))
        return f"{_TOKEN_FORMAT}.{kid}.{sealed.decode('ascii')}"

    def _open(self, token: str) -> bytes | None:
        """The plaintext, or None when no key of the ring opens the token (or it is mangled)."""
        prefix, _, rest = token.partition(".")
        kid, _, body = rest.partition(".")
        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            return None
        if prefix != _TOKEN_FORMAT or len(raw) <= _NONCE:
            return None
        for aead in [aead for fid, aead in self._ciphers if fid == kid]:
            try:
                return aead.decrypt(raw[:_NONCE], raw[_NONCE:], None)
            except InvalidTag:
                continue
        return None


def _label(context: str) -> bytes:
    raw = context.encode("utf-8")
    if not context or _SEP in raw:
        raise ValueError("an encryption context is a non-empty label without \\x1f")
    return _MAGIC + _SEP + raw + _SEP


def _as_bytes(key: str | bytes) -> bytes:
    return key.strip().encode("ascii") if isinstance(key, str) else key.strip()


def _fingerprint(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def _aead(key: bytes) -> AESGCM:
    try:
        raw = base64.urlsafe_b64decode(key)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ConfigError(
            "An encryption key is not valid (32 random bytes, url-safe base64-encoded).",
            hint="Make keys with chronobridge keys rotate (or the key file), newest first.",
        )
    return AESGCM(raw)
