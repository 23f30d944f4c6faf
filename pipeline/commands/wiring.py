"""The ingest run: a source through the pipeline (built by ``pipeline.assembly``) to the
broker, with status, purge and resume point around it."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from pipeline import assembly
from pipeline.config import Settings
from pipeline.domain import ARRIVAL_STATUSES, Status, day_start, iso, parse_iso, utc_now
from pipeline.events.discovery import discovery_messages
from pipeline.events.mqtt_client import MqttSettings
from pipeline.events.mqtt_publisher import MqttPublisher
from pipeline.frames.grabber import LatestFrameGrabber
from pipeline.frames.sources import open_source, without_password
from pipeline.frames.types import SourceStats
from pipeline.metrics.exporter import RUN as RUN_METRICS
from pipeline.metrics.exporter import start_exporter
from pipeline.privacy.pseudonyms import load_or_create_key
from pipeline.privacy.retention import PurgeScheduler
from pipeline.store.open import describe

if TYPE_CHECKING:
    from pipeline.checkin import RunSummary
    from pipeline.metrics.exporter import Snapshot
    from pipeline.reading.plate_reader import PlateReader
    from pipeline.store.protocol import Store

log = logging.getLogger("kennzeichen-checkin")


def _say_what_matching_has(store: Any, database: str) -> None:
    """A run against a database with no plates reports every car unregistered: most often the
    wrong database (a relative path counts from the folder the command runs in), so say so."""
    plates = store.plates_fingerprint()[0]
    if plates:
        log.info("matching against %d registered plate(s) in %s", plates, describe(database))
    else:
        log.warning("%s holds no registered plates: every car will be reported unregistered. "
                    "Import the customers first (kennzeichen-checkin accounts import FILE), or "
                    "point `database` in the config at the right file (a relative path "
                    "counts from the folder the command runs in)", describe(database))


def run_pipeline(settings: Settings, source_spec: str, mqtt: MqttSettings,
                 stop: threading.Event | None = None, restart: bool = False) -> dict[str, Any]:
    """Run the ingest loop on one source until it ends (or ``stop``), then flush the outbox.
    A folder or file resumes where an interrupted run left it (``restart``: from the top)."""
    from pipeline.checkin import RunSummary, run_source
    from pipeline.events.status import StatusReporter

    stop = stop or threading.Event()
    store = assembly.open_store(settings)
    live = source_spec.isdigit() or "://" in source_spec
    replay_key = None if live else str(Path(source_spec).resolve())
    try:
        start = _resume_point(store, source_spec, replay_key, restart, stop)
        if stop.is_set():  # read completely before (or stopped already): nothing to read
            return _without_reading(settings, source_spec, mqtt, store)
        source: Any = open_source(source_spec, fps=settings.camera.folder_fps, start=start)
    except BaseException:
        store.close()
        raise
    if getattr(source, "live", False):
        source = LatestFrameGrabber(source)  # never fall behind a live camera
    topics = assembly.topics(settings)
    publisher = MqttPublisher(mqtt, store, topics.availability)
    publisher.on_connect_retained = discovery_messages(
        settings.homeassistant, topics, settings.camera.site, settings.camera.id)
    run = _Run(settings, store, source, RunSummary(), publisher, iso(utc_now()))
    purger = PurgeScheduler(store, settings.privacy, crops=assembly.crops_retention(settings))
    status = StatusReporter(topics, settings.camera.id, settings.camera.site, source.stats,
                            run.counters, publisher.publish_retained, settings.status_interval_s)
    exporter = None
    try:
        exporter = start_exporter(RUN_METRICS, run.snapshot, settings.metrics.host,
                                  settings.metrics.port)
        _say_what_matching_has(store, settings.database)
        backlog = store.outbox_depth()
        if backlog:
            log.info("%d event(s) from an earlier run wait in the outbox; sending them first",
                     backlog)
        publisher.start()
        run.reader = reader = assembly.build_reader(settings)
        checkin = assembly.build_checkin(
            settings, reader, store, hmac_key=load_or_create_key(settings.hmac_key_path),
            on_event=lambda _e: publisher.notify(), replay_key=replay_key, stop=stop)
        if exporter is not None:
            reader.observe = checkin.observe = publisher.observe = exporter.observe
        status.start()
        purger.start()
        save = None if replay_key is None else (
            lambda frame, done: store.save_checkpoint(replay_key, frame, done))
        run_source(source, checkin, stop, summary=run.summary, checkpoint=save)
        undelivered = _flush(settings, publisher, store)
        status.stop()
    finally:
        purger.stop()
        publisher.stop()
        if exporter is not None:
            exporter.stop()
        store.close()
    return _report(source_spec, source, run.summary, publisher, undelivered, reader)


@dataclass
class _Run:
    """What one run is made of, as its monitors (heartbeat, metrics) read it."""

    settings: Settings
    store: Store
    source: Any
    summary: RunSummary
    publisher: MqttPublisher
    started_at: str  # ISO UTC: corrections since then are this process's to count
    reader: PlateReader | None = None

    def counters(self) -> dict[str, Any]:
        """The heartbeat's figures."""
        summary, store = self.summary, self.store
        return {"fps": summary.frames / summary.seconds if summary.seconds else 0.0,
                "frames": summary.frames, "dropped": getattr(self.source, "dropped", 0),
                "last_arrival_at": summary.last_arrival_at,
                "outbox_depth": store.outbox_depth(),
                "broker_connected": self.publisher.connected,
                "broker_refused": self.publisher.refused, "unstored": summary.unstored,
                "today": store.read_counts(day_start(self.settings.privacy.timezone))}

    def snapshot(self) -> Snapshot:
        """The metrics' figures at a scrape (see ``pipeline.metrics.exporter.RUN``)."""
        summary, store, stats = self.summary, self.store, self.source.stats
        oldest = store.outbox_oldest()
        age = 0.0 if oldest is None else (utc_now() - parse_iso(oldest)).total_seconds()
        return {"frames": summary.frames, "frames_dropped": getattr(self.source, "dropped", 0),
                "frames_corrupt": stats.corrupt, "camera_reconnects": stats.reconnects,
                "arrivals": {str(s): summary.count(s) for s in ARRIVAL_STATUSES},
                "corrections": store.audit_count(self.started_at),
                "outbox_depth": store.outbox_depth(), "outbox_oldest_age_seconds": max(0.0, age),
                "arrivals_not_stored": summary.unstored,
                "broker_up": float(self.publisher.connected), "camera_up": float(stats.online),
                "recogniser_info": {self.reader.recogniser.name: 1.0} if self.reader else None}



