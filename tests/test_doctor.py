"""``doctor`` against real parts: a healthy setup passes; a dead broker, a refusing ACL, a
dead camera and a key others can read each fail with what to do, in bounded time."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.events.local_broker import free_port
from tests.test_faults import ACL_ALLOWS_STATE_ONLY, acl_broker

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.real


def site(tmp_path: Path, port: int, extra: str = "") -> Path:
    cfg = tmp_path / "site.toml"
    cfg.write_text(f'database = "{tmp_path / "c.sqlite3"}"\n[camera]\nsite = "faults"\n'
                   f"[mqtt]\nport = {port}\n{extra}", encoding="utf-8")
    return cfg


def doctor(cfg: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["--config", str(cfg), "doctor", "--json", *args])
    report = json.loads(capsys.readouterr().out)
    return code, {c["name"]: c for c in report["checks"]}


def test_healthy_installation_passes(tmp_path: Path, mosquitto: Any,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = doctor(site(tmp_path, mosquitto.port), capsys, "--source",
                          str(ROOT / "sample_frames"))
    assert code == 0, checks
    assert "kennzeichen_de" in checks["model"]["detail"]
    assert checks["camera"]["detail"].endswith("first frame 1280x720")
    assert "schema version" in checks["database"]["detail"]


def test_each_fault_fails_with_what_to_do(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    dead = free_port()  # nothing listens: broker down, camera URL dead
    cfg = site(tmp_path, dead)
    key = tmp_path / "c.sqlite3.hmac-key"
    key.write_text("00" * 32, encoding="ascii")
    key.chmod(0o644)
    t0 = time.monotonic()
    code, checks = doctor(cfg, capsys, "--source", f"http://127.0.0.1:{dead}/video.mjpg")
    assert time.monotonic() - t0 < 30  # the model load is most of it; no wait is unbounded
    assert code == 1
    assert not checks["broker"]["ok"] and "start the broker" in checks["broker"]["fix"]
    assert not checks["camera"]["ok"] and "URL" in checks["camera"]["fix"]
    assert not checks["pseudonym key"]["ok"] and "chmod 600" in checks["pseudonym key"]["fix"]
    assert checks["database"]["ok"] and checks["model"]["ok"]


def test_broker_that_refuses_the_topic_fails(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    broker, _ = acl_broker(tmp_path, port, ACL_ALLOWS_STATE_ONLY)
    try:
        cfg = site(tmp_path, port, 'username = "pipeline"\npassword = "p"\n')
        code, checks = doctor(cfg, capsys)
    finally:
        broker.stop()
    assert code == 1
    assert not checks["broker"]["ok"] and "refused" in checks["broker"]["detail"]
    assert "ACL" in checks["broker"]["fix"]
