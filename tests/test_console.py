"""The interactive console driven headless (Textual's pilot, 80x24): a misread arrives, the
operator corrects it by keyboard, a real Mosquitto subscriber sees the correction."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from pipeline.commands import deliver_now
from pipeline.config import load_settings
from pipeline.events.arrival import Topics
from pipeline.events.local_broker import MosquittoProcess
from pipeline.operator.console import ConsoleApp, sort_for_review
from pipeline.operator.corrections import Corrections
from pipeline.store.sqlite_store import ReadRecord, SqliteStore
from tests.test_operator import config, misread

KEYS = {"-": "minus", " ": "space"}


def test_operator_corrects_a_misread_with_the_keyboard(
        tmp_path: Path, mosquitto: MosquittoProcess, subscriber_factory: Any) -> None:
    settings = load_settings(config(tmp_path, mosquitto.port))
    read_id, original = misread(tmp_path)
    sub = subscriber_factory(mosquitto.port, "checkin/op/arrival")
    store = SqliteStore(Path(settings.database))
    corrections = Corrections(store, Topics(settings.prefix), "op", "pilot")
    app = ConsoleApp(store, corrections, lambda: deliver_now(settings, store), refresh_s=0.2)
    keys = ["c", *[KEYS.get(ch, ch) for ch in "OF-AB 123"], "enter"]
    timing: dict[str, float] = {}

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.selected_read_id() == read_id
            timing["start"] = time.perf_counter()
            await pilot.press(*keys[:-1])
            hint = str(app.query_one("#hint").render())
            assert "10001" in hint and "Anna Schmidt" in hint  # candidates as you type
            await pilot.press(keys[-1])
            for _ in range(100):
                await pilot.pause(0.05)
                if [p for p in sub.payloads("arrival") if p.get("type") == "correction"]:
                    break
            timing["end"] = time.perf_counter()

    asyncio.run(drive())
    store.close()
    corrections_seen = [p for p in sub.payloads("arrival") if p.get("type") == "correction"]
    assert len(corrections_seen) == 1
    assert corrections_seen[0]["supersedes"] == original
    assert corrections_seen[0]["account"]["customer_number"] == "10001"
    print(f"\nconsole: {len(keys)} keystrokes, "
          f"{timing['end'] - timing['start']:.2f} s from key 'c' to the correction on the broker")


def test_open_reviews_are_listed_first() -> None:
    def r(i: str, status: str, at: str, corrected: str | None = None) -> ReadRecord:
        return ReadRecord(i, at, "c", None, None, 0.5, status, None, None, None, corrected)

    reads = [r("a", "matched", "2026-11-25T08:00"), r("b", "needs_review", "2026-11-25T07:00"),
             r("c", "needs_review", "2026-11-25T09:00", corrected="x"),
             r("d", "unregistered", "2026-11-25T10:00")]
    assert [x.read_id for x in sort_for_review(reads)] == ["b", "d", "c", "a"]
