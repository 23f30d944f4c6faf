"""Keyed pseudonyms for plates.

German plates have little entropy (a few hundred million combinations), so a plain hash is
reversed by enumerating them. An HMAC with a secret key is not: without the key the pseudonym
says nothing, and deleting the key (end of campaign) makes old pseudonyms unlinkable.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def load_or_create_key(path: Path) -> bytes:
    """Read the key file, or create it with a fresh random key (readable by the owner only)."""
    if path.is_file():
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
        if len(key) < 16:
            raise ValueError(f"{path}: HMAC key too short; delete it to create a new one")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex())
    return key


def plate_pseudonym(key: bytes, compact: str) -> str:
    """A stable, keyed id of a plate: 16 hex digits of HMAC-SHA256."""
    return hmac.new(key, compact.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
