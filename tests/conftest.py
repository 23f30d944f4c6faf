"""Shared fixtures: the real EasyOCR reader (loaded once per session), a real Mosquitto on a
free loopback port, and the shared evaluation photos (tests skip when they are absent)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from pipeline.detection.morphology import MorphologyDetector
from pipeline.events.local_broker import MosquittoProcess, mosquitto_binary
from pipeline.plate.districts import district_codes
from pipeline.reading.plate_reader import PlateReader
from pipeline.reading.recognisers import Recogniser, load_recogniser

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FRAMES = ROOT / "sample_frames"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _drop_cli_log_handlers() -> Iterator[None]:
    """``main()`` logs to the stderr of the test that called it; a later test must not log
    to that closed stream ('--- Logging error ---')."""
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_kennzeichen", False)]:
        root.removeHandler(handler)
        handler.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    return SHARED_DATA


@pytest.fixture(scope="session")
def recogniser() -> Recogniser:
    """The product's recogniser with real weights, downloads disabled: loaded once."""
    return load_recogniser(threads=2)


@pytest.fixture(scope="session")
def plate_reader(recogniser: Recogniser) -> PlateReader:
    return PlateReader(MorphologyDetector(), recogniser, district_codes())


@pytest.fixture
def mosquitto() -> Iterator[MosquittoProcess]:
    if mosquitto_binary() is None:
        pytest.fail("mosquitto is not installed (apt-get install -y mosquitto); .ci/run does it")
    broker = MosquittoProcess().start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Any]:
    """A real PostgreSQL (Debian's binaries) on a free loopback port, once per session."""
    from pipeline.bench.pg_cluster import PostgresCluster, pg_bin_dir

    if pg_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql; "
                    ".ci/setup --dev does it)")
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: Any, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database in the session's cluster."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[-50:]
    return str(postgres_cluster.create_database(name))


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database setting of a fresh store, on each engine in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 's.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


class Subscriber:
    """A real MQTT subscriber collecting JSON payloads of a topic filter."""

    def __init__(self, port: int, topic: str, auth: tuple[str, str] | None = None) -> None:
        self.messages: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        if auth:
            self.client.username_pw_set(*auth)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._ready.wait(10), "subscription not confirmed by the broker"

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            payload: Any = json.loads(msg.payload)
        except ValueError:
            payload = msg.payload.decode("utf-8", "replace")
        with self._lock:
            self.messages.append((msg.topic, payload))

    def payloads(self, suffix: str) -> list[Any]:
        with self._lock:
            return [p for t, p in self.messages if t.endswith(suffix)]

    def wait_for(self, suffix: str, count: int, timeout: float = 20.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.payloads(suffix)) < count:
            time.sleep(0.05)
        return self.payloads(suffix)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def subscriber_factory() -> Iterator[Any]:
    made: list[Subscriber] = []

    def make(port: int, topic: str = "#", auth: tuple[str, str] | None = None) -> Subscriber:
        sub = Subscriber(port, topic, auth)
        made.append(sub)
        return sub

    yield make
    for sub in made:
        sub.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs the test can fill to the last byte and empty again."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (needs root): {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> None:
    """Write a filler file until the filesystem has no byte left."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        chunk = b"\0" * 65536
        while True:
            try:
                os.write(fd, chunk)
            except OSError:
                if len(chunk) == 1:
                    return
                chunk = chunk[: len(chunk) // 2]
    finally:
        os.close(fd)
