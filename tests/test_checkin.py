"""The ingest loop's own rules, with small fakes for the reader (real SQLite store)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.checkin import CheckIn
from pipeline.detection.types import Box
from pipeline.domain import Account
from pipeline.events.topics import Topics
from pipeline.frames.types import Frame
from pipeline.matching.fuzzy import MatchThresholds
from pipeline.matching.store_sync import StoreMatcher
from pipeline.plate.grammar import Plate
from pipeline.reading.plate_reader import PlateRead
from pipeline.store.sqlite_store import SqliteStore
from pipeline.tracking.passages import PassageTracker, TrackerConfig

ANNA = Account("10001", "Anna", ("OFAB123", "OFE2345E"), "", ("OF-AB 123", "OF-E 2345E"))


class ScriptedReader:
    """Returns a scripted list of reads per frame number (the real reader is tested with
    real weights elsewhere)."""

    def __init__(self, script: dict[int, list[PlateRead]]) -> None:
        self.script = script
        self.frame = 0

    def read(self, image: np.ndarray, skip: Any = None) -> list[PlateRead]:
        self.frame += 1
        reads = self.script.get(self.frame - 1, [])
        return [r for r in reads if skip is None or not skip(r.box)]


def seen(plate: Plate, x: int, confidence: float = 0.95, shade: int = 0) -> PlateRead:
    crop = np.full((30, 120, 3), shade, np.uint8)  # what the reader saw, told apart by shade
    return PlateRead(Box(x, 500, 120, 30), plate.compact, confidence, plate, crop=crop)


def run(tmp_path: Path, script: dict[int, list[PlateRead]], frames: int,
        agree: int = 1, thresholds: MatchThresholds | None = None) -> list[dict[str, Any]]:
    store = SqliteStore(tmp_path / "c.sqlite3")
    store.import_accounts([ANNA])
    reader: Any = ScriptedReader(script)
    tracker = PassageTracker(TrackerConfig(agree=agree, min_reads=1))
    checkin = CheckIn(reader, tracker, StoreMatcher(store, thresholds), store, Topics("t"),
                      "cam", "site", hmac_key=b"k" * 32)
    image = np.zeros((4, 4, 3), np.uint8)
    events = []
    for n in range(frames):
        events += checkin.process(Frame(n, n * 0.2, image))
    events += checkin.finish()
    store.close()
    return [e.payload for e in events]


ANNA_PLATE = Plate("OF", "AB", "123")
MISREAD = Plate("OF", "A8", "123")  # one confusion from Anna's plate
# other reads of the same car: each has Anna's B where the misread has 8
PARTLY_RIGHT = Plate("OF", "AB", "128")
ALSO_PARTLY_RIGHT = Plate("OF", "AB", "723")
# A car whose every read is one 3/8 away from Anna's plate: too doubtful for either text rule
# (8 nats for the text likelihood, above the cost rule's slack), so an operator decides.
DOUBTFUL = Plate("OF", "AB", "128")


def test_same_customer_same_car_twice_is_one_arrival_second_car_is_another(
        tmp_path: Path) -> None:
    second_car = Plate("OF", "E", "2345", "E")
    # a second track of Anna's car whose reads fuzzy-match her plate
    script = {0: [seen(ANNA_PLATE, 100)], 1: [seen(MISREAD, 900)],
              2: [seen(PARTLY_RIGHT, 900)], 5: [seen(second_car, 500)]}
    events = run(tmp_path, script, 8, agree=2)
    assert [(e["status"], e["plate"]) for e in events] == [
        ("matched", "OF-AB 123"), ("matched", "OF-E 2345E")]


def test_misread_outvoted_character_by_character_announces_the_registered_plate(
        tmp_path: Path) -> None:
    script = {0: [seen(MISREAD, 100)], 1: [seen(PARTLY_RIGHT, 100)],
              2: [seen(ALSO_PARTLY_RIGHT, 100)]}
    events = run(tmp_path, script, 3, agree=3)
    assert [(e["status"], e["plate"]) for e in events] == [("matched", "OF-AB 123")]


def test_a_confusion_every_read_repeats_goes_to_review_not_to_the_customer(
        tmp_path: Path) -> None:
    """Three reads agreeing on OF-A8 123 look exactly like an unregistered car one confusion
    away from Anna's: the cost rule lets an operator decide."""
    events = run(tmp_path, {n: [seen(MISREAD, 100)] for n in range(3)}, 3, agree=3,
                 thresholds=MatchThresholds(text_rule="cost"))
    assert [e["status"] for e in events] == ["needs_review"]
    assert "plate" not in events[0] and "account" not in events[0]


