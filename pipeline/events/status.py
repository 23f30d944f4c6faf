"""Heartbeat and camera state on retained topics, so a monitor sees at a glance whether the
entrance is working (like OpenALPR's heartbeat and Frigate's stats)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pipeline import __version__
from pipeline.domain import ARRIVAL_STATUSES, Status, iso
from pipeline.events.topics import Topics
from pipeline.frames.types import SourceStats

log = logging.getLogger(__name__)


def _when(epoch: float | None) -> str | None:
    return iso(datetime.fromtimestamp(epoch, UTC)) if epoch else None


def camera_payload(camera_id: str, stats: SourceStats) -> dict[str, object]:
    return {"camera_id": camera_id, "state": "online" if stats.online else "offline",
            "last_frame_at": _when(stats.last_frame_at), "reconnects": stats.reconnects}


def status_payload(camera_id: str, site: str, stats: SourceStats, *, fps: float,
                   frames: int, dropped: int, last_arrival_at: float | None,
                   outbox_depth: int, broker_connected: bool,
                   broker_refused: str | None = None, unstored: int = 0,
                   today: dict[str, int] | None = None) -> dict[str, object]:
    """``broker_refused``: the reason code of the broker's last refused arrival (the events
    wait in the outbox); ``unstored``: arrivals the database could not take yet; ``today``:
    the site's arrivals since local midnight by status (every camera of the database)."""
    today = today or {}
    return {
        "type": "status", "version": __version__, "timestamp": iso(datetime.now(UTC)),
        "site": site, "camera_id": camera_id,
        "camera": "online" if stats.online else "offline",
        "last_frame_at": _when(stats.last_frame_at), "fps": round(fps, 2), "frames": frames,
        "frames_dropped": dropped, "frames_corrupt": stats.corrupt,
        "last_arrival_at": _when(last_arrival_at), "outbox_depth": outbox_depth,
        "broker": "connected" if broker_connected else "disconnected",
        "broker_refused": broker_refused, "arrivals_not_stored": unstored,
        "arrivals_today": sum(n for status, n in today.items() if status in ARRIVAL_STATUSES),
        "needs_review_today": today.get(Status.NEEDS_REVIEW, 0),
    }


class StatusReporter:
    """A thread that publishes the camera state when it changes and a heartbeat every
    ``interval_s``, through ``publish(topic, json_text)`` (retained)."""

    def __init__(self, topics: Topics, camera_id: str, site: str, stats: SourceStats,
                 counters: Callable[[], dict[str, Any]],
                 publish: Callable[[str, str], None], interval_s: float = 30.0) -> None:
        self.topics = topics
        self.camera_id = camera_id
        self.site = site
        self.stats = stats
        self.counters = counters
        self.publish = publish
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="status", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Last heartbeat and camera state: both retained, so they must agree once the run
        has ended (the camera topic kept saying ``online`` while the heartbeat said not)."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.publish(self.topics.camera, json.dumps(camera_payload(self.camera_id, self.stats)))
        self.beat()

    def beat(self) -> None:
        c = self.counters()
        payload = status_payload(
            self.camera_id, self.site, self.stats, fps=float(c.get("fps") or 0.0),
            frames=int(c.get("frames") or 0), dropped=int(c.get("dropped") or 0),
            last_arrival_at=c.get("last_arrival_at"),  # type: ignore[arg-type]
            outbox_depth=int(c.get("outbox_depth") or 0),
            broker_connected=bool(c.get("broker_connected")),
            broker_refused=str(c["broker_refused"]) if c.get("broker_refused") else None,
            unstored=int(c.get("unstored") or 0),
            today=c.get("today"))
        self.publish(self.topics.status, json.dumps(payload))

    def _loop(self) -> None:
        last_state: bool | None = None
        next_beat = 0.0
        while not self._stop.wait(0.5):
            try:
                if self.stats.online != last_state:
                    last_state = self.stats.online
                    self.publish(self.topics.camera,
                                 json.dumps(camera_payload(self.camera_id, self.stats)))
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.interval_s
                    self.beat()
            except Exception:  # a monitor must never stop the check-in
                log.exception("status report failed")
