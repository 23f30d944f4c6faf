"""The ingest loop: frames -> plate reads -> passages -> account match -> outbox -> MQTT."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.detection.gate import MotionGate
from pipeline.domain import OutboxItem, ReadRecord, StageObserver, Status, iso, utc_now
from pipeline.events.arrival import ArrivalEvent, arrival_payload, build_arrival
from pipeline.events.topics import Topics
from pipeline.frames.types import Frame, FrameSource
from pipeline.matching.matcher import Candidate, Matcher
from pipeline.privacy import evidence
from pipeline.privacy.pseudonyms import plate_pseudonym
from pipeline.reading.plate_reader import PlateReader
from pipeline.store.errors import store_error_hint
from pipeline.store.protocol import DuplicateError, Store
from pipeline.tracking.passages import (
    Passage,
    PassageTracker,
    TrackerConfig,
    UnreadCar,
    read_unsettled,
)

log = logging.getLogger(__name__)


# A run on a live camera lasts weeks: the summary keeps counts of every arrival but only the
# most recent events themselves.
RECENT_EVENTS = 10_000


@dataclass
class RunSummary:
    frames: int = 0
    corrupt: int = 0
    seconds: float = 0.0
    last_arrival_at: float | None = None
    events: deque[ArrivalEvent] = field(default_factory=lambda: deque(maxlen=RECENT_EVENTS))
    statuses: Counter[str] = field(default_factory=Counter)
    unstored: int = 0  # arrivals the store could not take before the run ended

    def add(self, events: list[ArrivalEvent]) -> None:
        self.events.extend(events)
        self.statuses.update(str(e.payload["status"]) for e in events)

    @property
    def passages(self) -> int:
        return sum(self.statuses.values())

    def count(self, status: str) -> int:
        return self.statuses[status]


class CheckIn:
    """Turns frames into stored, queued arrival events. Pure orchestration: every stage is
    injected, so tests can swap any of them."""

    def __init__(self, reader: PlateReader, tracker: PassageTracker, matcher: Matcher,
                 store: Store, topics: Topics, camera_id: str, site: str,
                 hmac_key: bytes, on_event: Callable[[ArrivalEvent], None] | None = None,
                 clock: Callable[[], datetime] = utc_now, detail: str = "full",
                 gate: MotionGate | None = None, replay_key: str | None = None,
                 stop: threading.Event | None = None,
                 dedup_s: float = TrackerConfig.dedup_s,
                 evidence_for: frozenset[str] = frozenset({Status.NEEDS_REVIEW})) -> None:
        """``stop``: once set, the frame in hand is not read further (a stop within a
        second, not after every candidate of a busy frame). ``dedup_s``: a customer's same
        car announced again within it is the same visit (``[tracking] dedup_s``; the tracker
        keeps one car's track together, this window also covers a second track of it and,
        through the store, the other cameras). ``evidence_for``: statuses whose plate crops
        are kept for the operator's decision (``pipeline.privacy.evidence``)."""
        self.reader = reader
        self.evidence_for = evidence_for
        self.stop = stop
        self.gate = gate
        # Files and folders can be replayed after a crash: their ids are derived from the
        # passage, so a replayed passage is recognised as already recorded.
        self.replay_key = replay_key
        self.dedup_s = dedup_s
        self.tracker = tracker
        self.matcher = matcher
        self.store = store
        self.topics = topics
        self.camera_id = camera_id
        self.site = site
        self.hmac_key = hmac_key
        self.on_event = on_event
        self.clock = clock
        self.detail = detail
        self._stream_origin: tuple[float, datetime] | None = None
        self._announced: dict[tuple[str, str | None], float] = {}
        self.timings: dict[str, deque[float]] = {
            k: deque(maxlen=10_000) for k in ("gate", "read", "vote", "match", "store")}
        self.gated = 0  # frames the motion gate spared
        self.observe: StageObserver | None = None  # the metrics' stage latencies
        # passages the store could not take (a database server away): kept, in order, and
        # recorded first thing on the next frame
        self.parked: deque[_Unrecorded] = deque()
        self.store_problem = ""  # why the store refused the last write, with what to do
        # (timestamp, number) of the frames since the resume point, to name its frame
        self._since_resume: deque[tuple[float, int]] = deque()

    def _timed(self, stage: str, t0: float) -> float:
        now = time.perf_counter()
        self.timings[stage].append(1000 * (now - t0))
        if self.observe is not None:
            self.observe(stage, now - t0)
        return now

    def process(self, frame: Frame) -> list[ArrivalEvent]:
        if self._stream_origin is None:
            self._stream_origin = (frame.timestamp, self.clock())
        if self.replay_key is not None:  # a file or folder: it has a resume point
            self._since_resume.append((frame.timestamp, frame.number))
        earlier = self.record_parked()
        t = time.perf_counter()
        if self.gate is not None:
            moving = self.gate.moving(frame.image, frame.timestamp)
            t = self._timed("gate", t)
            if not moving:
                self.gated += 1
                return earlier + self._emit_all(self.tracker.update(frame.timestamp, []))
        reads = read_unsettled(self.reader, self.tracker, frame.image, frame.timestamp,
                               self._stopping)
        t = self._timed("read", t)
        passages = self.tracker.update(frame.timestamp, reads)
        self._timed("vote", t)
        return earlier + self._emit_all(passages)

    def resume_point(self, next_frame: int) -> int | None:
        """The frame a file run may resume at after the frames processed so far: the next
        one when no car is in view, else where the tracker says every car in view is met
        from its first read again (busy traffic never leaves the entrance empty); None
        while arrivals wait to be stored."""
        if self.parked:
            return None
        since = self.tracker.resume_from()
        frames = self._since_resume
        if since is None:
            frames.clear()
            return next_frame
        while len(frames) > 1 and frames[0][0] < since:
            frames.popleft()
        return frames[0][1] if frames and frames[0][0] == since else None

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def finish(self) -> list[ArrivalEvent]:
        """Emit the cars still in view. Passages the store still refuses stay in ``parked``:
        a file or folder is read again from before them at the next start; a live camera's
        are lost."""
        events = self.record_parked() + self._emit_all(self.tracker.flush())
        if self.parked and self.replay_key is not None:
            log.error("%d arrival(s) could not be stored (%s); the resume point stays before "
                      "them: fix it and run again, they are read again then", len(self.parked),
                      self.store_problem)
        elif self.parked:
            log.error("%d arrival(s) could not be stored (%s) and are lost with this stop",
                      len(self.parked), self.store_problem)
        return events

    def _emit_all(self, passages: list[Passage]) -> list[ArrivalEvent]:
        """The arrivals of the passages the tracker voted, then of the cars it saw whose
        plate it never read (for the operator, with their crops)."""
        events = [self._emit(p) for p in passages]
        events += [self._emit_unread(car) for car in self.tracker.take_unread()]
        return [e for e in events if e is not None]

    def record_parked(self) -> list[ArrivalEvent]:
        """Store the parked passages, oldest first, until the store refuses again."""
        events = []
        while self.parked:
            item = self.parked[0]
            stored = self._record(item)
            if stored is None:
                break
            self.parked.popleft()
            if stored:
                events.append(self._announce(item))
        if events:
            log.info("database back: %d parked arrival(s) stored", len(events))
        return events

    def _seen_at(self, first_seen: float) -> datetime:
        if self._stream_origin is None:
            return self.clock()
        t0, wall = self._stream_origin
        return wall + timedelta(seconds=first_seen - t0)

    def _ids(self, first_seen: float, what: str) -> tuple[str, str]:
        """(event id, read id) of a car first seen at ``first_seen``. When a file may be
        replayed they are derived from that time and ``what`` was read (the plate, or
        ``unread``), so a replayed car is recognised as recorded; else random."""
        if self.replay_key is None:
            return str(uuid.uuid4()), uuid.uuid4().hex[:12]
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"kennzeichen:{self.camera_id}:"
                                  f"{self.replay_key}:{first_seen:.3f}:{what}"))
        return event_id, event_id.replace("-", "")[:12]

    def _duplicate(self, passage: Passage, key: tuple[str, str | None]) -> bool:
        """The same customer's same car announced within the dedup window (e.g. a second
        track of one car whose misread matched fuzzily); a second car is a new arrival."""
        window = self.dedup_s
        self._announced = {k: t for k, t in self._announced.items()
                           if passage.first_seen - t <= window}
        duplicate = key in self._announced
        self._announced[key] = passage.last_seen
        return duplicate

    def _emit(self, passage: Passage) -> ArrivalEvent | None:
        t = time.perf_counter()
        match = self.matcher.match(passage.plate, passage.ambiguous, passage.evidence,
                                   passage.scores, passage.spurious)
        t = self._timed("match", t)
        if match.status == Status.MATCHED and match.account is not None and self._duplicate(
                passage, (match.account.customer_number, match.plate)):
            log.info("customer %s seen again within %.0f s: same visit, not announced again",
                     match.account.customer_number, self.dedup_s)
            return None
        seen_at = self._seen_at(passage.first_seen)
        event_id, read_id = self._ids(passage.first_seen, passage.plate.compact)
        event = build_arrival(passage, match, camera_id=self.camera_id, site=self.site,
                              seen_at=seen_at, read_id=read_id, detail=self.detail,
                              event_id=event_id)
        pseudonym = plate_pseudonym(self.hmac_key, passage.plate.compact)
        matched = match.status == Status.MATCHED and match.account is not None
        record = ReadRecord(
            read_id=read_id, seen_at=iso(seen_at), camera_id=self.camera_id,
            plate_display=passage.plate.display, plate_compact=passage.plate.compact,
            confidence=passage.confidence, status=match.status,
            customer_number=match.account.customer_number if matched and match.account
            else None,
            event_id=event.event_id, plate_hmac=pseudonym,
            uncertain=",".join(map(str, passage.uncertain)) or None,
            matched_plate_hmac=plate_pseudonym(self.hmac_key, match.plate)
            if matched and match.plate else None,
            candidates=ranked_candidates(match.candidates)
            if match.status == Status.NEEDS_REVIEW else None)
        crops = evidence.encode(passage.crops) if match.status in self.evidence_for else ()
        item = _Unrecorded(record, OutboxItem(0, event.event_id, self.topics.arrival,
                                              event.to_json()), event, matched, crops)
        return self._store(item, t)

    def _emit_unread(self, car: UnreadCar) -> ArrivalEvent | None:
        """A car whose plate was never read: an arrival for review, with no plate and no
        account, and its crops for the operator, who reads the plate off them."""
        t = time.perf_counter()
        seen_at = self._seen_at(car.first_seen)
        event_id, read_id = self._ids(car.first_seen, "unread")
        status = Status.NEEDS_REVIEW
        event = ArrivalEvent(event_id, read_id, arrival_payload(
            event_id=event_id, read_id=read_id, seen_at=seen_at, site=self.site,
            camera_id=self.camera_id, status=status, confidence=car.confidence,
            account=None, plate_display=None, detail=self.detail))
        record = ReadRecord(read_id=read_id, seen_at=iso(seen_at), camera_id=self.camera_id,
                            plate_display=None, plate_compact=None,
                            confidence=car.confidence, status=status, customer_number=None,
                            event_id=event_id)
        crops = evidence.encode(car.crops) if status in self.evidence_for else ()
        item = _Unrecorded(record, OutboxItem(0, event_id, self.topics.arrival,
                                              event.to_json()), event, False, crops)
        return self._store(item, t)

    def _store(self, item: _Unrecorded, t: float) -> ArrivalEvent | None:
        """Store a car's arrival and announce it; behind parked ones it waits its turn (the
        outbox keeps their order)."""
        stored = None if self.parked else self._record(item)
        self._timed("store", t)
        if stored is None:
            self.parked.append(item)
            return None
        return self._announce(item) if stored else None

    def _record(self, item: _Unrecorded) -> bool | None:
        """Store one passage and its event: True when stored, False when it was not to be
        announced (another camera's, or stored before a restart), None when the store is
        unreachable (the passage stays parked)."""
        record = item.record
        try:
            # the shared store also knows what the other cameras announced (cross-camera dedup)
            if not self.store.record_passage(
                    record, item.outbox,
                    dedup_s=self.dedup_s if item.matched else 0.0):
                log.info("customer %s announced by another camera within %.0f s: same visit",
                         record.customer_number, self.dedup_s)
                return False
        except DuplicateError:
            if self.replay_key is None:
                raise
            log.info("passage %s was recorded before the restart; not announced again",
                     item.event.event_id[:8])
            return False
        except Exception as exc:  # noqa: BLE001 - any engine's "server gone" error
            if not self.parked:
                self.store_problem = store_error_hint(exc)
                log.error("cannot store arrival %s (%s): %s; keeping it and retrying with every "
                          "frame", item.event.event_id[:8], exc, self.store_problem)
            return None
        if item.crops:
            try:
                self.store.keep_evidence(record.read_id, item.crops)
            except Exception as exc:  # noqa: BLE001 - the arrival counts, the image is extra
                log.warning("could not keep the plate crop of read %s (%s); the operator sees "
                            "no image for it", record.read_id, exc)
        return True

    def _announce(self, item: _Unrecorded) -> ArrivalEvent:
        record, event = item.record, item.event
        who = f"customer {record.customer_number}" if item.matched \
            else record.status.replace("_", " ")
        # no plate text in logs: the keyed pseudonym identifies the car for support
        plate = f"plate#{record.plate_hmac}" if record.plate_hmac else "no plate read"
        log.info("arrival %s (read %s): %s, %s, confidence %.2f", event.event_id[:8],
                 record.read_id, who, plate, record.confidence)
        if self.on_event is not None:
            self.on_event(event)
        return event


