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
    assert out.splitlines()[0].split() == ["read", "time", "status", "plate", "conf",
                                           "customer"]  # the columns are named
    # a second correction is refused with the time of the first, as the operator reads time
    assert cli(cfg, "correct", read_id, "--plate", "OF-AB 123", "--json") == 0
    corrected_at = json.loads(capsys.readouterr().out)["read"]["corrected_at"]
    assert cli(cfg, "correct", read_id, "--plate", "OF-AB 12") == 1
    err = capsys.readouterr().err
    local = local_clock(corrected_at, "Asia/Kolkata", "%Y-%m-%d %H:%M:%S")
    assert f"already corrected at {local};" in err, err


def test_the_demo_prints_the_clock_time_each_arrival_came(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 23: the demo printed its events' timestamps, which for a folder are the times of
    their frames (first frame + index / fps): 1-2 s apart while the cars came 10-15 s apart
    as the run read them. It prints the local clock time the arrival came."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import paho.mqtt.publish as publish

    from pipeline.cli import SAMPLE_CONFIG, main
    from pipeline.commands import run as run_command
    from pipeline.config import load_settings

    frame_time = "2026-11-25T06:42:13.204Z"  # long before the run

    def fake_run(settings: Any, source: str, mqtt: Any, stop: Any) -> dict[str, Any]:
        event = {"schema": 1, "type": "arrival", "timestamp": frame_time,
                 "status": "matched", "plate": "OF-AB 123", "account": ANNA}
        publish.single(f"{settings.prefix}/arrival", json.dumps(event), qos=1,
                       hostname=mqtt.host, port=mqtt.port)
        return {"frames": 1, "corrupt_frames": 0, "seconds": 0.1, "recogniser": "fake",
                "arrivals": 1, "matched": 1, "unregistered": 0, "needs_review": 0,
                "published": 1, "undelivered": 0, "arrivals_not_stored": 0,
                "events": [event]}

    monkeypatch.setattr(run_command, "run_pipeline", fake_run)
    (tmp_path / "frames").mkdir()
    tz = ZoneInfo(load_settings(SAMPLE_CONFIG).privacy.timezone)  # what the demo runs with
    before = datetime.now(tz).replace(microsecond=0, tzinfo=None)
    assert main(["demo", "--source", str(tmp_path / "frames"),
                 "--workdir", str(tmp_path / "demo")]) == 0
    after = datetime.now(tz).replace(tzinfo=None)
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if "MQTT arrival" in ln]
    shown = re.search(r"MQTT arrival  (\d\d:\d\d:\d\d)  OF-AB 123", line)
    assert shown, line
    clock = datetime.combine(before.date(), datetime.strptime(shown[1], "%H:%M:%S").time())
    assert before <= clock <= after or before.date() != after.date(), (line, before, after)
    assert "07:42:13" not in line


def test_events_tail_says_once_that_the_broker_is_away_and_when_it_is_back(
        caplog: pytest.LogCaptureFixture) -> None:
    """Issue 23 walkthrough: with the broker down, 'events tail' said 'not subscribed to
    127.0.0.1:1883 yet; still trying' and then 'listening on ...', and nothing when the broker
    came: now what to check, once, and that arrivals come."""
    import logging

    from pipeline.commands.events import subscribe
    from pipeline.events.local_broker import MosquittoProcess, free_port
    from pipeline.events.mqtt_client import MqttSettings
    from tests.waiting import wait_until

    caplog.set_level(logging.INFO, logger="kennzeichen-checkin")
    port = free_port()
    client = subscribe(MqttSettings(port=port), "t/arrival", lambda _p: None, wait_s=0.5)
    broker = None
    try:
        assert f"no connection to the MQTT broker at 127.0.0.1:{port} within 0.5 s" \
            in caplog.text
        assert "is it running, and are [mqtt] host and port right?" in caplog.text
        broker = MosquittoProcess(port=port).start()
        assert wait_until(lambda: "connected to the MQTT broker" in caplog.text, 30), \
            caplog.text
    finally:
        client.loop_stop()
        client.disconnect()
        if broker is not None:
            broker.stop()
    assert caplog.text.count("no connection to the MQTT broker") == 1


def test_events_tail_says_when_the_broker_refuses_the_login(
        caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from pipeline.commands.events import subscribe
    from pipeline.events.local_broker import MosquittoProcess
    from pipeline.events.mqtt_client import MqttSettings
    from tests.waiting import wait_until

    caplog.set_level(logging.INFO, logger="kennzeichen-checkin")
    broker = MosquittoProcess(users={"staff": "right"}).start()
    try:
        client = subscribe(MqttSettings(port=broker.port, username="staff", password="wrong"),
                           "t/arrival", lambda _p: None, wait_s=3)
        try:
            assert wait_until(lambda: "refused the connection" in caplog.text, 20)
        finally:
            client.loop_stop()
            client.disconnect()
    finally:
        broker.stop()
    assert "check [mqtt] username and password" in caplog.text
    assert "no connection to the MQTT broker" not in caplog.text  # it is there: it refuses
