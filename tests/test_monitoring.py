"""Monitoring from the tools a Stadtwerke IT team already has: Prometheus metrics and Home
Assistant discovery, on a real run against a real camera stream and a real Mosquitto."""

from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pipeline.events.discovery import HomeAssistantSettings, discovery_messages
from pipeline.events.local_broker import MosquittoProcess, free_port
from pipeline.events.topics import Topics
from pipeline.metrics.exporter import DISPLAY, QUEUE, RUN, Exporter, start_exporter
from tests.mjpeg_camera import MjpegCamera
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_frames"


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def value(text: str, name: str) -> float:
    """Sum of every sample of ``name`` (all label sets); 0 when absent."""
    pattern = rf"^{re.escape(name)}(?:\{{[^}}]*\}})? ([0-9.e+-]+)$"
    return sum(float(v) for v in re.findall(pattern, text, re.M))


def plates() -> list[str]:
    with (SAMPLES / "ground_truth.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [re.sub(r"[^A-ZÄÖÜ0-9]", "", r["plate"]) for r in rows if r.get("plate")]


def test_exporter_serves_counters_gauges_and_stage_histograms() -> None:
    snapshot = {"frames": 7, "arrivals": {"matched": 2, "unregistered": 1}, "broker_up": 1.0,
                "recogniser_info": {"kennzeichen_de": 1.0}, "outbox_depth": None}
    port = free_port()
    exporter = start_exporter(RUN, lambda: snapshot, "127.0.0.1", port)
    assert exporter is not None
    try:
        exporter.observe("detect", 0.012)
        text = scrape(port)
    finally:
        exporter.stop()
    assert value(text, "kennzeichen_checkin_frames_total") == 7
    assert 'kennzeichen_checkin_arrivals_total{status="matched"} 2.0' in text
    assert value(text, "kennzeichen_checkin_arrivals_total") == 3
    assert 'kennzeichen_checkin_recogniser_info{recogniser="kennzeichen_de"} 1.0' in text
    assert 'kennzeichen_checkin_stage_seconds_count{stage="detect"} 1.0' in text
    assert "outbox_depth" not in text  # unknown yet: not reported rather than reported as 0
    assert start_exporter(RUN, lambda: snapshot, "127.0.0.1", 0) is None  # off by default


def test_the_grafana_dashboard_asks_only_for_metrics_the_processes_export() -> None:
    dashboard = (ROOT / "config" / "grafana-dashboard.json").read_text(encoding="utf-8")
    used = set(re.findall(r"kennzeichen_checkin_(\w+)", json.dumps(json.loads(dashboard))))
    known = {s.name + ("_total" if s.kind == "counter" else "") for s in RUN + QUEUE + DISPLAY}
    assert used and used <= known | {"stage_seconds_bucket"}, used - known


def test_a_failing_snapshot_never_breaks_the_scrape() -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("database away")

    exporter = Exporter(RUN, broken)
    exporter.observe("read", 0.05)
    assert "kennzeichen_checkin_stage_seconds_count" in exporter.text()


def test_discovery_announces_entities_without_anything_personal_and_can_take_them_back(
) -> None:
    topics = Topics("checkin/drive-in", "entrance")
    on = discovery_messages(HomeAssistantSettings(discovery=True), topics, "drive-in",
                            "entrance")
    off = discovery_messages(HomeAssistantSettings(discovery=False), topics, "drive-in",
                             "entrance")
    assert set(on) == set(off) and all(p == "" for p in off.values())  # removal: same topics
    own = {topics.availability, topics.camera, topics.status, topics.queue}
    for topic, payload in on.items():
        assert re.fullmatch(r"homeassistant/(sensor|binary_sensor)/kennzeichen_checkin_"
                            r"drive-in_entrance/\w+/config", topic), topic
        config = json.loads(payload)
        assert config["state_topic"] in own and config["unique_id"]
        assert config["device"]["identifiers"] == ["kennzeichen_checkin_drive-in_entrance"]
        # counts and states only: never a plate, a name or a customer number
        fields = re.findall(r"value_json\.(\w+)", config.get("value_template", ""))
        assert set(fields) <= {"state", "arrivals_today", "needs_review_today", "outbox_depth",
                               "cars_in_loop", "estimated_wait_min"}


@pytest.mark.real
def test_a_live_run_moves_its_metrics_and_announces_itself_to_home_assistant(
        tmp_path: Path, mosquitto: MosquittoProcess, subscriber_factory: Any) -> None:
    # 2 fps: every car is in view for several frames even on a busy machine (the live
    # grabber always takes the newest frame)
    camera = MjpegCamera(sorted(SAMPLES.glob("*.jpg")), free_port(), fps=2).start()
    metrics_port = free_port()
    config = tmp_path / "site.toml"
    config.write_text(
        f'database = "{tmp_path / "checkin.sqlite3"}"\nstatus_interval_s = 1.0\n'
        f'[camera]\nid = "entrance"\nsite = "monitor"\n[mqtt]\nport = {mosquitto.port}\n'
        f"[metrics]\nport = {metrics_port}\n[homeassistant]\ndiscovery = true\n",
        encoding="utf-8")
    sub = subscriber_factory(mosquitto.port, "#")
    run = subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(config), "run",
                            "--source", camera.url], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        if not sub.wait_for("/arrival", 1, timeout=180):
            run.terminate()
            pytest.fail("no arrival from the live camera: " + run.communicate()[1].decode()[-2000:])
        last: list[str] = []

        stages = ("detect", "recognise", "read", "match", "store", "publish")

        def arrivals_counted() -> bool:
            # the publish stage is observed when the broker's PUBACK is handled, which can
            # come after the subscriber already has the message
            last[:] = [scrape(metrics_port)]
            return (value(last[0], "kennzeichen_checkin_arrivals_total") >= 1
                    and all(f'stage_seconds_count{{stage="{s}"}}' in last[0] for s in stages))

        assert wait_until(arrivals_counted, 30), last
        text = last[0]
        assert value(text, "kennzeichen_checkin_frames_total") > 0
        assert value(text, "kennzeichen_checkin_broker_up") == 1
        assert value(text, "kennzeichen_checkin_camera_up") == 1
        assert not any(p in text for p in plates())  # nothing personal in the metrics
        configs = [(t, p) for t, p in sub.messages if t.startswith("homeassistant/")]
        assert len({t for t, _ in configs}) == 7
        assert all(p["state_topic"].startswith("checkin/monitor/") for _, p in configs)
        assert wait_until(lambda: any(p.get("arrivals_today", 0) >= 1
                                      for p in sub.payloads("/status/entrance")), 10)
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=60)
        assert run.returncode == 0, err.decode()[-2000:]
    finally:
        camera.stop()
        if run.poll() is None:
            run.kill()
    # discovery switched off: the next start takes the entities back (empty retained)
    config.write_text(config.read_text(encoding="utf-8").replace("discovery = true",
                                                                  "discovery = false")
                      .replace(f"port = {metrics_port}", "port = 0"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pipeline", "--config", str(config), "run",
                           "--source", str(SAMPLES)], capture_output=True, cwd=tmp_path,
                          timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    marker = subscriber_factory(mosquitto.port, "homeassistant/#")
    marker.client.publish("homeassistant/zz/marker", "{}", qos=1, retain=True)
    assert marker.wait_for("zz/marker", 1)
    assert [t for t, p in marker.messages if t.endswith("/config") and p] == []
