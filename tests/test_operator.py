"""Operator corrections through the CLI, against a real SQLite file and a real Mosquitto."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.domain import Account, OutboxItem, ReadRecord, Status, iso
from pipeline.events.arrival import build_arrival
from pipeline.events.local_broker import MosquittoProcess, free_port
from pipeline.matching.matcher import MatchResult
from pipeline.plate.grammar import Plate
from pipeline.store.sqlite_store import SqliteStore
from pipeline.tracking.passages import Passage

ROOT = Path(__file__).resolve().parents[1]
ANNA = Account("10001", "Anna Schmidt", ("OFAB123",), "Jahresabrechnung", ("OF-AB 123",))


def config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(f'database = "{tmp_path / "c.sqlite3"}"\n[camera]\nsite = "op"\n'
                    f"[mqtt]\nport = {port}\nack_timeout_s = 2.0\n", encoding="utf-8")
    return path


def misread(tmp_path: Path) -> tuple[str, str]:
    """Store an unregistered arrival of Anna's car, misread as OF-AB 128."""
    store = SqliteStore(tmp_path / "c.sqlite3")
    store.import_accounts([ANNA])
    plate = Plate("OF", "AB", "128")
    when = datetime.now(UTC)
    event = build_arrival(Passage(plate, 0.7, 0, 1, 3, 3), MatchResult(Status.UNREGISTERED),
                          camera_id="cam", site="op", seen_at=when, read_id="r1")
    store.record_passage(ReadRecord("r1", iso(when), "cam", plate.display, plate.compact, 0.7,
                                    Status.UNREGISTERED, None, event.event_id),
                         OutboxItem(0, event.event_id, "checkin/op/arrival", event.to_json()))
    store.close()
    return "r1", event.event_id


def cli(cfg: Path, *args: str) -> int:
    return main(["--config", str(cfg), "reads", "--operator", "erika", *args])


