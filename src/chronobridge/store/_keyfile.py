"""The key file of the embedded default: `CHRONOBRIDGE_HOME/keys`, mode 0600, newest key first.

Production sets CHRONOBRIDGE_ENCRYPTION_KEYS from a secret manager instead, which keeps the key
away from the database and its backups. The file is created on first use; several processes
starting at once agree on one key because the file appears atomically (`os.link` of a finished
temporary file) and a loser reads the winner's file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from chronobridge.errors import ConfigError
from chronobridge.settings import Settings
from chronobridge.store._crypto import KeyRing

__all__ = ["KeyFile", "load_keyring"]


def load_keyring(settings: Settings) -> KeyRing:
    """The keys from CHRONOBRIDGE_ENCRYPTION_KEYS, else from the key file (created if missing)."""
    if settings.encryption_keys is not None:
        raw = settings.encryption_keys.get_secret_value()
        return KeyRing([part for part in raw.split(",") if part.strip()])
    return KeyFile(settings.key_file).load()


class KeyFile:
    """One key per line, newest first; blank lines and `#` comments are ignored."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self, *, create: bool = True) -> KeyRing:
        if create and not self.path.exists():
            self._create()
        return KeyRing(self._read())

    def add_new_key(self) -> KeyRing:
        """Put a fresh key in front; existing values still decrypt with the older ones."""
        keys = [KeyRing.new_key(), *self._read()]
        self._replace(keys)
        return KeyRing(keys)

    def retire_old_keys(self) -> KeyRing:
        """Keep only the newest key: run after every value was re-encrypted with it."""
        keys = self._read()[:1]
        self._replace(keys)
        return KeyRing(keys)

    def _read(self) -> list[str]:
        try:
            mode = self.path.stat().st_mode
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError as exc:
            raise ConfigError(f"The key file {self.path} does not exist.") from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"The key file {self.path} can be read by other users.",
                hint=f"Run: chmod 600 {self.path}",
            )
        keys = [line.strip() for line in text.splitlines()]
        return [key for key in keys if key and not key.startswith("#")]

    def _create(self) -> None:
        tmp = self._write_temp([KeyRing.new_key()])
        try:
            os.link(tmp, self.path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        finally:
            tmp.unlink()

    def _replace(self, keys: list[str]) -> None:
        os.replace(self._write_temp(keys), self.path)

    def _write_temp(self, keys: list[str]) -> Path:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".keys-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, ("\n".join(keys) + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return Path(name)
