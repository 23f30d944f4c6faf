"""``doctor``: will this installation work? Each part a run needs, checked the way the run
uses it, with what is wrong and what to do. Exit 0 only when every check passes."""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import stat
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.assembly import models_dir, open_store
from pipeline.config import Settings
from pipeline.domain import OutboxItem, iso
from pipeline.events.mqtt_publisher import MqttPublisher
from pipeline.events.topics import Topics
from pipeline.reading.recognisers import (
    PLATE_MODEL,
    load_recogniser,
    plate_model_present,
)
from pipeline.terminal import print_json

CAMERA_TIMEOUT_S = 5.0
BROKER_TIMEOUT_S = 5.0
MIN_FREE_MB = 1000


@dataclass(frozen=True)
class Check:
    """One part: ``ok``, what was found, and (when not ok) what to do."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    seconds: float = 0.0


def _timed(name: str, probe: Callable[[], tuple[bool, str, str]]) -> Check:
    t0 = time.monotonic()
    try:
        ok, detail, fix = probe()
    except Exception as exc:  # a check that crashes is a failed check, not a traceback
        ok, detail, fix = False, f"{type(exc).__name__}: {exc}", "see the message"
    return Check(name, ok, detail, fix, round(time.monotonic() - t0, 2))


def check_model(settings: Settings) -> tuple[bool, str, str]:
    """The German model's files (with their checksum) and EasyOCR loading it offline."""
    if settings.reading.recogniser == "stock":
        load_recogniser(prefer="stock", threads=1)
        return True, "stock english_g2 (as configured)", ""
    models = models_dir(settings)
    if not plate_model_present(models):
        missing = [f"{PLATE_MODEL}{ext}" for ext in (".pth", ".yaml", ".py")
                   if not (models / f"{PLATE_MODEL}{ext}").is_file()]
        return (False, f"{', '.join(missing)} missing in {models}",
                "reinstall kennzeichen-checkin, or set [reading] models_dir to the folder "
                "that holds all three files")
    digest = hashlib.sha256((models / f"{PLATE_MODEL}.pth").read_bytes()).hexdigest()[:16]
    recogniser = load_recogniser(models, prefer="plate", threads=1)
    return True, f"{recogniser.name} from {models} (sha256 {digest}…), downloads disabled", ""


def check_broker(settings: Settings) -> tuple[bool, str, str]:
    """Connect with the configured login and TLS and publish one QoS 1 message on the
    site's doctor topic: the broker must acknowledge it (MQTT 5: and not refuse it)."""
    topic = f"{Topics(settings.prefix).prefix}/doctor/{settings.camera.id}"
    outbox = _OneMessage(OutboxItem(0, "doctor", topic, iso(datetime.now(UTC))))
    publisher = MqttPublisher(settings.mqtt, outbox, availability_topic=None)
    where = f"{settings.mqtt.host}:{settings.mqtt.port}"
    publisher.start()
    try:
        delivered = _delivered(publisher, outbox, BROKER_TIMEOUT_S)
    finally:
        publisher.stop()
    if delivered:
        return True, f"{where}: connected and published on {topic}", ""
    link = publisher.link_state or ""
    if link.startswith("refused"):  # CONNACK with a failure: login, ban, protocol
        reason = link.removeprefix("refused ")
        login = f"as {settings.mqtt.username!r}" if settings.mqtt.username else "anonymously"
        return (False, f"{where}: the broker refused the login {login} ({reason})",
                "check [mqtt] username and password (or KENNZEICHEN_MQTT_USERNAME / "
                "_PASSWORD) against the broker's password_file; anonymous access needs "
                "allow_anonymous true")
    if link == "unreachable":
        return (False, f"{where}: nothing accepts MQTT connections there",
                "start the broker (systemctl status mosquitto), or check [mqtt] host and port")
    if publisher.refused:
        return (False, f"{where}: the broker refused the test message on {topic} "
                f"({publisher.refused})", "let this login publish there in the broker's ACL "
                "(see config/mosquitto.example.conf), or fix topic_prefix / [camera] site")
    if not publisher.connected:
        return (False, f"{where}: no connection within {BROKER_TIMEOUT_S:.0f} s",
                "start the broker, or check [mqtt] host, port, username/password and tls_ca")
    return (False, f"{where}: connected, but the test message was not acknowledged",
            "see the broker's log")