def test_correction_supersedes_the_misread_arrival_and_is_audited(
        tmp_path: Path, mosquitto: MosquittoProcess, subscriber_factory: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, mosquitto.port)
    read_id, original = misread(tmp_path)
    sub = subscriber_factory(mosquitto.port, "checkin/op/#")
    assert cli(cfg, "correct", read_id, "--plate", "OF-AB 123", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["delivered"] is True
    (event,) = [p for p in sub.wait_for("arrival", 2) if p["type"] == "correction"]
    assert event["supersedes"] == original and event["status"] == "matched"
    assert event["account"]["customer_number"] == "10001" and event["plate"] == "OF-AB 123"
    assert cli(cfg, "audit", read_id, "--json") == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["operator"] == "erika" and entry["action"] == "correct"
    assert json.loads(entry["before"])["plate"] == "OF-AB 128"
    assert json.loads(entry["after"])["customer_number"] == "10001"
    # a second correction must be deliberate; undo restores the read
    assert cli(cfg, "correct", read_id, "--plate", "OF-AB 12") == 1
    assert "already corrected" in capsys.readouterr().err
    assert cli(cfg, "undo", read_id, "--json") == 0
    undone = json.loads(capsys.readouterr().out)
    assert undone["read"]["status"] == "unregistered" and undone["read"]["corrected_at"] is None


@pytest.mark.parametrize(("args", "message"), [
    (["correct", "nope", "--plate", "OF-AB 123"], "no read 'nope'"),
    (["correct", "r1", "--plate", "EXIT 3"], "not a German plate"),
    (["assign", "r1", "--customer", "999"], "customer 999 not found"),
    (["undo", "r1"], "no correction to undo"),
    (["arrive"], "give the plate"),
    (["arrive", "--plate", "EXIT 3"], "not a German plate"),
    (["arrive", "--customer", "999"], "customer 999 not found"),
])
def test_errors_say_what_to_do(tmp_path: Path, args: list[str], message: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, free_port())
    misread(tmp_path)
    assert cli(cfg, *args) == 1
    assert message in capsys.readouterr().err


def test_a_car_the_camera_missed_is_announced_by_hand_once_and_audited(
        tmp_path: Path, mosquitto: MosquittoProcess, subscriber_factory: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, mosquitto.port)
    store = SqliteStore(tmp_path / "c.sqlite3")
    store.import_accounts([ANNA])
    store.close()
    sub = subscriber_factory(mosquitto.port, "checkin/op/arrival")
    assert cli(cfg, "arrive", "--plate", "OF-AB 123", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["delivered"] is True
    (event,) = sub.wait_for("arrival", 1)
    assert event["type"] == "arrival" and event["camera_id"] == "operator"
    assert event["status"] == "matched" and event["plate"] == "OF-AB 123"
    assert event["account"]["customer_number"] == "10001"
    read = out["read"]
    assert read["camera_id"] == "operator" and read["plate_hmac"]  # pseudonym as a camera's
    assert cli(cfg, "audit", read["read_id"], "--json") == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["operator"] == "erika" and entry["action"] == "arrive"
    assert entry["before"] is None and json.loads(entry["after"])["customer_number"] == "10001"
    # the same customer again within dedup_s: already announced, unless forced
    assert cli(cfg, "arrive", "--customer", "10001") == 1
    assert "already announced" in capsys.readouterr().err
    assert cli(cfg, "arrive", "--customer", "10001", "--force", "--json") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["event"]["plate"] == "OF-AB 123"  # the customer's one plate
    # a plate nobody registered: an unregistered arrival, without the plate
    assert cli(cfg, "arrive", "--plate", "OF-ZZ 999", "--json") == 0
    stranger = json.loads(capsys.readouterr().out)["event"]
    assert stranger["status"] == "unregistered" and "plate" not in stranger
    got = sub.wait_for("arrival", 3)
    assert [p["status"] for p in got] == ["matched", "matched", "unregistered"]


def test_correction_waits_in_the_outbox_while_the_broker_is_away(
        tmp_path: Path, subscriber_factory: Any, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    cfg = config(tmp_path, port)
    read_id, _ = misread(tmp_path)
    assert cli(cfg, "dismiss", read_id, "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["delivered"] is False
    assert "plate" not in out["event"]
    store = SqliteStore(tmp_path / "c.sqlite3")
    assert out["event"]["event_id"] in [i.event_id for i in store.pending()]
    store.close()
    broker = MosquittoProcess(port=port).start()
    try:
        sub = subscriber_factory(port, "checkin/op/arrival")
        assert cli(cfg, "list", "--json") == 0  # listing sends nothing
        capsys.readouterr()
        assert main(["--config", str(cfg), "reads", "assign", read_id, "--customer", "10001",
                     "--force", "--json"]) == 0  # the next action flushes the whole outbox
        got = sub.wait_for("arrival", 3)
        assert [p["status"] for p in got if p["type"] == "correction"] == ["dismissed",
                                                                            "matched"]
    finally:
        broker.stop()


@pytest.mark.real
def test_corrections_while_run_is_running_on_the_same_database(
        tmp_path: Path, mosquitto: MosquittoProcess, subscriber_factory: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, mosquitto.port)
    assert main(["--config", str(cfg), "accounts", "import",
                 str(ROOT / "sample_frames" / "accounts.csv")]) == 0
    sub = subscriber_factory(mosquitto.port, "checkin/op/arrival")
    run = subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(cfg), "run",
                            "--source", str(ROOT / "sample_frames"), "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    corrected: set[str] = set()
    try:
        deadline = time.monotonic() + 300
        while run.poll() is None and time.monotonic() < deadline:
            capsys.readouterr()
            assert main(["--config", str(cfg), "reads", "list", "--json"]) == 0
            for read in json.loads(capsys.readouterr().out):
                if read["read_id"] not in corrected:
                    assert main(["--config", str(cfg), "reads", "--operator", "t", "dismiss",
                                 read["read_id"], "--json"]) == 0
                    corrected.add(read["read_id"])
            time.sleep(0.2)
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err.decode()[-2000:]
    assert b"database is locked" not in err
    result = json.loads(out)
    payloads = sub.wait_for("arrival", result["arrivals"] + len(corrected))
    arrivals = {p["event_id"] for p in payloads if p["type"] == "arrival"}
    superseded = {p["supersedes"] for p in payloads if p["type"] == "correction"}
    assert len(arrivals) == result["arrivals"] and corrected
    assert superseded <= arrivals


def test_reads_show_gives_the_kept_crop_and_list_marks_the_reads_that_have_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 24 from the command line: `reads show ID --image FILE`, `reads list
    --with-evidence`; a read without a crop says so instead of failing."""
    import json

    import cv2
    import numpy as np

    from pipeline.privacy.evidence import encode
    from pipeline.store.sqlite_store import SqliteStore

    cfg = config(tmp_path, 1)  # no broker needed to look
    read_id, _ = misread(tmp_path)
    store = SqliteStore(tmp_path / "c.sqlite3")
    store.keep_evidence(read_id, encode([np.full((30, 140, 3), 200, np.uint8)]))
    store.close()
    image = tmp_path / "crop.png"
    assert cli(cfg, "show", read_id, "--image", str(image), "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["crops"] == 1 and shown["image"] == str(image)
    assert cv2.imread(str(image)).shape[:2] == (30, 140)
    assert cli(cfg, "list", "--with-evidence", "--json") == 0
    assert [r["read_id"] for r in json.loads(capsys.readouterr().out)] == [read_id]
    assert cli(cfg, "show", "nosuchread") == 1
    assert "reads list" in capsys.readouterr().err
