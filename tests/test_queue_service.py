"""The queue service against a real Mosquitto: arrivals in, the retained queue topic out, the
window's ``served`` command (CLI and raw MQTT), corrections, and a restart that carries on."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pipeline import cli
from pipeline.events.local_broker import MosquittoProcess
from pipeline.events.mqtt_client import MqttSettings
from pipeline.queue.model import QueueSettings
from pipeline.queue.service import QueueService
from pipeline.store.sqlite_store import SqliteStore

PREFIX = "checkin/test"


def publish(port: int, topic: str, payload: dict[str, Any] | str) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    text = payload if isinstance(payload, str) else json.dumps(payload)
    client.publish(topic, text, qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def arrival(n: int, status: str = "matched", name: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "schema": 1, "type": "arrival", "event_id": str(uuid.uuid4()), "read_id": f"read{n}",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "site": "test", "camera_id": "entrance", "status": status, "confidence": 0.95}
    if name:
        event["account"] = {"customer_number": f"1000{n}", "display_name": name,
                            "visit_reason": "Jahresabrechnung"}
    return event


def wait_queue(sub: Any, accept: Any, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queues = sub.payloads("/queue")
        if queues and accept(queues[-1]):
            return queues[-1]
        time.sleep(0.02)
    raise AssertionError(f"queue never matched; last: {sub.payloads('/queue')[-1:]}")


def start_service(port: int, store: SqliteStore | None = None) -> QueueService:
    service = QueueService(MqttSettings(port=port), PREFIX, "test",
                           QueueSettings(windows=1, publish_interval_s=60), store)
    service.start()
    assert service.connected.wait(10)
    return service


def test_arrival_served_and_correction_through_the_broker(
        mosquitto: MosquittoProcess, subscriber_factory: Any, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "kc.sqlite3")
    service = start_service(mosquitto.port, store)
    sub = subscriber_factory(mosquitto.port, f"{PREFIX}/queue")
    try:
        first, second = arrival(1, name="Anna Schmidt"), arrival(2, "needs_review")
        publish(mosquitto.port, f"{PREFIX}/arrival", first)
        publish(mosquitto.port, f"{PREFIX}/arrival", second)
        queue = wait_queue(sub, lambda q: q["cars_in_loop"] == 2)
        assert queue["cars"][0]["display_name"] == "Anna Schmidt"
        assert queue["cars"][0]["at_window"] and not queue["cars"][1]["at_window"]
        assert queue["estimated_wait_s"] > 0  # one window, two cars
        # a redelivered arrival (at least once) does not add a car
        publish(mosquitto.port, f"{PREFIX}/arrival", first)
        # the operator checks the second car in for a customer: same place, new identity
        fix = {**arrival(2, name="Jens Becker"), "type": "correction",
               "supersedes": second["event_id"], "seen_at": second["timestamp"]}
        publish(mosquitto.port, f"{PREFIX}/arrival", fix)
        queue = wait_queue(sub, lambda q: q["cars"][-1].get("display_name") == "Jens Becker")
        assert queue["cars_in_loop"] == 2

        config = tmp_path / "site.toml"
        config.write_text(f'topic_prefix = "{PREFIX}"\n[mqtt]\nport = {mosquitto.port}\n',
                          encoding="utf-8")
        assert cli.main(["--config", str(config), "served", "10001", "--window", "1"]) == 0
        queue = wait_queue(sub, lambda q: q["cars_in_loop"] == 1)
        assert queue["cars"][0]["display_name"] == "Jens Becker"
        assert queue["cars"][0]["at_window"]  # moved up to the free window
        assert cli.main(["--config", str(config), "served", "nobody", "--timeout", "3"]) == 1
        # a window can also send the bare key with any MQTT client (mosquitto_pub)
        publish(mosquitto.port, f"{PREFIX}/queue/served", "read2")
        wait_queue(sub, lambda q: q["cars_in_loop"] == 0)
        facts = store.visit_facts("2000", "3000")
        assert sorted(f.kind for f in facts) == ["arrival", "arrival", "correction",
                                                 "served", "served"]
        assert all(len(f.at) == len("2026-11-25T07:42Z") for f in facts)
    finally:
        service.stop()
        store.close()


def test_restarted_service_carries_on_from_the_retained_queue(
        mosquitto: MosquittoProcess, subscriber_factory: Any) -> None:
    service = start_service(mosquitto.port)
    sub = subscriber_factory(mosquitto.port, f"{PREFIX}/queue")
    publish(mosquitto.port, f"{PREFIX}/arrival", arrival(1, name="Anna Schmidt"))
    wait_queue(sub, lambda q: q["cars_in_loop"] == 1)
    service.stop()
    service = start_service(mosquitto.port)
    try:
        publish(mosquitto.port, f"{PREFIX}/arrival", arrival(2))
        queue = wait_queue(sub, lambda q: q["cars_in_loop"] == 2)
        assert [c["read_id"] for c in queue["cars"]] == ["read1", "read2"]
    finally:
        service.stop()
