"""What a database error means for the operator, in words that say what to do next."""

from __future__ import annotations

import errno


def store_error_hint(exc: BaseException) -> str:
    """A short diagnosis of a failed store operation (SQLite or PostgreSQL) with the fix."""
    text = str(exc).lower()
    if "disk is full" in text or "no space left" in text or "disk full" in text \
            or getattr(exc, "errno", None) == errno.ENOSPC:
        return "the disk holding the database is full: free space on it"
    if "readonly" in text or "read-only" in text or "permission denied" in text \
            or isinstance(exc, PermissionError):
        return "the database file or its folder is not writable: check owner and permissions"
    if "disk i/o error" in text:
        return "the disk reports an I/O error: check the disk (full, unmounted, failing)"
    if "server" in text or "connection" in text:
        return "the database server cannot be reached: check that it runs and the network"
    if "locked" in text:
        return "another process holds the database: check what else uses the file"
    return "the database cannot be written: check that it is reachable and has space"