def ranked_candidates(candidates: Sequence[Candidate], limit: int = 5) -> str | None:
    """The customers a car for review most likely is, likeliest first, as the store keeps
    them: JSON ``[[customer number, score], ...]``, the score the matcher's log-likelihood
    (plate model) or the negative text cost (stock model). One entry per customer."""
    scored = [(c.customer_number, c.log_likelihood if c.log_likelihood is not None
               else -c.cost) for c in candidates]
    best: dict[str, float] = {}
    for customer, score in scored:
        best[customer] = max(score, best.get(customer, -math.inf))
    ranked = sorted(best.items(), key=lambda item: -item[1])[:limit]
    return json.dumps([[c, round(v, 3)] for c, v in ranked]) if ranked else None


@dataclass
class _Unrecorded:
    """A passage ready to be stored, with its event."""

    record: ReadRecord
    outbox: OutboxItem
    event: ArrivalEvent
    matched: bool
    crops: tuple[bytes, ...] = ()  # JPEG evidence for the operator (needs_review)


class _ResumePoint:
    """Saves where a file or folder run may resume, holding a save the store refused and
    trying it again with the next one (a database briefly not writable never ends a run)."""

    def __init__(self, save: Callable[[int, bool], None]) -> None:
        self._save = save
        self.failing = False

    def save(self, next_frame: int, done: bool = False) -> bool:
        try:
            self._save(next_frame, done)
        except Exception as exc:  # noqa: BLE001 - any engine's write error
            if not self.failing:
                self.failing = True
                log.error("cannot save the resume point (%s): %s; the run goes on and saves it "
                          "with a later frame", exc, store_error_hint(exc))
            return False
        if self.failing:
            self.failing = False
            log.info("resume point saved again (frame %d)", next_frame)
        return True


