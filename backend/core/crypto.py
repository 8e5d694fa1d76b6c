"""Encryption at rest for message bodies and attachments: AES-256-GCM under named keys.

Every ciphertext is stored with the id of the key that made it, so a new key can be made active
at any time: new rows use it, old rows stay readable under their own key until
`python -m backend keys reencrypt` moves them. The associated data binds a ciphertext to its
row (e.g. `message:<id>`), so a blob copied onto another row does not decrypt.
"""

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class KeyError_(Exception):
    """A ciphertext names a key we do not hold, or does not authenticate."""


def new_key() -> str:
    """A fresh 256-bit key, base64 encoded as it is written in settings."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def decode_key(key_id: str, value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raise ValueError(f"key {key_id!r} is not base64") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"key {key_id!r} must be {KEY_BYTES} bytes (AES-256), not {len(raw)}")
    return raw


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, AESGCM]
    active_id: str

    @classmethod
    def from_encoded(cls, keys: dict[str, str], active_id: str) -> "Keyring":
        if active_id not in keys:
            raise ValueError(f"the active key {active_id!r} is not among the keys")
        return cls({kid: AESGCM(decode_key(kid, value)) for kid, value in keys.items()}, active_id)

    def encrypt(self, plaintext: bytes, aad: str) -> tuple[str, bytes]:
        """Returns (key id, nonce + ciphertext + tag)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.keys[self.active_id].encrypt(nonce, plaintext, aad.encode())
        return self.active_id, nonce + sealed

    def decrypt(self, key_id: str, blob: bytes, aad: str) -> bytes:
        key = self.keys.get(key_id)
        if key is None:
            raise KeyError_(f"encryption key {key_id!r} is not configured")
        try:
            return key.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad.encode())
        except InvalidTag:
            raise KeyError_("ciphertext does not authenticate under its key") from None

    def encrypt_text(self, text: str, aad: str) -> tuple[str, bytes]:
        return self.encrypt(text.encode(), aad)

    def decrypt_text(self, key_id: str, blob: bytes, aad: str) -> str:
        return self.decrypt(key_id, blob, aad).decode()


def load_key_file(path: Path) -> tuple[dict[str, str], str]:
    data = json.loads(path.read_text())
    return dict(data["keys"]), str(data["active"])


def write_key_file(path: Path, keys: dict[str, str], active: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"active": active, "keys": keys}, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)


def dev_keys(path: Path) -> tuple[dict[str, str], str]:
    """Development keys, made once into a git-ignored file (like the dev SECRET_KEY)."""
    if path.exists():
        return load_key_file(path)
    keys = {"k1": new_key()}
    write_key_file(path, keys, "k1")
    return keys, "k1"
