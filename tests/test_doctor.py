"""``doctor`` against real parts: a healthy setup passes; a dead broker, a refusing ACL, a
dead camera and a key others can read each fail with what to do, in bounded time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.events.local_broker import MosquittoProcess, free_port
from pipeline.store.sqlite_store import SqliteStore
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


def no_model(tmp_path: Path) -> str:
    """A models folder without the German model: the model check fails at once, so these
    tests wait for the part they test, not for EasyOCR to load."""
    folder = tmp_path / "models"
    folder.mkdir()
    for ext in (".yaml", ".py"):
        (folder / f"kennzeichen_de{ext}").write_text("", encoding="utf-8")
    return f'[reading]\nmodels_dir = "{folder}"\n'


def test_missing_model_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = doctor(site(tmp_path, free_port(), no_model(tmp_path)), capsys)
    assert code == 1
    assert "kennzeichen_de.pth missing" in checks["model"]["detail"]
    assert ".yaml" not in checks["model"]["detail"]  # that one is there


def test_wrong_password_says_the_login_was_refused_at_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    broker = MosquittoProcess(port=port, users={"pipeline": "right"}).start()
    try:
        cfg = site(tmp_path, port, 'username = "pipeline"\npassword = "wrong"\n'
                   + no_model(tmp_path))
        code, checks = doctor(cfg, capsys)
    finally:
        broker.stop()
    assert code == 1
    broker_check = checks["broker"]
    assert not broker_check["ok"] and "refused the login" in broker_check["detail"]
    assert "username" in broker_check["fix"] and "password" in broker_check["fix"]
    assert broker_check["seconds"] < 3  # not the 5 s timeout: waiting does not fix a password


def test_broker_down_fails_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = doctor(site(tmp_path, free_port(), no_model(tmp_path)), capsys)
    assert code == 1
    assert not checks["broker"]["ok"] and "start the broker" in checks["broker"]["fix"]
    assert checks["broker"]["seconds"] < 3


def immutable(*paths: Path) -> bool:
    """Read-only even for root (``chattr +i``); False where that cannot be done here."""
    if os.geteuid() != 0:
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        return True
    chattr = shutil.which("chattr")
    return chattr is not None and subprocess.run(
        [chattr, "+i", *map(str, paths)], capture_output=True).returncode == 0


def test_read_only_database_says_which_file_and_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    db = folder / "c.sqlite3"
    SqliteStore(db).close()  # migrated, then made read-only with its folder
    cfg = tmp_path / "site.toml"
    cfg.write_text(f'database = "{db}"\n[mqtt]\nport = {free_port()}\n{no_model(tmp_path)}',
                   encoding="utf-8")
    if not immutable(db, folder):
        pytest.skip("cannot make a file read-only for this user here (chattr)")
    try:
        code, checks = doctor(cfg, capsys)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(db), str(folder)], check=True)
        folder.chmod(0o755)
        db.chmod(0o644)
    assert code == 1
    database = checks["database"]
    assert not database["ok"] and str(db) in database["detail"]
    assert "writable" in database["fix"] and str(folder) in database["fix"]
    key = checks["pseudonym key"]  # the first run could not create it there either
    assert not key["ok"] and "not writable" in key["detail"]