def _flush(settings: Settings, publisher: MqttPublisher, store: Store) -> int:
    """Wait for the broker to take what is in the outbox; say what stays there and why.
    Returns the number of events left."""
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
    return undelivered


def _resume_point(store: Store, source_spec: str, replay_key: str | None, restart: bool,
                  stop: threading.Event) -> int:
    """The frame a file or folder source resumes at (0: from the top; a source finished
    before sets ``stop``)."""
    if replay_key is None or restart:
        return 0
    start, done = store.checkpoint(replay_key)
    if done:
        log.warning("%s was processed completely before; nothing to do (--restart reads "
                    "it again)", source_spec)
        stop.set()
    elif start:
        log.info("resuming %s at frame %d, where the last run stopped", source_spec, start)
    return start


def _without_reading(settings: Settings, source_spec: str, mqtt: MqttSettings,
                     store: Store) -> dict[str, Any]:
    """A run with nothing to read loads no model and opens no source; events an earlier run
    left in the outbox are still sent. Closes the store."""
    from pipeline.checkin import RunSummary

    publisher = MqttPublisher(mqtt, store, None)
    undelivered = store.outbox_depth()
    try:
        if undelivered:
            publisher.start()
            try:
                undelivered = _flush(settings, publisher, store)
            finally:
                publisher.stop()
    finally:
        store.close()
    return _report(source_spec, SimpleNamespace(stats=SourceStats()), RunSummary(), publisher,
                   undelivered, None)


def _report(source_spec: str, source: Any, summary: RunSummary, publisher: MqttPublisher,
            undelivered: int, reader: PlateReader | None) -> dict[str, Any]:
    """What ``run --json`` prints (``recogniser`` None: no model was needed)."""
    timings = reader.timings if reader else None
    return {
        "source": without_password(source_spec),
        "frames": summary.frames,
        "frames_dropped": getattr(source, "dropped", 0),
        "corrupt_frames": summary.corrupt,
        "camera_reconnects": source.stats.reconnects,
        "ended_early_at_frame": source.stats.ended_early_at,
        "arrivals": summary.passages,
        "matched": summary.count(Status.MATCHED),
        "unregistered": summary.count(Status.UNREGISTERED),
        "needs_review": summary.count(Status.NEEDS_REVIEW),
        "published": publisher.published,
        "undelivered": undelivered,
        "broker_refused": publisher.refused,
        "arrivals_not_stored": summary.unstored,
        "seconds": round(summary.seconds, 2),
        "detect_ms_mean": _mean(timings.detect_ms) if timings else None,
        "recognise_ms_mean": _mean(timings.recognise_ms) if timings else None,
        "recogniser": reader.recogniser.name if reader else None,
        "events": [e.payload for e in summary.events],  # the last RECENT_EVENTS
        "source_busy": bool(getattr(source, "busy", False)),  # see cmd_run
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None
