"""Sealing customer secrets (BYOK provider keys, remote-agent tokens) with AES-256-GCM.

The key comes from TOKENYARD_ENCRYPTION_KEY and must be 32 random bytes in base64 (`openssl rand -base64
32`). Passphrases are refused: HKDF with a fixed salt is no password KDF, so a short or guessable phrase
fell to an offline dictionary attack on a copied Redis. A passphrase that sealed values before is still
accepted among the retired keys (TOKENYARD_ENCRYPTION_KEYS_OLD), only to open them so they are re-sealed
under the random key. Every sealed value names
the id of the key that sealed it (a fingerprint, not the key), so after a rotation old values still
open with a retired key and are re-sealed under the current one. The associated data binds a value
to its owner and purpose, so a ciphertext copied onto another agent does not open.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os

# cryptography (~6.5 MB resident once its Rust bindings load) is imported where a key is stretched or a
# secret sealed or opened, not at startup: a runtime serves without touching a BYOK secret until asked to.

_VERSION = "v1"
_HKDF_SALT = b"tokenyard.runtime.byok.v1"
_HKDF_INFO = b"aes-256-gcm key for sealed agent secrets"


class SecretsUnavailable(Exception):
    """No encryption key is configured, or a value was sealed with a key this runtime does not have."""


class WeakKey(ValueError):
    """The current encryption key is not 32 random bytes in base64."""


WEAK_KEY_MESSAGE = ("TOKENYARD_ENCRYPTION_KEY must be 32 random bytes in base64 (`openssl rand -base64 32`); "
                    "passphrases are not accepted. A passphrase used before goes to TOKENYARD_ENCRYPTION_KEYS_OLD, "
                    "so the secrets it sealed still open and are re-sealed under the new key.")


def random_key(material: str) -> bytes:
    """The 32 key bytes of a base64 key; raises WeakKey for anything else."""
    try:
        raw = base64.b64decode(material, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise WeakKey(WEAK_KEY_MESSAGE)
    return raw


def derive_key(material: str) -> bytes:
    """A retired key's bytes: a base64 32-byte key as is, else the legacy HKDF of a passphrase (only to
    open values sealed before passphrases were refused)."""
    try:
        return random_key(material)
    except WeakKey:
        pass
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO)
    return hkdf.derive(material.encode())


def key_id(key: bytes) -> str:
    """A short public fingerprint of a key (SHA-256 of a domain tag and the key)."""
    return hashlib.sha256(b"tokenyard-key-id:" + key).hexdigest()[:12]


class SecretBox:
    """Seals and opens small secrets; the first key seals, every key opens."""

    def __init__(self, current: str, retired: tuple[str, ...] = ()) -> None:
        keys = ([random_key(current)] if current else []) + [derive_key(m) for m in retired]
        self._keys = {key_id(k): k for k in keys}
        self._ciphers: dict = {}
        """AESGCM per key id, built on first use."""
        self._current = key_id(keys[0]) if current else ""

    def _cipher(self, kid: str):
        cipher = self._ciphers.get(kid)
        if cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            cipher = self._ciphers[kid] = AESGCM(self._keys[kid])
        return cipher

    @property
    def enabled(self) -> bool:
        return bool(self._current)

    @property
    def current_key_id(self) -> str:
        return self._current

    def seal(self, plaintext: str, context: str) -> str:
        """`v1:<key id>:<base64 nonce+ciphertext>`; `context` (e.g. "agent:a1:llm") must match to open."""
        if not self._current:
            raise SecretsUnavailable("TOKENYARD_ENCRYPTION_KEY is not set, so secrets cannot be stored")
        nonce = os.urandom(12)
        sealed = self._cipher(self._current).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_VERSION}:{self._current}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, token: str, context: str) -> str:
        version, kid, body = self.parse(token)
        if version != _VERSION or kid not in self._keys:
            raise SecretsUnavailable(f"secret sealed with unknown encryption key id {kid!r}")
        from cryptography.exceptions import InvalidTag

        raw = base64.b64decode(body)
        try:
            return self._cipher(kid).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise SecretsUnavailable("secret failed authentication (wrong key or tampered)") from None

    def needs_reseal(self, token: str) -> bool:
        return self.parse(token)[1] != self._current

    @staticmethod
    def parse(token: str) -> tuple[str, str, str]:
        parts = token.split(":", 2)
        if len(parts) != 3:
            raise SecretsUnavailable("malformed sealed secret")
        return parts[0], parts[1], parts[2]
