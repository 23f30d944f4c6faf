"""The composition root: the pipeline's stages built from ``Settings``, in one place.

``run``, ``demo``, ``read``, ``eval``, the console and the real-time benchmark all build their
stages here, so a setting (the matching thresholds, the payload detail, the dedup window, the
region of interest) applies wherever the stage runs, and a new stage is wired once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pipeline.checkin import CheckIn
from pipeline.config import Settings
from pipeline.detection.gate import MotionGate
from pipeline.detection.morphology import MorphologyDetector
from pipeline.detection.roi import RegionOfInterest
from pipeline.domain import Status
from pipeline.events.arrival import ArrivalEvent
from pipeline.events.topics import Topics
from pipeline.matching.store_sync import StoreMatcher
from pipeline.plate.districts import district_codes
from pipeline.privacy.debug_crops import CropSaver
from pipeline.reading.plate_reader import PlateReader
from pipeline.reading.recognisers import DEFAULT_MODELS_DIR, default_threads, load_recogniser
from pipeline.rectify.rectify import rectify
from pipeline.store.open import open_store as open_database
from pipeline.store.protocol import Store
from pipeline.tracking.passages import PassageTracker

log = logging.getLogger("kennzeichen-checkin")


def models_dir(settings: Settings) -> Path:
    """Where the German model is read from: ``[reading] models_dir``, else the default."""
    return Path(settings.reading.models_dir) if settings.reading.models_dir \
        else DEFAULT_MODELS_DIR


def build_reader(settings: Settings) -> PlateReader:
    """Detector, rectifier and recogniser (loaded and warmed up) behind the grammar."""
    cfg = settings.reading
    recogniser = load_recogniser(models_dir(settings), prefer=cfg.recogniser,
                                 threads=cfg.torch_threads or default_threads())
    # warm up now, not on the first car: the first call builds the network's buffers
    recogniser.recognise(np.full((40, 190, 3), 255, np.uint8))
    roi = RegionOfInterest(settings.camera.roi) if settings.camera.roi else None
    saver = None
    if settings.debug.save_crops:
        log.warning("debug.save_crops is on: plate crops are written to %s and deleted after "
                    "%.0f h", settings.debug.crops_dir, settings.debug.crops_max_age_h)
        saver = CropSaver(Path(settings.debug.crops_dir))
    return PlateReader(MorphologyDetector(settings.detection), recogniser, district_codes(),
                       max_crops=cfg.max_crops, roi=roi, on_crop=saver,
                       budget_ms=cfg.budget_ms, stop_confidence=cfg.stop_confidence,
                       rectifier=rectify if cfg.rectify else None)


def open_store(settings: Settings) -> Store:
    """SQLite (a path or ``sqlite:///…``) or PostgreSQL (``postgresql://…``)."""
    return open_database(settings.database)


def build_matcher(settings: Settings, store: Store) -> StoreMatcher:
    """The matcher over the store's registered plates, with ``[matching]``'s thresholds."""
    return StoreMatcher(store, settings.matching)


def crops_retention(settings: Settings) -> tuple[Path, float] | None:
    """The debug crops' folder and maximum age, when there are crops to purge."""
    debug = settings.debug
    folder = Path(debug.crops_dir)
    return (folder, debug.crops_max_age_h) if debug.save_crops or folder.is_dir() else None


def build_checkin(settings: Settings, reader: PlateReader, store: Store, *, hmac_key: bytes,
                  on_event: Callable[[ArrivalEvent], None] | None = None,
                  replay_key: str | None = None,
                  stop: threading.Event | None = None) -> CheckIn:
    """The ingest loop for the configured camera: tracker, matcher, topics, payload detail,
    motion gate and dedup window from ``settings``; the reader and store as given (they are
    opened, and closed, by the caller)."""
    return CheckIn(reader, PassageTracker(settings.tracking), build_matcher(settings, store),
                   store, topics(settings), settings.camera.id, settings.camera.site,
                   hmac_key=hmac_key, on_event=on_event,
                   detail=settings.privacy.matched_payload,
                   gate=MotionGate(settings.gate) if settings.reading.motion_gate else None,
                   replay_key=replay_key, stop=stop, dedup_s=settings.tracking.dedup_s,
                   evidence_for=frozenset({Status.NEEDS_REVIEW, Status.UNREGISTERED}
                                          if settings.privacy.evidence_unregistered
                                          else {Status.NEEDS_REVIEW}))


def topics(settings: Settings) -> Topics:
    """This camera's MQTT topics under ``prefix``."""
    return Topics(settings.prefix, settings.camera.id)
