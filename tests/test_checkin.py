"""The ingest loop's own rules, with small fakes for the reader (real SQLite store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipeline.checkin import CheckIn
from pipeline.detection.types import Box
from pipeline.events.arrival import Topics
from pipeline.frames.types import Frame
from pipeline.matching.store_sync import StoreMatcher
from pipeline.plate.grammar import Plate
from pipeline.reading.plate_reader import PlateRead
from pipeline.store.accounts_csv import Account
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


def seen(plate: Plate, x: int) -> PlateRead:
    return PlateRead(Box(x, 500, 120, 30), plate.compact, 0.95, plate)


def run(tmp_path: Path, script: dict[int, list[PlateRead]], frames: int) -> list[dict[str, Any]]:
    store = SqliteStore(tmp_path / "c.sqlite3")
    store.import_accounts([ANNA])
    reader: Any = ScriptedReader(script)
    tracker = PassageTracker(TrackerConfig(agree=1, min_reads=1))
    checkin = CheckIn(reader, tracker, StoreMatcher(store), store, Topics("t"), "cam", "site",
                      hmac_key=b"k" * 32)
    image = np.zeros((4, 4, 3), np.uint8)
    events = []
    for n in range(frames):
        events += checkin.process(Frame(n, n * 0.2, image))
    events += checkin.finish()
    store.close()
    return [e.payload for e in events]


def test_same_customer_same_car_twice_is_one_arrival_second_car_is_another(
        tmp_path: Path) -> None:
    anna = Plate("OF", "AB", "123")
    misread = Plate("OF", "A8", "123")  # fuzzy-matches Anna's plate, on a second track
    second_car = Plate("OF", "E", "2345", "E")
    script = {0: [seen(anna, 100)], 1: [seen(misread, 900)], 5: [seen(second_car, 500)]}
    events = run(tmp_path, script, 8)
    assert [(e["status"], e["plate"]) for e in events] == [
        ("matched", "OF-AB 123"), ("matched", "OF-E 2345E")]


def test_fuzzy_match_announces_the_registered_plate(tmp_path: Path) -> None:
    events = run(tmp_path, {0: [seen(Plate("OF", "A8", "123"), 100)]}, 1)
    assert events[0]["plate"] == "OF-AB 123"


def test_a_read_too_far_from_any_plate_to_be_sure_goes_to_review_without_plate_text(
        tmp_path: Path) -> None:
    events = run(tmp_path, {0: [seen(Plate("OF", "AB", "128"), 100)]}, 1)
    assert events[0]["status"] == "needs_review"
    assert "plate" not in events[0] and "account" not in events[0]
