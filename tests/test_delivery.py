"""Delivery through a real Mosquitto: nothing leaves the outbox before the broker has it, and
nothing is lost while the broker is away."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pipeline.events.local_broker import MosquittoProcess, free_port
from pipeline.events.mqtt_publisher import MqttPublisher, MqttSettings
from pipeline.store.sqlite_store import OutboxItem, ReadRecord, SqliteStore


def queue_events(store: SqliteStore, start: int, count: int) -> list[str]:
    ids = []
    for i in range(start, start + count):
        event_id = f"event-{i:04d}"
        store.record_passage(
            ReadRecord(f"r{i}", "2026-11-25T07:00:00.000Z", "cam", None, None, 0.9,
                       "unregistered", None, event_id),
            OutboxItem(0, event_id, "checkin/test/arrival", f'{{"event_id": "{event_id}"}}'))
        ids.append(event_id)
    return ids


def test_events_wait_in_the_outbox_until_the_broker_comes(tmp_path: Path,
                                                          subscriber_factory: Any) -> None:
    port = free_port()
    store = SqliteStore(tmp_path / "s.sqlite3")
    publisher = MqttPublisher(MqttSettings(port=port, ack_timeout_s=2), store,
                              "checkin/test/availability")
    publisher.start()
    ids = queue_events(store, 0, 5)
    publisher.notify()
    time.sleep(1.0)
    assert store.outbox_depth() == 5  # no broker: nothing is dropped
    broker = MosquittoProcess(port=port).start()
    try:
        sub = subscriber_factory(port, "checkin/test/#")
        assert publisher.flush(30), "outbox not drained after the broker came up"
        got = sub.wait_for("arrival", 5)
        assert sorted({p["event_id"] for p in got}) == ids
        assert "online" in sub.wait_for("availability", 1)
    finally:
        publisher.stop()
        broker.stop()
        store.close()


def test_broker_killed_and_restarted_loses_nothing(tmp_path: Path,
                                                   subscriber_factory: Any) -> None:
    port = free_port()
    broker = MosquittoProcess(port=port).start()
    store = SqliteStore(tmp_path / "s.sqlite3")
    publisher = MqttPublisher(MqttSettings(port=port, ack_timeout_s=2), store,
                              "checkin/test/availability")
    publisher.start()
    # A subscriber is connected whenever the broker is up (the test broker keeps no
    # sessions, so each restart gets a fresh subscriber before the publisher reconnects).
    subs = [subscriber_factory(port, "checkin/test/arrival")]
    expected: list[str] = []
    try:
        for round_no in range(3):
            expected += queue_events(store, round_no * 20, 20)
            publisher.notify()
            time.sleep(0.05)
            broker.kill()  # SIGKILL mid-delivery
            expected += queue_events(store, 1000 + round_no * 10, 10)  # queued while down
            broker = MosquittoProcess(port=port).start()
            subs.append(subscriber_factory(port, "checkin/test/arrival"))
            assert publisher.flush(60), "outbox not drained after the restart"
        assert store.outbox_depth() == 0
        time.sleep(0.5)
        seen = {p["event_id"] for s in subs for p in s.payloads("arrival")}
        assert set(expected) <= seen, f"lost: {sorted(set(expected) - seen)}"
    finally:
        publisher.stop()
        broker.stop()
        store.close()