def test_a_confusion_every_read_repeats_is_weighed_by_the_prior(tmp_path: Path) -> None:
    """The text likelihood (default) counts the repeated confusion once and lets the prior
    decide: no customer has an OF plate of one letter and four digits (OF-A 8123), so an
    unregistered car with exactly that plate is far less likely than Anna's misread; a
    read 3/8 away is not clear enough."""
    events = run(tmp_path, {n: [seen(MISREAD, 100)] for n in range(3)}, 3, agree=3)
    assert [(e["status"], e["plate"]) for e in events] == [("matched", "OF-AB 123")]
    (tmp_path / "doubtful").mkdir()
    events = run(tmp_path / "doubtful", {n: [seen(DOUBTFUL, 100)] for n in range(3)}, 3,
                 agree=3)
    assert [e["status"] for e in events] == ["needs_review"]


def test_a_read_too_far_from_any_plate_to_be_sure_goes_to_review_without_plate_text(
        tmp_path: Path) -> None:
    """OF-AB 127 read once: Anna's OF-AB 123 is one arbitrary substitution away (12 nats),
    too far to check her in, too near to call the car unregistered."""
    events = run(tmp_path, {0: [seen(Plate("OF", "AB", "127"), 100)]}, 1)
    assert events[0]["status"] == "needs_review"
    assert "plate" not in events[0] and "account" not in events[0]


