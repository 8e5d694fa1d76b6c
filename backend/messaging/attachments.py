"""Attachment bytes: the type is read from the bytes themselves (never from the client's
Content-Type or file name), and the file is stored encrypted outside the database."""

import hashlib
import os
import re
import uuid
from pathlib import Path

import anyio

from backend.core.crypto import KeyError_, Keyring

SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
)
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
}


def sniff(data: bytes) -> str | None:
    """The content type the bytes really are, or None when not an allowed photo or PDF."""
    for magic, offset, content_type in SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return content_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def clean_filename(name: str | None, content_type: str) -> str:
    """A display name without paths or control characters, ending in the real type's suffix."""
    base = Path((name or "").replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f]+", "", base).strip()[:100] or "attachment"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem or 'attachment'}{EXTENSIONS[content_type]}"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _path(root: Path, attachment_id: uuid.UUID) -> Path:
    name = attachment_id.hex
    return root / name[:2] / f"{name}.bin"


def aad(attachment_id: uuid.UUID) -> str:
    return f"attachment:{attachment_id}"


async def write(root: Path, keyring: Keyring, attachment_id: uuid.UUID, data: bytes) -> str:
    """Encrypt and store; returns the key id used. Written to a temporary name and renamed, so a
    crash leaves no half file under the real name."""
    key_id, blob = keyring.encrypt(data, aad(attachment_id))
    await anyio.to_thread.run_sync(_write_file, _path(root, attachment_id), blob)
    return key_id


def _write_file(path: Path, blob: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(blob)
    tmp.replace(path)


async def read(root: Path, keyring: Keyring, attachment_id: uuid.UUID, key_id: str) -> bytes:
    blob = await anyio.to_thread.run_sync(_path(root, attachment_id).read_bytes)
    try:
        return keyring.decrypt(key_id, blob, aad(attachment_id))
    except KeyError_:
        if key_id == keyring.active_id:
            raise
        # A re-encryption stopped after rewriting the file but before updating its row.
        return keyring.decrypt(keyring.active_id, blob, aad(attachment_id))


async def rewrite(root: Path, keyring: Keyring, attachment_id: uuid.UUID, key_id: str) -> str:
    """Re-encrypt one stored file under the active key; returns the new key id."""
    data = await read(root, keyring, attachment_id, key_id)
    return await write(root, keyring, attachment_id, data)