def _close_on_stop(source: FrameSource, stop: threading.Event,
                   ended: threading.Event) -> threading.Thread:
    """Close ``source`` as soon as ``stop`` is set, so that a source waiting for a camera
    that is down (reconnect backoff, no frames) ends its ``frames()`` at once."""
    def watch() -> None:
        while not ended.is_set():
            if stop.wait(0.1):
                source.close()
                return

    thread = threading.Thread(target=watch, name="stop-watch", daemon=True)
    thread.start()
    return thread


def run_source(source: FrameSource, checkin: CheckIn, stop: threading.Event,
               progress_every: int = 50, summary: RunSummary | None = None,
               checkpoint: Callable[[int, bool], None] | None = None) -> RunSummary:
    """Feed every frame of ``source`` through ``checkin`` until it ends or ``stop`` is set.
    A frame that fails in a stage is logged and skipped; the loop keeps going. ``summary``
    is updated as it goes, so a status thread can read it. ``checkpoint(next_frame, done)``
    is told where a file may resume whenever that moves (every arrival before it stored, no
    car straddling it); ``done`` only when the source ended and nothing is unstored."""
    summary = summary if summary is not None else RunSummary()
    resume = _ResumePoint(checkpoint) if checkpoint is not None else None
    started = time.monotonic()
    saved: int | None = None  # the resume point last saved (only a change is written)
    ended = threading.Event()
    _close_on_stop(source, stop, ended)
    try:
        for frame in source.frames():
            if stop.is_set():
                break
            summary.frames += 1
            try:
                events = checkin.process(frame)
            except Exception:
                log.exception("frame %d (%s) failed; skipped", frame.number, frame.origin)
                continue
            if events:
                summary.add(events)
                summary.last_arrival_at = time.time()
            summary.unstored = len(checkin.parked)
            point = checkin.resume_point(frame.number + 1) if resume is not None else None
            if resume is not None and point is not None and (point != saved or resume.failing):
                saved = point if resume.save(point) else saved
            summary.seconds = time.monotonic() - started
            if progress_every and summary.frames % progress_every == 0:
                log.info("%d frames, %d arrivals so far", summary.frames, summary.passages)
    finally:
        ended.set()
        source.close()
    summary.add(checkin.finish())
    summary.unstored = len(checkin.parked)
    if resume is not None and not stop.is_set() and not checkin.parked:
        resume.save(-1, True)
    summary.corrupt = source.stats.corrupt
    summary.seconds = time.monotonic() - started
    return summary