def _delivered(publisher: MqttPublisher, outbox: _OneMessage, timeout: float) -> bool:
    """Like ``flush``, but a refused login or an unreachable broker ends the wait at once:
    waiting does not fix a password, and the doctor reports, it does not retry."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        link = publisher.link_state or ""
        if outbox.outbox_depth() == 0:
            return True
        if publisher.refused or link.startswith("refused") or link == "unreachable":
            return False
        publisher.notify()
        time.sleep(0.05)
    return outbox.outbox_depth() == 0


class _OneMessage:
    """The smallest outbox: one message, gone when the broker acknowledges it."""

    def __init__(self, item: OutboxItem) -> None:
        self.items = [item]

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        return self.items[:limit]

    def acknowledge(self, event_id: str) -> None:
        self.items = [i for i in self.items if i.event_id != event_id]

    def outbox_depth(self) -> int:
        return len(self.items)

    def deliver(self, send: Callable[[OutboxItem], bool], limit: int = 50) -> int:
        if self.items and send(self.items[0]):
            self.items.clear()
            return 1
        return 0


def check_camera(source: str) -> tuple[bool, str, str]:
    """Open the source and wait for one frame (a hung stream cannot hold the doctor up)."""
    from pipeline.frames.sources import open_source

    got: list[str] = []
    src = open_source(source)

    def first_frame() -> None:
        for frame in src.frames():
            got.append(f"{frame.image.shape[1]}x{frame.image.shape[0]}")
            return

    thread = threading.Thread(target=first_frame, name="doctor-camera", daemon=True)
    thread.start()
    thread.join(CAMERA_TIMEOUT_S)
    src.close()  # ends a live source's reconnect loop too
    if got:
        return True, f"{src.name}: first frame {got[0]}", ""
    return (False, f"{src.name}: no frame within {CAMERA_TIMEOUT_S:.0f} s",
            "check the camera's power, network and URL (user, password, path)")


def check_database(settings: Settings) -> tuple[bool, str, str]:
    """Reachable, migrated to this version and writable (a checkpoint row is written)."""
    try:
        store = open_store(settings)
        try:
            version = store.schema_version
            store.save_checkpoint("kennzeichen-checkin doctor", 0, False)
        finally:
            store.close()
    except Exception as exc:  # sqlite3/psycopg errors, PermissionError, a full disk
        shown = re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", settings.database)  # no password
        return False, f"{shown}: {type(exc).__name__}: {exc}", _database_fix(settings)
    return True, f"schema version {version}, writable", ""


def _database_fix(settings: Settings) -> str:
    db = settings.database
    if "://" in db and not db.startswith("sqlite://"):
        return ("check that the database server runs and that the URL, user and password "
                "(PGPASSWORD or ~/.pgpass) are right")
    path = Path(db.removeprefix("sqlite:///")).resolve()
    return (f"make {path} and its folder {path.parent} writable for the user that runs "
            "kennzeichen-checkin (SQLite writes a journal beside the file; a read-only mount "
            "or a full disk stops it too), or set database to a writable path")


def _nearest_folder(path: Path) -> Path:
    folder = path.resolve().parent
    while not folder.exists():
        folder = folder.parent
    return folder


def check_key(settings: Settings) -> tuple[bool, str, str]:
    """The pseudonym key: present (or created at the first run) and the owner's alone."""
    path = settings.hmac_key_path
    if not path.exists():
        folder = _nearest_folder(path)
        if not os.access(folder, os.W_OK):
            return (False, f"{path} does not exist and {folder} is not writable, so the first "
                    "run cannot create it", f"make {folder} writable, or set [privacy] "
                    "hmac_key_file to a key in a writable folder")
        return True, f"{path} does not exist yet: the first run creates it (mode 600)", ""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return (False, f"{path} is readable by others (mode {mode:o})",
                f"chmod 600 {path}")
    return True, f"{path} (mode {mode:o})", ""


