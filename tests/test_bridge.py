"""A site Mosquitto bridged to a central one (Mosquitto's own bridge), both real: the central
broker is SIGKILLed and restarted three times while arrivals flow; the site keeps accepting
them and the central subscriber still gets every one."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.domain import OutboxItem, ReadRecord
from pipeline.events.local_broker import MosquittoProcess, free_port, mosquitto_binary
from pipeline.events.mqtt_client import MqttSettings
from pipeline.events.mqtt_publisher import MqttPublisher
from pipeline.store.sqlite_store import SqliteStore
from tests.bridge import bridge_config

pytestmark = pytest.mark.real

TOPIC = "checkin/bridge/arrival"
EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "mosquitto-bridge.example.conf"


def test_the_documented_bridge_is_the_tested_one() -> None:
    documented = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for line in bridge_config("central.example.internal", 8883).splitlines():
        assert line in documented, line


def central_subscriber(central_port: int, subscriber_factory: Any, timeout: float = 20) -> Any:
    """A fresh subscriber to the arrivals on the central broker, returned once the bridge has
    (re)connected: Mosquitto announces that there (``notifications true``)."""
    sub = subscriber_factory(central_port, TOPIC)
    state = subscriber_factory(central_port, "$SYS/broker/connection/#")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(t.endswith("/state") and str(p) == "1" for t, p in list(state.messages)):
            return sub
        time.sleep(0.05)
    raise AssertionError("the bridge did not connect to the central broker")


def test_central_link_cut_three_times_during_a_run_loses_no_arrival(
        tmp_path: Path, subscriber_factory: Any) -> None:
    if mosquitto_binary() is None:
        pytest.fail("mosquitto is not installed (apt-get install -y mosquitto)")
    central_port = free_port()
    central = MosquittoProcess(port=central_port).start()
    site = MosquittoProcess(extra_config=bridge_config("127.0.0.1", central_port)).start()
    central_subs: list[Any] = []
    site_sub = subscriber_factory(site.port, TOPIC)
    store = SqliteStore(tmp_path / "site.sqlite3")
    publisher = MqttPublisher(MqttSettings(port=site.port, ack_timeout_s=2), store,
                              "checkin/bridge/availability")
    expected = [f"event-{i:04d}" for i in range(240)]
    producing = threading.Event()

    def camera() -> None:  # ~30 arrivals a second, as a busy site would never see
        for i, event_id in enumerate(expected):
            store.record_passage(
                ReadRecord(f"r{i}", "2026-11-25T07:00:00.000Z", "entrance", None, None, 0.9,
                           "unregistered", None, event_id),
                OutboxItem(0, event_id, TOPIC, f'{{"event_id": "{event_id}"}}'))
            publisher.notify()
            time.sleep(0.033)
        producing.set()

    producer = threading.Thread(target=camera)
    try:
        central_subs.append(central_subscriber(central_port, subscriber_factory))
        publisher.start()
        producer.start()
        for _ in range(3):
            time.sleep(1.0)
            central.kill()  # the WAN link (and the central broker) gone
            time.sleep(1.0)
            central = MosquittoProcess(port=central_port).start()
            central_subs.append(central_subscriber(central_port, subscriber_factory))
        producer.join(60)
        assert producing.is_set()
        assert publisher.flush(30), "the site broker stopped accepting arrivals"
        deadline = time.monotonic() + 30
        received: set[str] = set()
        while time.monotonic() < deadline and not set(expected) <= received:
            received = {p["event_id"] for s in central_subs for p in s.payloads("arrival")}
            time.sleep(0.1)
        at_site = {p["event_id"] for p in site_sub.payloads("arrival")}
        assert at_site == set(expected)  # the site never noticed
        assert set(expected) <= received, f"lost at the centre: {sorted(set(expected) - received)}"
    finally:
        publisher.stop()
        store.close()
        site.stop()
        central.stop()
