"""Sealing BYOK secrets: AES-256-GCM, HKDF for passphrases, key ids for rotation, bound to their owner."""
from __future__ import annotations

import base64
import os

import pytest

from services.runtime.crypto import SecretBox, SecretsUnavailable, WeakKey, derive_key, key_id

RAW = base64.b64encode(os.urandom(32)).decode()


@pytest.mark.parametrize("weak", ["correct horse battery staple", "hunter2", base64.b64encode(os.urandom(16)).decode(),
                                  base64.b64encode(os.urandom(31)).decode()])
def test_the_current_key_must_be_32_random_bytes_and_a_passphrase_is_refused(weak):
    with pytest.raises(WeakKey, match="32 random bytes"):
        SecretBox(weak)


def test_a_passphrase_is_refused_at_start_with_a_clear_error(monkeypatch):
    from services.common.env import ConfigError
    from services.runtime.config import RuntimeConfig

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("TOKENYARD_MASTER_KEY", "ty-" + "k" * 30)
    monkeypatch.setenv("TOKENYARD_ENCRYPTION_KEY", "my passphrase")
    with pytest.raises(ConfigError, match="TOKENYARD_ENCRYPTION_KEY must be 32 random bytes"):
        RuntimeConfig.from_env()


def test_a_base64_32_byte_key_is_used_as_is_and_a_retired_passphrase_goes_through_hkdf():
    assert derive_key(RAW) == base64.b64decode(RAW)
    derived = derive_key("correct horse battery staple")
    assert len(derived) == 32
    assert derived != b"correct horse battery staple".ljust(32, b"\0")  # never padded
    assert derive_key("correct horse battery staple") == derived
    # base64 of 16 bytes is a passphrase, not a short key.
    short = base64.b64encode(os.urandom(16)).decode()
    assert derive_key(short) != base64.b64decode(short).ljust(32, b"\0")


def test_sealed_values_open_only_with_the_same_context_and_hide_the_plaintext():
    box = SecretBox(RAW)
    sealed = box.seal("sk-live-very-secret", "agent:a1:llm")
    assert "sk-live-very-secret" not in sealed
    assert sealed.split(":")[1] == box.current_key_id == key_id(base64.b64decode(RAW))
    assert box.open(sealed, "agent:a1:llm") == "sk-live-very-secret"
    with pytest.raises(SecretsUnavailable):
        box.open(sealed, "agent:a2:llm")  # copied onto another agent: does not open
    assert box.seal("x", "c") != box.seal("x", "c")  # fresh nonce each time


def test_tampering_is_detected():
    box = SecretBox(RAW)
    version, kid, body = box.seal("secret", "ctx").split(":", 2)
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(SecretsUnavailable):
        box.open(f"{version}:{kid}:{base64.b64encode(bytes(raw)).decode()}", "ctx")


def test_rotation_keeps_old_values_readable_and_flags_them_for_resealing():
    old_key = "old passphrase"
    sealed = _legacy_seal(old_key, "sk-old", "ctx")
    rotated = SecretBox(RAW, retired=("old passphrase",))
    assert rotated.open(sealed, "ctx") == "sk-old"
    assert rotated.needs_reseal(sealed)
    assert not rotated.needs_reseal(rotated.seal("sk-old", "ctx"))
    with pytest.raises(SecretsUnavailable):
        SecretBox(RAW).open(sealed, "ctx")  # retired key not configured: a clear error, not garbage


def test_without_a_key_nothing_can_be_sealed():
    box = SecretBox("")
    assert not box.enabled
    with pytest.raises(SecretsUnavailable):
        box.seal("sk-x", "ctx")


def _legacy_seal(passphrase: str, plaintext: str, context: str) -> str:
    """A value sealed the way a passphrase key sealed it before passphrases were refused."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = derive_key(passphrase)
    nonce = os.urandom(12)
    body = base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), context.encode())).decode()
    return f"v1:{key_id(key)}:{body}"
