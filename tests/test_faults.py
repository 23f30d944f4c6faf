"""Fault tests against a real Mosquitto (loopback only, bounded in time): a broker that is
SIGKILLed and restarted while `run` works, a broker that refuses the password, a folder full
of corrupt frames. The invariant: every arrival the pipeline recorded reaches a subscriber."""

from __future__ import annotations

import json
import logging
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.events.local_broker import MosquittoProcess, free_port
from pipeline.events.mqtt_publisher import MqttPublisher, MqttSettings
from pipeline.frames.sources import FolderSource
from pipeline.store.sqlite_store import OutboxItem, ReadRecord, SqliteStore
from tests.mjpeg_camera import MjpegCamera

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_frames"

pytestmark = pytest.mark.real


def repeated_samples(folder: Path, times: int) -> Path:
    """The sample sequence driven past the camera ``times`` times (many arrivals)."""
    folder.mkdir()
    for rep in range(times):
        for frame in sorted(SAMPLES.glob("*.jpg")):
            shutil.copy(frame, folder / f"{rep:02d}_{frame.name}")
    return folder


def site_config(tmp_path: Path, port: int, **mqtt: Any) -> Path:
    extra = "".join(f'{k} = {json.dumps(v)}\n' for k, v in mqtt.items())
    config = tmp_path / "site.toml"
    config.write_text(
        f'database = "{tmp_path / "c.sqlite3"}"\nflush_timeout_s = 120.0\n'
        'status_interval_s = 1.0\n'
        '[camera]\nsite = "faults"\nroi = [[0.2, 0.4], [0.8, 0.4], [1.0, 1.0], [0.0, 1.0]]\n'
        '[tracking]\ndedup_s = 0.0\n'
        f'[mqtt]\nport = {port}\nack_timeout_s = 2.0\n{extra}', encoding="utf-8")
    return config


