"""What people read: the window view's lines (review cars, corrections, withdrawals) and
clock times in the site's zone, while payloads stay UTC; real SQLite and Mosquitto."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.commands.events import format_arrival
from pipeline.domain import local_clock
from tests.test_operator import cli, config, misread

ANNA = {"customer_number": "10001", "display_name": "Anna Schmidt",
        "visit_reason": "Jahresabrechnung"}


def test_local_clock_uses_the_site_zone() -> None:
    assert local_clock("2026-12-01T06:42:13.204Z", "Europe/Berlin") == "07:42:13"  # CET
    assert local_clock("2026-07-01T06:42:13.204Z", "Europe/Berlin") == "08:42:13"  # CEST
    assert local_clock("2026-12-01T06:42:13Z", "UTC", "%Y-%m-%d %H:%M") == "2026-12-01 06:42"
    assert local_clock("", "Europe/Berlin") == ""


def test_window_lines_say_what_each_event_is() -> None:
    at = "2026-12-01T06:42:13.204Z"
    matched = format_arrival({"type": "arrival", "timestamp": at, "status": "matched",
                              "plate": "OF-AB 123", "account": ANNA})
    assert matched == "07:42:13  OF-AB 123    Anna Schmidt (#10001) - Jahresabrechnung"
    review = format_arrival({"type": "arrival", "timestamp": at, "status": "needs_review"})
    assert "needs review" in review and "unregistered" not in review
    assert "unregistered car" in format_arrival({"type": "arrival", "timestamp": at,
                                                 "status": "unregistered"})
    fixed = format_arrival({"type": "correction", "timestamp": "2026-12-01T06:44:00Z",
                            "seen_at": at, "status": "matched", "plate": "OF-AB 123",
                            "account": ANNA})
    assert fixed.startswith("07:44:00  correction of the car seen 07:42:13: OF-AB 123 Anna")
    dismissed = format_arrival({"type": "correction", "timestamp": "2026-12-01T06:44:00Z",
                                "seen_at": at, "status": "dismissed"})
    assert dismissed == "07:44:00  correction of the car seen 07:42:13: withdrawn: not a " \
                        "customer's car"


def test_reads_list_shows_local_time_and_the_payload_stays_utc(
        tmp_path: Path, mosquitto: Any, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, mosquitto.port)
    cfg.write_text(cfg.read_text(encoding="utf-8") + '[privacy]\ntimezone = "Asia/Kolkata"\n',
                   encoding="utf-8")  # +05:30: no clock time can pass for UTC by chance
    read_id, _ = misread(tmp_path)
    assert cli(cfg, "list", "--json") == 0
    (read,) = json.loads(capsys.readouterr().out)
    assert read["seen_at"].endswith("Z")
    assert cli(cfg, "list") == 0
    out = capsys.readouterr().out
    shown = re.search(rf"{read_id}\s+(\d\d:\d\d:\d\d)", out)
    assert shown and shown.group(1) == local_clock(read["seen_at"], "Asia/Kolkata")
    assert "(Asia/Kolkata)" in out