class StoreThatGoesAway:
    """The real SQLite store behind a switch: while ``down``, recording fails the way a
    database server that went away does."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.down = False

    def record_passage(self, *args: Any, **kwargs: Any) -> bool:
        if self.down:
            raise sqlite3.OperationalError("server closed the connection unexpectedly")
        return self.store.record_passage(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_arrivals_wait_for_a_database_that_went_away_and_are_stored_in_order(
        tmp_path: Path) -> None:
    real = SqliteStore(tmp_path / "c.sqlite3")
    real.import_accounts([ANNA])
    store: Any = StoreThatGoesAway(real)
    script = {0: [seen(ANNA_PLATE, 100)], 3: [seen(Plate("F", "X", "1"), 500)],
              6: [seen(Plate("GG", "WS", "4711"), 900)]}
    checkin = CheckIn(ScriptedReader(script), PassageTracker(TrackerConfig(agree=1,
                                                                           min_reads=1)),
                      StoreMatcher(real), store, Topics("t"), "cam", "site", hmac_key=b"k" * 32)
    image = np.zeros((4, 4, 3), np.uint8)
    events = checkin.process(Frame(0, 0.0, image))
    assert len(events) == 1
    store.down = True
    for n in range(1, 9):  # two passages while the database is away: none lost, none sent
        events += checkin.process(Frame(n, n * 0.2, image))
    assert len(events) == 1 and len(checkin.parked) == 2
    assert real.outbox_depth() == 1
    store.down = False
    events += checkin.process(Frame(9, 1.8, image))
    assert len(events) == 3 and not checkin.parked
    assert [e.payload["status"] for e in events] == ["matched", "unregistered", "unregistered"]
    assert [i.event_id for i in real.pending()] == [e.event_id for e in events]
    real.close()


def test_resume_point_moves_in_busy_traffic_but_never_into_a_car() -> None:
    """Cars closer together than gap_s never leave the entrance empty: the resume point
    still moves, to the first read of the car longest in view, and never past a car that
    was in view then (it would be met half-way after a restart: a second id)."""
    tracker = PassageTracker(TrackerConfig(gap_s=2.0, agree=3))
    a, b, c = Plate("OF", "AB", "123"), Plate("F", "X", "1"), Plate("DA", "Q", "77")
    reads = {0: [seen(a, 100)], 1: [seen(a, 110)], 2: [seen(a, 120)],
             3: [seen(b, 400)], 4: [seen(b, 410)], 5: [seen(b, 420)], 6: [seen(b, 430)],
             7: [seen(c, 700)], 8: [seen(c, 710)]}
    points = {}
    for t in range(12):
        tracker.update(float(t), reads.get(t, []))
        points[t] = tracker.resume_from()
    # a in view from 0 (until gap_s after its last read at 2), b from 3, c from 7: there is
    # always a car in view until 11, yet the point moves on as each car leaves
    assert [points[t] for t in (0, 4, 5, 8, 9, 10)] == [0.0, 0.0, 3.0, 3.0, 7.0, 7.0]
    assert points[11] is None  # nobody in view: after the present frame
    # a car still in view when the point would pass it holds the point at its first read
    tracker = PassageTracker(TrackerConfig(gap_s=2.0, agree=3))
    for t, read in ((0, seen(a, 100)), (1, seen(a, 110)), (1, seen(b, 400)),
                    (2, seen(b, 410)), (3, seen(b, 420))):
        tracker.update(float(t), [read])
    tracker.update(4.0, [seen(b, 430)])  # a gone (last read 1), b from 1: a straddles 1
    assert tracker.resume_from() == 0.0


def test_a_car_for_review_keeps_its_best_crops_for_the_operator_and_others_keep_none(
        tmp_path: Path) -> None:
    """Issue 24: the operator decides by what the camera saw, so a needs_review car keeps
    its most confident crops (best first, at most three); a matched car keeps none."""
    from pipeline.privacy.evidence import decode

    script = {n: [seen(DOUBTFUL, 100, 0.5 + 0.1 * n, shade=40 * n)] for n in range(5)}
    script[8] = [seen(ANNA_PLATE, 700)]
    events = run(tmp_path, script, 10, agree=5)
    assert [e["status"] for e in events] == ["needs_review", "matched"]
    store = SqliteStore(tmp_path / "c.sqlite3")
    kept = store.evidence(events[0]["read_id"])
    assert store.evidence_reads() == {events[0]["read_id"]: 3}
    store.close()
    shades = [int(decode(jpeg).mean()) for jpeg in kept]  # type: ignore[union-attr]
    assert [round(s / 40) for s in shades] == [4, 3, 2]


def test_a_car_for_review_keeps_its_likeliest_customers_for_the_operator(
        tmp_path: Path) -> None:
    """Issue 26: the console's candidate list comes from the matcher's own ranking."""
    import json

    from pipeline.checkin import ranked_candidates
    from pipeline.matching.matcher import Candidate

    events = run(tmp_path, {n: [seen(DOUBTFUL, 100)] for n in range(3)}, 3, agree=3)
    store = SqliteStore(tmp_path / "c.sqlite3")
    read = store.read(events[0]["read_id"])
    store.close()
    assert read is not None and [c for c, _ in json.loads(read.candidates or "")] == ["10001"]
    ranked = ranked_candidates([Candidate("OFAB123", "1", 0.3, -9.0),
                                Candidate("OFAB128", "2", 0.6, -2.5),
                                Candidate("OFE2345E", "1", 2.0, -1.0)])
    assert json.loads(ranked or "") == [["1", -1.0], ["2", -2.5]]  # likeliest first, once each
    assert ranked_candidates([]) is None


def test_a_crop_the_store_cannot_keep_never_costs_the_arrival(tmp_path: Path) -> None:
    """Issue 24, faults: evidence is extra; the car is announced and stored without it."""
    store = SqliteStore(tmp_path / "c.sqlite3")
    store.import_accounts([ANNA])

    def refuse(read_id: str, crops: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    store.keep_evidence = refuse  # type: ignore[method-assign]
    reader: Any = ScriptedReader({n: [seen(DOUBTFUL, 100)] for n in range(3)})
    checkin = CheckIn(reader, PassageTracker(TrackerConfig(agree=3, min_reads=1)),
                      StoreMatcher(store), store, Topics("t"), "cam", "site", hmac_key=b"k" * 32)
    events = [e for n in range(3) for e in checkin.process(Frame(n, n * 0.2, np.zeros((4, 4, 3),
                                                                                      np.uint8)))]
    events += checkin.finish()
    assert [e.payload["status"] for e in events] == ["needs_review"]
    assert store.read(events[0].payload["read_id"]) is not None and store.outbox_depth() == 1
    store.close()
