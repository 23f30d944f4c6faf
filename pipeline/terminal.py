"""What every command shares with the terminal: the error a user can fix, JSON output and
the stop signals. Its own module, so that commands need not import the CLI that imports
them."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from typing import Any

log = logging.getLogger("kennzeichen-checkin")


class UserError(Exception):
    """A problem the user can fix; printed without a traceback."""


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()


def install_stop_handlers(stop: threading.Event) -> None:
    """SIGTERM and SIGINT stop the loop gracefully; a second SIGINT aborts."""
    def handler(signum: int, frame: object) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.info("stopping (signal %d): finishing the current frame and flushing the outbox",
                 signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
