"""The queue screens in real headless Chromium (Debian's chromium driven by Playwright): an
arrival published on a real Mosquitto shows on the window page within a second (latency
measured in the page), the entrance page shows the count and nothing personal, and both come
back after a broker restart. Screenshots and the latency figures go to test-artifacts/."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from pipeline.display.server import DisplayServer
from pipeline.display.views import DisplaySettings
from pipeline.events.local_broker import MosquittoProcess
from pipeline.events.mqtt_client import MqttSettings
from pipeline.queue.model import QueueSettings
from pipeline.queue.service import QueueService
from tests.test_queue_service import PREFIX, arrival

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
NAMES = ["Anna Schmidt", "Jens Becker", "Jonas Zimmermann", "Petra Wagner", "Murat Yilmaz",
         "Sofia Rossi", "Lena Hoffmann", "Karl Maier"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not installed (.ci/setup --dev)")


class Publisher:
    """One connected client, so the clock starts at the publish, not at a connect."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def send(self, payload: dict[str, Any]) -> float:
        """Publish an arrival; returns the time of publishing in ms since the epoch."""
        sent = time.time() * 1000
        self.client.publish(f"{PREFIX}/arrival", json.dumps(payload), qos=1)
        return sent

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_arrivals_show_on_the_screens_within_a_second(mosquitto: MosquittoProcess) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    broker_settings = MqttSettings(port=mosquitto.port)
    service = QueueService(broker_settings, PREFIX, "test",
                           QueueSettings(windows=4, publish_interval_s=60))
    service.start()
    display = DisplayServer(broker_settings, PREFIX,
                            DisplaySettings(port=0, title="Drive-in Test"), "name").start()
    publisher = Publisher(mosquitto.port)
    restarted: MosquittoProcess | None = None
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                        headless=True)
            window = browser.new_page(viewport={"width": 1920, "height": 1080})
            entrance = browser.new_page(viewport={"width": 1920, "height": 1080})
            window.goto(f"{display.url}/window")
            entrance.goto(f"{display.url}/entrance")
            for page in (window, entrance):
                page.wait_for_function("window.kcUpdates > 0", timeout=10_000)
            assert service.connected.wait(10)

            latencies = []
            for i, name in enumerate(NAMES[:6]):
                event = arrival(i, "unregistered" if i == 4 else "matched",
                                None if i == 4 else name)
                sent = publisher.send(event)
                window.wait_for_function(f"'{event['event_id']}' in window.kcSeen",
                                         timeout=5_000)
                latencies.append(window.evaluate(f"window.kcSeen['{event['event_id']}']")
                                 - sent)
                time.sleep(0.2)
            entrance.wait_for_function(
                "document.getElementById('cars').textContent.startsWith('6 ')", timeout=5_000)
            assert "Anna Schmidt" in window.inner_text("#rows")
            assert "nicht registriert" in window.inner_text("#rows")
            entrance_text = entrance.content()
            for name in NAMES:
                assert name not in entrance_text
            assert "Min." in entrance.inner_text("#wait") or "Keine" in entrance.inner_text(
                "#wait")
            window.screenshot(path=str(ARTIFACTS / "display_window.png"))
            entrance.screenshot(path=str(ARTIFACTS / "display_entrance.png"))

            # the broker goes away and comes back: the pages say so, then carry on
            mosquitto.kill()
            window.wait_for_function(
                "document.getElementById('status').classList.contains('offline')",
                timeout=10_000)
            window.screenshot(path=str(ARTIFACTS / "display_window_broker_down.png"))
            restarted = MosquittoProcess(port=mosquitto.port).start()
            publisher.close()
            assert service.connected.wait(20)
            publisher = Publisher(mosquitto.port)
            late = arrival(7, name=NAMES[7])
            time.sleep(0.5)
            publisher.send(late)
            window.wait_for_function(f"'{late['event_id']}' in window.kcSeen", timeout=20_000)
            window.wait_for_function(
                "!document.getElementById('status').classList.contains('offline')",
                timeout=20_000)
            entrance.wait_for_function(
                "document.getElementById('cars').textContent.startsWith('7 ')", timeout=20_000)
            browser.close()
        figures = {"arrivals": len(latencies),
                   "latency_ms": [round(v, 1) for v in latencies],
                   "median_ms": round(statistics.median(latencies), 1),
                   "max_ms": round(max(latencies), 1)}
        (ARTIFACTS / "display_latency.json").write_text(json.dumps(figures, indent=2) + "\n",
                                                        encoding="utf-8")
        print(f"\narrival -> window page latency: {figures}")
        assert max(latencies) < 1000, figures
    finally:
        publisher.close()
        display.stop()
        service.stop()
        if restarted is not None:
            restarted.stop()
