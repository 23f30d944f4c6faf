"""The interactive console driven headless (Textual's pilot, 80x24): a misread arrives, the
operator corrects it by keyboard, a real Mosquitto subscriber sees the correction."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from pipeline.commands import deliver_now
from pipeline.config import load_settings
from pipeline.domain import ReadRecord
from pipeline.events.local_broker import MosquittoProcess
from pipeline.events.topics import Topics
from pipeline.operator.console import ConsoleApp, sort_for_review
from pipeline.operator.corrections import Corrections
from pipeline.store.sqlite_store import SqliteStore
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


def test_console_refresh_latency_with_500_reads(tmp_path: Path) -> None:
    """Figure for the closing note: time from a new read in the database to its row on
    screen, with 500 reads listed (printed, not asserted: a benchmark, not a timed test)."""
    from datetime import UTC, datetime, timedelta

    from pipeline.domain import iso

    store = SqliteStore(tmp_path / "c.sqlite3")
    start = datetime.now(UTC) - timedelta(hours=1)
    for i in range(500):
        store.record_passage(ReadRecord(f"r{i:03d}", iso(start + timedelta(seconds=i)), "c",
                                        "OF-AB 1", "OFAB1", 0.9, "unregistered", None, None),
                             None)
    corrections = Corrections(store, Topics("t"), "s", "pilot")
    app = ConsoleApp(store, corrections, lambda: True, refresh_s=0.25)
    latency: dict[str, float] = {}

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            table = app.query_one("#reads")
            assert table.row_count == 500  # type: ignore[attr-defined]
            t0 = time.perf_counter()
            store.record_passage(ReadRecord("new", iso(datetime.now(UTC)), "c", None, None,
                                            0.4, "needs_review", None, None), None)
            deadline = time.perf_counter() + 10
            while table.row_count < 501 and time.perf_counter() < deadline:  # type: ignore[attr-defined]
                await pilot.pause(0.01)
            assert table.row_count == 501  # type: ignore[attr-defined]
            # the review is listed on top; the operator's selection stays where it was
            assert app.selected_read_id() == "r499"
            latency["s"] = time.perf_counter() - t0

    asyncio.run(drive())
    store.close()
    print(f"\nconsole: new read on screen {latency['s'] * 1000:.0f} ms after it was stored "
          "(500 reads listed, refresh every 0.25 s)")


def test_uncertain_characters_are_marked() -> None:
    from pipeline.operator.console import marked_plate

    r = ReadRecord("x", "t", "c", "OF-AB 123", "OFAB123", 0.9, "needs_review", None, None,
                   uncertain="6")
    spans = marked_plate(r).spans
    assert [(s.start, s.end) for s in spans] == [(8, 9)]  # the '3'


def test_the_operator_sees_the_plate_crop_of_a_read_and_it_goes_with_the_decision(
        tmp_path: Path) -> None:
    """Issue 24: selecting a read with a kept crop shows the plate (half blocks, legible in
    80x24 over SSH); once corrected, the crop is gone from the store and the view."""
    import cv2

    from pipeline.privacy.evidence import encode
    from pipeline.synth.plate_render import render_plate

    read_id, _ = misread(tmp_path)
    store = SqliteStore(tmp_path / "c.sqlite3")
    crop = cv2.resize(render_plate("OF-AB123"), (180, 38), interpolation=cv2.INTER_AREA)
    store.keep_evidence(read_id, encode([crop]))
    corrections = Corrections(store, Topics("checkin/op"), "op", "pilot")
    app = ConsoleApp(store, corrections, lambda: False, refresh_s=0.2)
    seen: dict[str, Any] = {}

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            started = time.perf_counter()
            await pilot.pause()
            panel = app.query_one("#evidence")
            seen["shown"] = panel.has_class("shown")
            seen["ms"] = 1000 * (time.perf_counter() - started)
            seen["cells"] = str(panel.render()).count("\u2580")
            await pilot.press("c", *[KEYS.get(ch, ch) for ch in "OF-AB 123"], "enter")
            for _ in range(100):
                await pilot.pause(0.05)
                if not app.query_one("#evidence").has_class("shown"):
                    break
            seen["after"] = app.query_one("#evidence").has_class("shown")

    asyncio.run(drive())
    assert seen["shown"] and seen["cells"] >= 76 * 5, seen  # at least 76 x 10 pixels
    assert not seen["after"] and store.evidence(read_id) == []
    store.close()
    print(f"\nconsole: crop on screen {seen['ms']:.0f} ms after start with the read selected")


def test_correcting_a_read_for_review_starts_from_the_likeliest_customers(
        tmp_path: Path) -> None:
    """Issue 26: before the operator types, the hint lists the customers the matcher found
    likeliest for the car, in its order."""
    from datetime import UTC, datetime

    from pipeline.domain import Account, iso

    store = SqliteStore(tmp_path / "c.sqlite3")
    store.import_accounts([Account("10001", "Anna Schmidt", ("OFAB123",), "", ("OF-AB 123",)),
                           Account("10002", "Jens Becker", ("OFAB128",), "", ("OF-AB 128",))])
    store.record_passage(ReadRecord("rv", iso(datetime.now(UTC)), "cam", "OF-A8 123", "OFA8123",
                                    0.6, "needs_review", None, None,
                                    candidates='[["10002", -1.5], ["10001", -4.0]]'), None)
    app = ConsoleApp(store, Corrections(store, Topics("t"), "s", "pilot"), lambda: True)
    hints: list[str] = []

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("a")
            await pilot.pause()
            hints.append(str(app.query_one("#hint").render()))

    asyncio.run(drive())
    store.close()
    assert "likeliest" in hints[0]
    assert hints[0].index("Jens Becker") < hints[0].index("Anna Schmidt")


def test_on_a_terminal_with_pixels_the_crop_is_an_image_widget(tmp_path: Path) -> None:
    """Kitty or Sixel terminals get the crop in real pixels through textual-image; headless
    there is no such terminal, so its half-cell widget stands in for the pixel widget."""
    import numpy as np
    from textual_image.widget import HalfcellImage

    from pipeline.privacy.evidence import encode

    read_id, _ = misread(tmp_path)
    store = SqliteStore(tmp_path / "c.sqlite3")
    store.keep_evidence(read_id, encode([np.full((30, 140, 3), 180, np.uint8)]))
    app = ConsoleApp(store, Corrections(store, Topics("t"), "s", "pilot"), lambda: True,
                     pixels=HalfcellImage)
    seen: dict[str, Any] = {}

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            picture = app.query_one("#evidence-pixels")
            seen["shown"] = picture.has_class("shown")
            seen["size"] = getattr(picture.image, "size", None)
            seen["blocks"] = app.query_one("#evidence").has_class("shown")

    asyncio.run(drive())
    store.close()
    assert seen == {"shown": True, "size": (140, 30), "blocks": False}


def test_a_kept_crop_that_is_not_an_image_shows_as_no_image() -> None:
    from pipeline.operator.plate_image import half_blocks

    assert half_blocks(b"not a jpeg").plain == "(no image)"


def test_the_operator_announces_a_car_the_camera_missed(
        tmp_path: Path, mosquitto: MosquittoProcess, subscriber_factory: Any) -> None:
    """Key n: a car whose plate the camera could not read gets its arrival by hand, from
    camera 'operator', with no passage selected (the list may be empty)."""
    from pipeline.domain import Account

    settings = load_settings(config(tmp_path, mosquitto.port))
    store = SqliteStore(Path(settings.database))
    store.import_accounts([Account("10001", "Anna Schmidt", ("OFAB123",), "", ("OF-AB 123",))])
    sub = subscriber_factory(mosquitto.port, "checkin/op/arrival")
    app = ConsoleApp(store, Corrections(store, Topics(settings.prefix), "op", "pilot"),
                     lambda: deliver_now(settings, store), refresh_s=0.2)
    hints: list[str] = []

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("n", "1", "0", "0", "0", "1")
            hints.append(str(app.query_one("#hint").render()))
            await pilot.press("enter")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not sub.payloads("arrival"):
                await pilot.pause(0.05)

    asyncio.run(drive())
    store.close()
    assert "Anna Schmidt" in hints[0]
    (event,) = sub.payloads("arrival")
    assert event["type"] == "arrival" and event["camera_id"] == "operator"
    assert event["account"]["customer_number"] == "10001"
