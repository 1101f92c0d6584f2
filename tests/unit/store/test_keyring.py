"""KeyRing and the key file: authenticated, row-bound, rotatable, fail closed."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chronobridge.errors import ConfigError, DecryptionFailed
from chronobridge.settings import Settings
from chronobridge.store import KeyFile, KeyRing, load_keyring

SECRET = "refresh-token-canary-7f3a"


def test_round_trip_with_the_same_context() -> None:
    ring = KeyRing.generate()
    token = ring.encrypt(SECRET, context="tokens.refresh_token:1")
    assert SECRET not in token
    assert ring.decrypt(token, context="tokens.refresh_token:1") == SECRET


def test_two_encryptions_differ() -> None:
    ring = KeyRing.generate()
    assert ring.encrypt(SECRET, context="c") != ring.encrypt(SECRET, context="c")


def test_a_ciphertext_moved_to_another_row_is_refused() -> None:
    ring = KeyRing.generate()
    token = ring.encrypt(SECRET, context="tokens.refresh_token:1")
    with pytest.raises(DecryptionFailed, match=r"tokens\.refresh_token:2") as caught:
        ring.decrypt(token, context="tokens.refresh_token:2")
    assert SECRET not in str(caught.value)


def test_a_prefix_of_the_context_is_not_enough() -> None:
    ring = KeyRing.generate()
    token = ring.encrypt(SECRET, context="tokens.access_token:1")
    with pytest.raises(DecryptionFailed):
        ring.decrypt(token, context="tokens.access_token:11")


@pytest.mark.parametrize("position", [0, 10, 60, -5])
def test_a_tampered_ciphertext_fails_closed(position: int) -> None:
    ring = KeyRing.generate()
    token = ring.encrypt(SECRET, context="c")
    index = position % len(token)
    flipped = "A" if token[index] != "A" else "B"
    tampered = token[:index] + flipped + token[index + 1 :]
    with pytest.raises(DecryptionFailed) as caught:
        ring.decrypt(tampered, context="c")
    assert tampered not in str(caught.value)


def test_garbage_and_non_ascii_fail_closed() -> None:
    ring = KeyRing.generate()
    for junk in ("", "not a token", "é" * 40, SECRET):
        with pytest.raises(DecryptionFailed):
            ring.decrypt(junk, context="c")


def test_an_unknown_key_fails_closed() -> None:
    token = KeyRing.generate().encrypt(SECRET, context="c")
    with pytest.raises(DecryptionFailed):
        KeyRing.generate().decrypt(token, context="c")


def test_rotation_moves_values_to_the_newest_key() -> None:
    old = KeyRing.generate()
    token = old.encrypt(SECRET, context="c")
    both = old.with_new_key(KeyRing.new_key())
    assert both.decrypt(token, context="c") == SECRET
    rotated = both.rotate(token)
    newest_only = KeyRing(both.keys[:1])
    assert newest_only.decrypt(rotated, context="c") == SECRET
    with pytest.raises(DecryptionFailed):
        newest_only.decrypt(token, context="c")


def test_invalid_keys_are_a_config_error() -> None:
    with pytest.raises(ConfigError):
        KeyRing([])
    with pytest.raises(ConfigError):
        KeyRing(["too-short"])


def test_contexts_must_be_labels() -> None:
    ring = KeyRing.generate()
    with pytest.raises(ValueError, match="context"):
        ring.encrypt(SECRET, context="")
    with pytest.raises(ValueError, match="context"):
        ring.encrypt(SECRET, context="a\x1fb")


def test_fingerprints_are_short_and_not_the_key() -> None:
    ring = KeyRing.generate()
    (fingerprint,) = ring.fingerprints
    assert len(fingerprint) == 8
    assert fingerprint not in ring.keys[0].decode()


def test_the_key_file_is_created_with_mode_600(tmp_path: Path) -> None:
    path = tmp_path / "home" / "keys"
    ring = KeyFile(path).load()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert KeyFile(path).load().keys == ring.keys


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    KeyFile(path).load()
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="other users") as caught:
        KeyFile(path).load()
    assert "chmod 600" in caught.value.hint


def test_comments_and_blank_lines_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    key = KeyRing.new_key()
    path.write_text(f"# newest first\n\n{key}\n")
    path.chmod(0o600)
    assert KeyFile(path).load().keys == (key.encode(),)


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    with ThreadPoolExecutor(8) as pool:
        rings = list(pool.map(lambda _: KeyFile(path).load().keys, range(16)))
    assert len(set(rings)) == 1
    assert not [name for name in os.listdir(tmp_path) if name != "keys"]


def test_add_then_retire_keeps_only_the_new_key(tmp_path: Path) -> None:
    keys = KeyFile(tmp_path / "keys")
    (first,) = keys.load().keys
    added = keys.add_new_key()
    assert len(added.keys) == 2
    assert added.keys[1] == first
    assert stat.S_IMODE(keys.path.stat().st_mode) == 0o600
    retired = keys.retire_old_keys()
    assert retired.keys == added.keys[:1]
    assert keys.load().keys == retired.keys


def test_settings_keys_override_the_key_file(tmp_path: Path) -> None:
    new, old = KeyRing.new_key(), KeyRing.new_key()
    settings = Settings(home=tmp_path, encryption_keys=f"{new}, {old}")  # type: ignore[arg-type]
    assert load_keyring(settings).keys == (new.encode(), old.encode())
    assert not (tmp_path / "keys").exists()


def test_without_keys_in_settings_the_key_file_is_used(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, encryption_keys=None)
    ring = load_keyring(settings)
    assert (tmp_path / "keys").exists()
    assert load_keyring(settings).keys == ring.keys