def check_clock(settings: Settings) -> tuple[bool, str, str]:
    """The site's time zone exists and the clock is plausible (payloads carry UTC)."""
    tz = settings.privacy.timezone
    try:
        local = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return False, f"time zone {tz!r} unknown", "set [privacy] timezone, e.g. Europe/Berlin"
    if local.year < 2025:
        return False, f"the clock says {local:%Y-%m-%d}", "set the clock (NTP)"
    return True, f"{local:%Y-%m-%d %H:%M} {tz}", ""


def check_disk(settings: Settings) -> tuple[bool, str, str]:
    """Free space where the database (SQLite) and its outbox live."""
    db = settings.database
    if "://" in db and not db.startswith("sqlite://"):
        return True, "database on a server: its disk is the server's", ""
    folder = _nearest_folder(Path(db.removeprefix("sqlite:///")))
    free_mb = shutil.disk_usage(folder).free // 2**20
    if free_mb < MIN_FREE_MB:
        return (False, f"{free_mb} MB free on {folder}",
                f"free at least {MIN_FREE_MB} MB: a full disk stops arrivals being stored")
    if not os.access(folder, os.W_OK):
        return False, f"{folder} is not writable", "fix its owner or permissions"
    return True, f"{free_mb} MB free on {folder}", ""


def run_checks(settings: Settings, source: str | None) -> list[Check]:
    """All checks at once (each waits on something else: model load, broker, camera), so
    the whole takes as long as the slowest, not the sum of the timeouts."""
    probes: dict[str, Callable[[], tuple[bool, str, str]]] = {
        "model": lambda: check_model(settings),
        "broker": lambda: check_broker(settings),
        **({"camera": lambda: check_camera(source)} if source else {}),
        "database": lambda: check_database(settings),
        "pseudonym key": lambda: check_key(settings),
        "clock": lambda: check_clock(settings),
        "disk": lambda: check_disk(settings),
    }
    with ThreadPoolExecutor(max_workers=len(probes)) as pool:
        futures = [pool.submit(_timed, name, probe) for name, probe in probes.items()]
        return [f.result() for f in futures]


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    checks = run_checks(settings, args.source)
    if args.json:
        print_json({"ok": all(c.ok for c in checks), "checks": [asdict(c) for c in checks]})
    else:
        for c in checks:
            print(f"{'ok  ' if c.ok else 'FAIL'}  {c.name:<14} {c.detail}  ({c.seconds:.1f} s)")
            if not c.ok:
                print(f"      {'':<14} what to do: {c.fix}")
        bad = sum(not c.ok for c in checks)
        print("all checks passed" if not bad else f"{bad} check(s) failed", file=sys.stderr)
    return 0 if all(c.ok for c in checks) else 1


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    """The settings in effect (``--example``: the built-in ones) as commented TOML or JSON."""
    from pipeline.config import HEADER, settings_toml

    if args.example:
        settings = Settings()
    if args.json:
        values = asdict(settings)
        if values["mqtt"]["password"]:
            values["mqtt"]["password"] = "(set; not shown)"
        print_json(values)
        return 0
    where = f"built-in defaults, then {args.config}" if args.config else "built-in defaults"
    header = HEADER if args.example else (
        f"kennzeichen-checkin settings in effect: {where},\nthen the environment "
        "(KENNZEICHEN_MQTT_USERNAME / _PASSWORD). The password is not shown.")
    print(settings_toml(settings, header=header), end="")
    return 0