def recorded_event_ids(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT event_id FROM reads")}
    finally:
        conn.close()


def test_broker_killed_20_times_during_a_run_loses_no_arrival(
        tmp_path: Path, subscriber_factory: Any) -> None:
    port = free_port()
    frames = repeated_samples(tmp_path / "frames", 3)
    config = site_config(tmp_path, port)
    broker = MosquittoProcess(port=port).start()
    subs = [subscriber_factory(port, "checkin/faults/arrival")]
    run = subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(config), "run",
                            "--source", str(frames), "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        time.sleep(8)  # model loaded, first arrivals on their way
        for _ in range(20):
            broker.kill()
            time.sleep(0.3)
            broker = MosquittoProcess(port=port).start()
            # subscribe before the pipeline's reconnect (>= 1 s backoff) delivers anything
            subs.append(subscriber_factory(port, "checkin/faults/arrival"))
            time.sleep(1.2)
        out, _ = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
        broker.stop()
    result = json.loads(out)
    assert run.returncode == 0, result
    recorded = recorded_event_ids(tmp_path / "c.sqlite3")
    assert len(recorded) == result["arrivals"] >= 20
    time.sleep(0.5)
    received = [p["event_id"] for s in subs for p in s.payloads("arrival")]
    assert recorded <= set(received), f"lost: {sorted(recorded - set(received))}"
    assert set(received) <= recorded  # duplicates only ever as the same event id


def test_broker_refusing_the_password_says_so_retries_and_loses_nothing(
        tmp_path: Path, subscriber_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    broker = MosquittoProcess(port=port, users={"pipeline": "right", "reader": "r"}).start()
    store = SqliteStore(tmp_path / "c.sqlite3")
    for i in range(3):
        store.record_passage(
            ReadRecord(f"r{i}", "2026-11-25T07:00:00.000Z", "cam", None, None, 0.9,
                       "unregistered", None, f"e{i}"),
            OutboxItem(0, f"e{i}", "checkin/auth/arrival", json.dumps({"event_id": f"e{i}"})))
    wrong = MqttPublisher(MqttSettings(port=port, username="pipeline", password="wrong"),
                          store, "checkin/auth/availability")
    try:
        with caplog.at_level(logging.ERROR):
            wrong.start()
            time.sleep(2.5)
        assert "refused the connection" in caplog.text and "mqtt.password" in caplog.text
        assert "wrong" not in caplog.text  # the secret itself is never logged
        assert not wrong.connected and store.outbox_depth() == 3
    finally:
        wrong.stop()
    sub = subscriber_factory(port, "checkin/auth/#", auth=("reader", "r"))
    right = MqttPublisher(MqttSettings(port=port, username="pipeline", password="right"),
                          store, "checkin/auth/availability")
    right.start()
    try:
        assert right.flush(20)
        got = sub.wait_for("arrival", 3)
        assert sorted(p["event_id"] for p in got) == ["e0", "e1", "e2"]
    finally:
        right.stop()
        broker.stop()
        store.close()


def test_a_thousand_corrupt_or_truncated_frames_are_counted_and_skipped(
        tmp_path: Path) -> None:
    good = (SAMPLES / "frame_0000.jpg").read_bytes()
    for i in range(1000):
        data = good[: (i * 37) % 4000] if i % 2 else bytes([i % 256]) * (i % 50)
        (tmp_path / f"{i:04d}.jpg").write_bytes(data)
    shutil.copy(SAMPLES / "frame_0001.jpg", tmp_path / "9999.jpg")
    source = FolderSource(tmp_path)
    frames = list(source.frames())
    assert [f.origin for f in frames] == ["9999.jpg"]
    assert source.stats.corrupt == 1000


def count_reads(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=30)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM reads").fetchone()[0])
    except sqlite3.OperationalError:  # schema not created yet
        return 0
    finally:
        conn.close()


def test_pipeline_sigkilled_5_times_resumes_without_loss_or_second_arrivals(
        tmp_path: Path, mosquitto: MosquittoProcess, subscriber_factory: Any) -> None:
    frames = repeated_samples(tmp_path / "frames", 2)
    config = site_config(tmp_path, mosquitto.port)
    db = tmp_path / "c.sqlite3"
    accounts = ["--config", str(config), "accounts", "import", str(SAMPLES / "accounts.csv")]
    subprocess.run([sys.executable, "-m", "pipeline", *accounts], check=True,
                   capture_output=True, cwd=tmp_path)
    sub = subscriber_factory(mosquitto.port, "checkin/faults/arrival")
    command = [sys.executable, "-m", "pipeline", "--config", str(config), "run", "--source",
               str(frames), "--json"]
    kills = 0
    while kills < 5:
        before = count_reads(db)
        run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               cwd=tmp_path)
        deadline = time.monotonic() + 120
        while count_reads(db) < before + 2 and run.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        if run.poll() is not None:
            break  # finished before we could kill it again
        run.kill()  # SIGKILL: no flush, no goodbye
        run.wait()
        kills += 1
    final = subprocess.run(command, capture_output=True, cwd=tmp_path, timeout=600)
    assert final.returncode == 0, final.stderr.decode()[-2000:]
    assert kills >= 3
    conn = sqlite3.connect(db)
    reads = conn.execute("SELECT event_id, plate_compact, customer_number FROM reads").fetchall()
    conn.close()
    recorded = {r[0] for r in reads}
    time.sleep(0.5)
    received = [p["event_id"] for p in sub.wait_for("arrival", len(recorded))]
    assert recorded == set(received), "an arrival was lost or an unknown one appeared"
    per_customer: dict[str, int] = {}
    for _, _, customer in reads:
        if customer:
            per_customer[customer] = per_customer.get(customer, 0) + 1
    # the sequence passes twice: each registered car is announced at most twice, never more
    assert per_customer and max(per_customer.values()) <= 2, per_customer
    assert sum(per_customer.values()) >= 12


def test_live_camera_stream_that_dies_and_returns_during_run(
        tmp_path: Path, mosquitto: MosquittoProcess, subscriber_factory: Any) -> None:
    """`run` on a real HTTP MJPEG camera: the camera dies, the retained camera topic says
    offline, the camera returns, reading resumes and arrivals follow; SIGTERM exits 0."""
    camera = MjpegCamera(sorted(SAMPLES.glob("*.jpg")), free_port(), fps=10).start()
    config = site_config(tmp_path, mosquitto.port)
    sub = subscriber_factory(mosquitto.port, "checkin/faults/#")
    run = subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(config), "run",
                            "--source", camera.url, "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        assert sub.wait_for("arrival", 1, timeout=120), "no arrival from the live camera"
        camera.stop()
        states = lambda: [p["state"] for p in sub.payloads("/camera/entrance")]  # noqa: E731
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "offline" not in states():
            time.sleep(0.1)
        assert "offline" in states(), states()
        arrivals_while_dead = len(sub.payloads("arrival"))
        camera.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and states()[-1] != "online":
            time.sleep(0.1)
        assert states()[-1] == "online", states()
        assert sub.wait_for("arrival", arrivals_while_dead + 1, timeout=60) \
            [arrivals_while_dead:], "no arrival after the camera came back"
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, err.decode()[-2000:]
        assert "stream lost" in err.decode()
        assert json.loads(out)["camera_reconnects"] >= 1
    finally:
        camera.stop()
        if run.poll() is None:
            run.kill()


# -- a broker that refuses publishes (MQTT 5 PUBACK reason codes) -------------------------

ACL_ALLOWS_STATE_ONLY = """user pipeline
topic write checkin/faults/status/#
topic write checkin/faults/availability/#
topic write checkin/faults/camera/#

user reader
topic read checkin/#
"""
ACL_ALLOWS_ALL = ACL_ALLOWS_STATE_ONLY + "\nuser pipeline\ntopic write checkin/faults/#\n"


def acl_broker(tmp_path: Path, port: int, acl: str) -> tuple[MosquittoProcess, Path]:
    """Mosquitto with passwords and an ACL file that the test may rewrite (SIGHUP reloads)."""
    acl_file = tmp_path / "broker.acl"
    acl_file.write_text(acl, encoding="utf-8")
    broker = MosquittoProcess(port=port, users={"pipeline": "p", "reader": "r"},
                              extra_config=f"acl_file {acl_file}\n").start()
    return broker, acl_file


def reload_acl(broker: MosquittoProcess, acl_file: Path, acl: str) -> None:
    acl_file.write_text(acl, encoding="utf-8")
    assert broker.process is not None
    broker.process.send_signal(signal.SIGHUP)


def wait_until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def test_broker_refusing_a_publish_keeps_it_in_the_outbox_says_so_once_and_sends_it_later(
        tmp_path: Path, subscriber_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    broker, acl_file = acl_broker(tmp_path, port, ACL_ALLOWS_STATE_ONLY)
    store = SqliteStore(tmp_path / "c.sqlite3")
    for i in range(3):
        store.record_passage(
            ReadRecord(f"r{i}", "2026-11-25T07:00:00.000Z", "cam", None, None, 0.9,
                       "unregistered", None, f"e{i}"),
            OutboxItem(0, f"e{i}", "checkin/faults/arrival", json.dumps({"event_id": f"e{i}"})))
    sub = subscriber_factory(port, "checkin/#", auth=("reader", "r"))
    publisher = MqttPublisher(MqttSettings(port=port, username="pipeline", password="p",
                                           ack_timeout_s=2), store,
                              "checkin/faults/availability/cam")
    try:
        with caplog.at_level(logging.INFO):
            publisher.start()
            assert wait_until(lambda: publisher.refused is not None, 10), "no refusal seen"
            assert not publisher.flush(5)  # a refusal ends the wait: the ACL will not change
            time.sleep(3.5)  # retries at 1 s and 2 s: still logged only once
            assert store.outbox_depth() == 3 and sub.payloads("arrival") == []
            assert "Not authorized" in str(publisher.refused)
            refusals = [r for r in caplog.records if "refused an arrival" in r.getMessage()]
            assert len(refusals) == 1 and refusals[0].levelno == logging.ERROR
            assert "ACL" in refusals[0].getMessage()  # says what to do
            reload_acl(broker, acl_file, ACL_ALLOWS_ALL)
            assert wait_until(lambda: store.outbox_depth() == 0, 60), \
                "outbox not drained after the ACL allowed it"
        got = sub.wait_for("arrival", 3)
        assert sorted(p["event_id"] for p in got) == ["e0", "e1", "e2"]
        assert publisher.refused is None and "delivering arrivals again" in caplog.text
    finally:
        publisher.stop()
        broker.stop()
        store.close()


def test_run_whose_arrivals_the_broker_refuses_exits_non_zero_and_loses_none(
        tmp_path: Path, subscriber_factory: Any) -> None:
    """The pipeline's login may not publish arrivals (ACL): the run keeps every event in the
    outbox, reports the refusal in its heartbeat and exits 3; once the ACL allows it, the
    next start sends them all."""
    port = free_port()
    broker, acl_file = acl_broker(tmp_path, port, ACL_ALLOWS_STATE_ONLY)
    config = site_config(tmp_path, port, username="pipeline", password="p")
    cars = len((SAMPLES / "ground_truth.csv").read_text(encoding="utf-8").splitlines()) - 1
    sub = subscriber_factory(port, "checkin/#", auth=("reader", "r"))
    command = [sys.executable, "-m", "pipeline", "--config", str(config), "run", "--source",
               str(SAMPLES), "--json"]
    try:
        first = subprocess.run(command, capture_output=True, cwd=tmp_path, timeout=300)
        result = json.loads(first.stdout)
        recorded = recorded_event_ids(tmp_path / "c.sqlite3")
        print(f"refused run: cars {cars}, recorded {len(recorded)}, received "
              f"{len(sub.payloads('arrival'))}, outbox {result['undelivered']}, "
              f"exit {first.returncode}")
        assert first.returncode == 3, first.stderr.decode()[-2000:]
        assert result["undelivered"] == len(recorded) == result["arrivals"] == cars
        assert "Not authorized" in result["broker_refused"]
        assert sub.payloads("arrival") == []
        assert any("Not authorized" in str(s.get("broker_refused"))
                   for s in sub.payloads("/status/entrance")), "heartbeat does not show it"
        assert first.stderr.decode().count("refused an arrival") == 1
        reload_acl(broker, acl_file, ACL_ALLOWS_ALL)
        time.sleep(0.5)  # the broker reads the ACL again
        second = subprocess.run(command, capture_output=True, cwd=tmp_path, timeout=300)
        assert second.returncode == 0, second.stderr.decode()[-2000:]
        received = [p["event_id"] for p in sub.wait_for("arrival", len(recorded))]
        print(f"after the ACL fix: received unique {len(set(received))}, lost "
              f"{len(recorded - set(received))}, duplicate ids "
              f"{len(received) - len(set(received))}, exit {second.returncode}")
        assert set(received) == recorded and len(received) == len(recorded)
    finally:
        broker.stop()
