"""Retention rules, enforced by the product: when plate data must go.

* Reads of unregistered cars: at the end of the service day they were seen on (default), or
  after ``unregistered_max_age_h`` hours when that is set.
* Plate text of matched reads: after ``matched_plate_days``; customer number and time stay
  for the statistics.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.domain import PurgeReport, iso
from pipeline.privacy.debug_crops import purge_crops
from pipeline.store.protocol import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrivacySettings:
    """The ``[privacy]`` section of the config (documented in the example config)."""

    matched_payload: str = "full"  # full | no_plate | customer_number
    hmac_key_file: str = ""  # default: <database>.hmac-key
    timezone: str = "Europe/Berlin"
    service_day_end: str = "16:30"
    unregistered_max_age_h: float = 0.0  # 0: until the end of the service day
    matched_plate_days: float = 7.0
    purge_interval_s: float = 300.0
    evidence_unregistered: bool = False  # also keep crops of unregistered cars (see evidence)


def _day_end(now_local: datetime, hhmm: str) -> datetime:
    hours, minutes = (int(v) for v in hhmm.split(":"))
    return datetime.combine(now_local.date(), time(hours, minutes), now_local.tzinfo)


def cutoffs(now: datetime, settings: PrivacySettings) -> tuple[str, str]:
    """ISO UTC times before which unregistered reads are deleted and matched plates stripped."""
    if settings.unregistered_max_age_h > 0:
        unregistered = now - timedelta(hours=settings.unregistered_max_age_h)
    else:
        local = now.astimezone(ZoneInfo(settings.timezone))
        end = _day_end(local, settings.service_day_end)
        # after today's end: everything seen so far; during the day: yesterday and before
        unregistered = end if local >= end else datetime.combine(
            local.date(), time(0, 0), local.tzinfo)
    matched = now - timedelta(days=settings.matched_plate_days)
    return iso(unregistered), iso(matched)


def purge(store: Store, settings: PrivacySettings, now: datetime,
          dry_run: bool = False) -> PurgeReport:
    unregistered, matched = cutoffs(now, settings)
    return store.purge(unregistered, matched, dry_run=dry_run)


class PurgeScheduler:
    """Runs the purge every ``purge_interval_s`` inside ``run`` (and once at start)."""

    def __init__(self, store: Store, settings: PrivacySettings,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 crops: tuple[Path, float] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.crops = crops  # (folder, max age in hours) when debug.save_crops is on
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="purge", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            try:
                report = purge(self.store, self.settings, self.clock())
                if self.crops is not None:
                    purge_crops(*self.crops, now=self.clock().timestamp())
                if report.unregistered_reads_deleted or report.matched_plates_removed:
                    log.info("retention purge: %d unregistered reads deleted, plate text "
                             "removed from %d matched reads", report.unregistered_reads_deleted,
                             report.matched_plates_removed)
            except Exception:
                log.exception("retention purge failed; will retry")
            if self._stop.wait(self.settings.purge_interval_s):
                return
