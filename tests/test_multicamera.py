"""Two cameras, two `run` processes, one PostgreSQL and one real Mosquitto: one process is
SIGKILLed mid-run, the other keeps going and also sends what the dead one left in the shared
outbox; the killed camera is restarted and resumes its folder. Every recorded arrival reaches
the subscriber exactly once by event id (a second copy only if the kill fell between PUBACK
and the commit that drops it from the outbox)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pipeline.events.local_broker import MosquittoProcess
from tests.test_faults import SAMPLES, repeated_samples

pytestmark = pytest.mark.real

TOPIC = "checkin/multi/arrival"


def camera_config(tmp_path: Path, camera: str, database: str, port: int) -> Path:
    config = tmp_path / f"{camera}.toml"
    config.write_text(
        f'database = "{database}"\nflush_timeout_s = 120.0\nstatus_interval_s = 5.0\n'
        f'topic_prefix = "checkin/multi"\n'
        f'[camera]\nid = "{camera}"\nsite = "multi"\n'
        'roi = [[0.2, 0.4], [0.8, 0.4], [1.0, 1.0], [0.0, 1.0]]\n'
        '[tracking]\ndedup_s = 0.0\n'  # both folders show the same cars at the same time
        f'[mqtt]\nport = {port}\nack_timeout_s = 2.0\n', encoding="utf-8")
    return config


def query(database: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(database) as conn:
        return conn.execute(sql, params).fetchall()


def reads_of(database: str, camera: str) -> int:
    try:
        return int(query(database, "SELECT COUNT(*) FROM reads WHERE camera_id=%s",
                         camera)[0][0])
    except Exception:  # schema not created yet
        return 0


def test_two_cameras_on_postgres_one_sigkilled_every_arrival_once(
        tmp_path: Path, postgres_url: str, mosquitto: MosquittoProcess,
        subscriber_factory: Any) -> None:
    configs = {cam: camera_config(tmp_path, cam, postgres_url, mosquitto.port)
               for cam in ("lane1", "lane2")}
    frames = {cam: repeated_samples(tmp_path / f"frames-{cam}", 1) for cam in configs}
    subprocess.run([sys.executable, "-m", "pipeline", "--config", str(configs["lane1"]),
                    "accounts", "import", str(SAMPLES / "accounts.csv")],
                   check=True, capture_output=True, cwd=tmp_path)
    sub = subscriber_factory(mosquitto.port, TOPIC)

    def start(cam: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "pipeline", "--config",
                                 str(configs[cam]), "run", "--source", str(frames[cam]),
                                 "--json"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, cwd=tmp_path)

    lane1, lane2 = start("lane1"), start("lane2")
    try:
        deadline = time.monotonic() + 180
        while reads_of(postgres_url, "lane1") < 3 and lane1.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lane1.poll() is None, "lane1 finished before it could be killed"
        lane1.kill()  # SIGKILL mid-run: no flush, no goodbye
        lane1.wait()
        killed_at = reads_of(postgres_url, "lane1")
        out, _ = lane2.communicate(timeout=600)
        assert lane2.returncode == 0
        lane2_result = json.loads(out)
        assert lane2_result["undelivered"] == 0  # lane2 also sent whatever lane1 left
        resumed = start("lane1")  # picks up its folder where the checkpoint is
        out, _ = resumed.communicate(timeout=600)
        assert resumed.returncode == 0
    finally:
        for proc in (lane1, lane2):
            if proc.poll() is None:
                proc.kill()
    recorded = {r[0]: r[1] for r in query(postgres_url, "SELECT event_id, camera_id FROM reads")}
    assert query(postgres_url, "SELECT COUNT(*) FROM outbox")[0][0] == 0
    assert set(recorded.values()) == {"lane1", "lane2"} and killed_at >= 3
    assert sum(1 for c in recorded.values() if c == "lane2") == lane2_result["arrivals"] >= 5
    got = sub.wait_for("arrival", len(recorded), timeout=30)
    time.sleep(0.5)
    got = sub.payloads("arrival")
    counts = Counter(p["event_id"] for p in got)
    assert set(counts) == set(recorded), (
        f"lost: {sorted(set(recorded) - set(counts))}, "
        f"unknown: {sorted(set(counts) - set(recorded))}")
    repeats = [e for e, n in counts.items() if n > 1]
    assert len(repeats) <= 1 and all(counts[e] == 2 for e in repeats), counts
    for payload in got:  # camera and site in every event
        assert payload["site"] == "multi"
        assert payload["camera_id"] == recorded[payload["event_id"]]
