"""Prometheus metrics on an optional HTTP port, for teams that watch Grafana rather than MQTT.

Stage latencies are histograms observed where the time is measured (``observe``); everything
else (frames, arrivals by status, outbox, broker and camera up, queue length) is read from
the process's own state at each scrape, so the hot path pays one histogram update per stage
and nothing more. Names follow Prometheus conventions (``kennzeichen_checkin_*_total``,
``*_seconds``); labels carry stages, statuses and the recogniser's name, never a plate, a
name or a customer number.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.terminal import UserError

# prometheus_client is imported only when an exporter is built ([metrics] port set): every
# other command works even where it is not installed yet

log = logging.getLogger(__name__)

PREFIX = "kennzeichen_checkin_"
# a frame's stages take milliseconds to a second; publishing waits for the broker's PUBACK
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class MetricsSettings:
    host: str = "127.0.0.1"
    port: int = 0  # `run`; 0: off
    queue_port: int = 0  # `queue run`; 0: off
    display_port: int = 0  # `display`; 0: off


@dataclass(frozen=True)
class Spec:
    """One metric read at scrape time: ``name`` without the prefix (and, for a counter,
    without ``_total``); ``label`` when the value is a mapping label value -> number."""

    name: str
    kind: str  # counter | gauge
    help: str
    label: str | None = None


# Values a snapshot gives: a number, or label value -> number for a Spec with a label.
Snapshot = Mapping[str, float | Mapping[str, float] | None]

RUN = (
    Spec("frames", "counter", "Frames taken from the camera and processed"),
    Spec("frames_dropped", "counter", "Frames of a live camera skipped to keep up"),
    Spec("frames_corrupt", "counter", "Frames that could not be decoded"),
    Spec("camera_reconnects", "counter", "Times the camera was opened again"),
    Spec("arrivals", "counter", "Arrivals announced, by status", "status"),
    Spec("corrections", "counter", "Operator corrections recorded since this process started"),
    Spec("outbox_depth", "gauge", "Events waiting for the broker's acknowledgement"),
    Spec("outbox_oldest_age_seconds", "gauge", "Age of the oldest event in the outbox"),
    Spec("arrivals_not_stored", "gauge", "Arrivals the database has not taken yet"),
    Spec("broker_up", "gauge", "1 while connected to the MQTT broker"),
    Spec("camera_up", "gauge", "1 while the camera delivers frames"),
    Spec("recogniser_info", "gauge", "The recogniser in use (value 1)", "recogniser"),
)
QUEUE = (
    Spec("queue_cars", "gauge", "Cars in the loop"),
    Spec("queue_waiting", "gauge", "Cars in the loop not yet at a window"),
    Spec("queue_wait_estimate_seconds", "gauge", "Estimated wait for a car arriving now"),
    Spec("broker_up", "gauge", "1 while connected to the MQTT broker"),
)
DISPLAY = (
    Spec("broker_up", "gauge", "1 while connected to the MQTT broker"),
    Spec("queue_known", "gauge", "1 once the screens have a queue message to show"),
)


class _SnapshotCollector:
    """A Prometheus collector (``collect``) reading the process's state at each scrape."""

    def __init__(self, specs: Sequence[Spec], snapshot: Callable[[], Snapshot]) -> None:
        self.specs, self.snapshot = specs, snapshot

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        try:
            values = self.snapshot()
        except Exception:  # a scrape must never take the process down
            log.exception("metrics: reading the process state failed")
            return
        for spec in self.specs:
            value = values.get(spec.name)
            if value is None:
                continue
            family = (CounterMetricFamily if spec.kind == "counter" else GaugeMetricFamily)(
                PREFIX + spec.name, spec.help, labels=[spec.label] if spec.label else None)
            if spec.label:
                for label, number in dict(value).items():  # type: ignore[arg-type]
                    family.add_metric([label], float(number))
            else:
                family.add_metric([], float(value))  # type: ignore[arg-type]
            yield family


class Exporter:
    """One process's metrics. ``observe(stage, seconds)`` is the hook for the stages;
    ``serve(host, port)`` exposes ``/metrics``; ``text()`` is what a scrape returns."""

    def __init__(self, specs: Sequence[Spec], snapshot: Callable[[], Snapshot]) -> None:
        from prometheus_client import CollectorRegistry, Histogram

        self.registry = CollectorRegistry(auto_describe=False)
        self._stages = Histogram(PREFIX + "stage_seconds", "Time spent per stage (detect, "
                                 "recognise, read, match, store, publish, ...)", ["stage"],
                                 buckets=STAGE_BUCKETS, registry=self.registry)
        self._children: dict[str, Any] = {}
        self.registry.register(_SnapshotCollector(specs, snapshot))  # type: ignore[arg-type]
        self._server: Any = None

    def observe(self, stage: str, seconds: float) -> None:
        child = self._children.get(stage)
        if child is None:  # the label lookup once per stage, not once per frame
            child = self._children[stage] = self._stages.labels(stage)
        child.observe(seconds)

    def serve(self, host: str, port: int) -> None:
        from prometheus_client import start_http_server

        self._server, _thread = start_http_server(port, host, registry=self.registry)
        log.info("metrics on http://%s:%d/metrics", host, port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def text(self) -> str:
        from prometheus_client import generate_latest

        return generate_latest(self.registry).decode()


def start_exporter(specs: Sequence[Spec], snapshot: Callable[[], Snapshot], host: str,
                   port: int) -> Exporter | None:
    """An exporter serving on ``port``, or None when ``port`` is 0 (metrics off)."""
    if not port:
        return None
    exporter = Exporter(specs, snapshot)
    try:
        exporter.serve(host, port)
    except OSError as exc:
        raise UserError(f"cannot serve metrics on {host}:{port} ({exc.strerror}): is another "
                        "process using the port? Set another [metrics] port, or 0") from exc
    return exporter
