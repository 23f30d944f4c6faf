"""Waiting for a condition with a deadline: the tests' one way to wait (never a fixed sleep,
which passes or fails by the machine's speed)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], timeout: float) -> bool:
    """True as soon as ``condition()`` is; after ``timeout`` s, what it is then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())
