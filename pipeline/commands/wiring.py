"""The composition root: stages built from settings, and the ingest run itself."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import Settings
from pipeline.detection.gate import MotionGate
from pipeline.detection.morphology import MorphologyDetector
from pipeline.detection.roi import RegionOfInterest
from pipeline.events.arrival import Topics
from pipeline.events.mqtt_publisher import MqttPublisher, MqttSettings
from pipeline.frames.grabber import LatestFrameGrabber
from pipeline.frames.sources import open_source
from pipeline.matching.matcher import MATCHED, NEEDS_REVIEW, UNREGISTERED
from pipeline.matching.store_sync import StoreMatcher
from pipeline.plate.districts import district_codes
from pipeline.privacy.debug_crops import CropSaver
from pipeline.privacy.pseudonyms import load_or_create_key
from pipeline.privacy.retention import PurgeScheduler
from pipeline.reading.plate_reader import PlateReader
from pipeline.reading.recognisers import DEFAULT_MODELS_DIR, default_threads, load_recogniser
from pipeline.rectify.rectify import rectify
from pipeline.store.open import describe
from pipeline.store.open import open_store as open_database
from pipeline.store.protocol import Store
from pipeline.tracking.passages import PassageTracker

log = logging.getLogger("kennzeichen-checkin")


def models_dir(settings: Settings) -> Path:
    """Where the German model is read from: ``[reading] models_dir``, else the default."""
    return Path(settings.reading.models_dir) if settings.reading.models_dir \
        else DEFAULT_MODELS_DIR


def build_reader(settings: Settings) -> PlateReader:
    cfg = settings.reading
    models = models_dir(settings)
    recogniser = load_recogniser(models, prefer=cfg.recogniser,
                                 threads=cfg.torch_threads or default_threads())
    # warm up now, not on the first car: the first call builds the network's buffers
    recogniser.recognise(np.full((40, 190, 3), 255, np.uint8))
    roi = RegionOfInterest(settings.camera.roi) if settings.camera.roi else None
    saver = None
    if settings.debug.save_crops:
        log.warning("debug.save_crops is on: plate crops are written to %s and deleted after "
                    "%.0f h", settings.debug.crops_dir, settings.debug.crops_max_age_h)
        saver = CropSaver(Path(settings.debug.crops_dir))
    return PlateReader(MorphologyDetector(), recogniser, district_codes(),
                       max_crops=cfg.max_crops, roi=roi, on_crop=saver,
                       rectifier=rectify if cfg.rectify else None)


def crops_retention(settings: Settings) -> tuple[Path, float] | None:
    debug = settings.debug
    folder = Path(debug.crops_dir)
    return (folder, debug.crops_max_age_h) if debug.save_crops or folder.is_dir() else None


def open_store(settings: Settings) -> Store:
    """SQLite (a path or ``sqlite:///…``) or PostgreSQL (``postgresql://…``)."""
    return open_database(settings.database)


def run_pipeline(settings: Settings, source_spec: str, mqtt: MqttSettings,
                 stop: threading.Event | None = None, restart: bool = False) -> dict[str, Any]:
    """Run the ingest loop on one source until it ends (or ``stop``), then flush the outbox.
    A folder or file resumes where an interrupted run left it (``restart``: from the top)."""
    from pipeline.checkin import CheckIn, RunSummary, run_source
    from pipeline.events.status import StatusReporter

    stop = stop or threading.Event()
    store = open_store(settings)
    live = source_spec.isdigit() or "://" in source_spec
    replay_key = None if live else str(Path(source_spec).resolve())
    start = 0
    if replay_key is not None and not restart:
        start, done = store.checkpoint(replay_key)
        if done:
            log.warning("%s was processed completely before; nothing to do (--restart reads "
                        "it again)", source_spec)
            stop.set()
        elif start:
            log.info("resuming %s at frame %d, where the last run stopped", source_spec, start)
    try:
        source: Any = open_source(source_spec, fps=settings.camera.folder_fps, start=start)
    except BaseException:
        store.close()
        raise
    if getattr(source, "live", False):
        source = LatestFrameGrabber(source)  # never fall behind a live camera
    topics = Topics(settings.prefix, settings.camera.id)
    publisher = MqttPublisher(mqtt, store, topics.availability)
    summary = RunSummary()

    def counters() -> dict[str, float | int | str | None]:
        return {"fps": summary.frames / summary.seconds if summary.seconds else 0.0,
                "frames": summary.frames, "dropped": getattr(source, "dropped", 0),
                "last_arrival_at": summary.last_arrival_at,
                "outbox_depth": store.outbox_depth(), "broker_connected": publisher.connected,
                "broker_refused": publisher.refused, "unstored": summary.unstored}

    purger = PurgeScheduler(store, settings.privacy, crops=crops_retention(settings))
    status = StatusReporter(topics, settings.camera.id, settings.camera.site, source.stats,
                            counters, publisher.publish_retained, settings.status_interval_s)
    try:
        backlog = store.outbox_depth()
        if backlog:
            log.info("%d event(s) from an earlier run wait in the outbox; sending them first",
                     backlog)
        publisher.start()
        reader = build_reader(settings)
        matcher = StoreMatcher(store, settings.matching)
        checkin = CheckIn(reader, PassageTracker(settings.tracking), matcher, store,
                          topics, settings.camera.id, settings.camera.site,
                          hmac_key=load_or_create_key(settings.hmac_key_path),
                          on_event=lambda _e: publisher.notify(),
                          detail=settings.privacy.matched_payload,
                          gate=MotionGate() if settings.reading.motion_gate else None,
                          replay_key=replay_key, stop=stop)
        status.start()
        purger.start()
        save = None if replay_key is None else (
            lambda frame, done: store.save_checkpoint(replay_key, frame, done))
        run_source(source, checkin, stop, summary=summary, checkpoint=save)
        delivered = publisher.flush(settings.flush_timeout_s)
        undelivered = store.outbox_depth()
        if publisher.refused is not None:
            log.error("%d event(s) stay in the outbox %s: the broker refused them (%s); fix "
                      "the broker's ACL or the topic settings and start again to send them",
                      undelivered, describe(settings.database), publisher.refused)
        elif not delivered:
            log.warning("%d event(s) not acknowledged by the broker within %.0f s; they stay in "
                        "the outbox %s and are sent on the next start", undelivered,
                        settings.flush_timeout_s, describe(settings.database))
        status.stop()
    finally:
        purger.stop()
        publisher.stop()
        store.close()
    timings = reader.timings
    return {
        "source": source_spec,
        "frames": summary.frames,
        "frames_dropped": getattr(source, "dropped", 0),
        "corrupt_frames": summary.corrupt,
        "camera_reconnects": source.stats.reconnects,
        "ended_early_at_frame": source.stats.ended_early_at,
        "arrivals": summary.passages,
        "matched": summary.count(MATCHED),
        "unregistered": summary.count(UNREGISTERED),
        "needs_review": summary.count(NEEDS_REVIEW),
        "published": publisher.published,
        "undelivered": undelivered,
        "broker_refused": publisher.refused,
        "arrivals_not_stored": summary.unstored,
        "seconds": round(summary.seconds, 2),
        "detect_ms_mean": _mean(timings.detect_ms),
        "recognise_ms_mean": _mean(timings.recognise_ms),
        "recogniser": reader.recogniser.name,
        "events": [e.payload for e in summary.events],  # the last RECENT_EVENTS
        "source_busy": bool(getattr(source, "busy", False)),  # see cmd_run
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None
