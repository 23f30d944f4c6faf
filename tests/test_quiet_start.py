"""Starting the reader says nothing an operator cannot act on: no library warnings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.domain import ReadRecord
from tests.waiting import wait_until


@pytest.mark.real
def test_loading_the_recogniser_prints_no_warnings() -> None:
    code = ("from pipeline.reading.recognisers import load_recogniser; "
            "print(load_recogniser(threads=1).name)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "kennzeichen_de"
    assert "Warning" not in done.stderr, done.stderr


def test_an_operator_command_does_not_narrate_the_broker_connection(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``reads dismiss`` sends its correction through a helper client: the operator sees the
    result, not "connecting to MQTT broker" (only a failure is worth a line)."""
    import logging

    from pipeline.domain import OutboxItem
    from pipeline.events.local_broker import MosquittoProcess
    from pipeline.events.mqtt_client import MqttSettings
    from pipeline.events.mqtt_publisher import MqttPublisher
    from pipeline.store.sqlite_store import SqliteStore

    store = SqliteStore(tmp_path / "s.sqlite3")
    store.record_passage(_read("r1"), OutboxItem(0, "e1", "t/arrival", "{}"))
    broker = MosquittoProcess().start()
    try:
        with caplog.at_level(logging.INFO):
            helper = MqttPublisher(MqttSettings(port=broker.port), store, None)
            helper.start()
            assert helper.flush(30)
            helper.stop()
        assert "MQTT broker" not in caplog.text
        with caplog.at_level(logging.INFO):
            pipeline = MqttPublisher(MqttSettings(port=broker.port), store, "t/availability/c")
            pipeline.start()
            assert wait_until(lambda: pipeline.connected, 30)
            pipeline.stop()
        assert "connected to MQTT broker" in caplog.text  # the pipeline still says so
    finally:
        broker.stop()
        store.close()


def _read(read_id: str) -> ReadRecord:
    return ReadRecord(read_id, "2026-11-25T07:00:00.000Z", "cam", None, None, 0.9,
                      "unregistered", None, f"e-{read_id}")


def test_an_operator_command_says_an_unreachable_broker_without_promising_to_retry(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 23 walkthrough: 'reads assign' with the broker down logged ERROR 'cannot reach
    the MQTT broker ... retrying' and ended, its own line saying the correction waits in the
    outbox. The helper warns, without 'retrying'; the pipeline, which retries, still errs."""
    import logging

    from pipeline.domain import OutboxItem
    from pipeline.events.local_broker import free_port
    from pipeline.events.mqtt_client import MqttSettings
    from pipeline.events.mqtt_publisher import MqttPublisher
    from pipeline.store.sqlite_store import SqliteStore

    store = SqliteStore(tmp_path / "s.sqlite3")
    store.record_passage(_read("r1"), OutboxItem(0, "e1", "t/arrival", "{}"))
    down = MqttSettings(port=free_port())  # nothing listens there
    try:
        for topic, level, retrying in ((None, logging.WARNING, False),
                                       ("t/availability/c", logging.ERROR, True)):
            caplog.clear()
            with caplog.at_level(logging.INFO):
                client = MqttPublisher(down, store, topic)
                client.start()
                assert wait_until(lambda: "cannot reach" in caplog.text, 30)
                client.stop()
            (record,) = [r for r in caplog.records if "cannot reach" in r.getMessage()]
            assert record.levelno == level
            assert record.getMessage().endswith("; retrying") is retrying
    finally:
        store.close()
