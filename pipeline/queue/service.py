"""The queue service: arrivals and the windows' ``served`` commands in over MQTT, the retained
``<prefix>/queue`` topic out, anonymous facts into the statistics table.

It keeps a persistent broker session (fixed client id), so arrivals published while it was
down are delivered when it is back, and it carries on from its own retained message after a
restart. It republishes every ``publish_interval_s`` so waiting minutes and timeouts move on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import paho.mqtt.client as mqtt

from pipeline.domain import iso
from pipeline.events.mqtt_client import MqttSettings, make_client
from pipeline.events.topics import Topics
from pipeline.queue.model import (
    Fact,
    QueueSettings,
    QueueState,
    arrive,
    correct,
    estimate_wait_s,
    expire,
    serve,
)
from pipeline.queue.payload import car_from_event, merge, queue_payload, state_from_payload

log = logging.getLogger(__name__)


class FactSink(Protocol):
    """Where the anonymous facts go (the store's statistics table)."""

    def add_visit_fact(self, kind: str, at: str, status: str | None, wait_s: float | None,
                       service_s: float | None) -> None:
        ...


def minute(at: float) -> str:
    """Fact times are kept to the minute: enough for 15-minute statistics, no more."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%MZ")


def served_command(payload: bytes) -> tuple[str, str]:
    """(key, command id) of a ``served`` message: JSON ``{"key": ..., "id": ...}`` or the
    bare key as text (handy with mosquitto_pub)."""
    text = payload.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text, ""
    if isinstance(data, dict):
        return str(data.get("key") or ""), str(data.get("id") or "")
    return str(data), ""


class QueueService:
    """Keeps the queue state for one site; ``start()``, ``stop()``."""

    def __init__(self, mqtt_settings: MqttSettings, prefix: str, site: str,
                 settings: QueueSettings, facts: FactSink | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.site = site
        self.facts = facts
        self._now = clock
        self.arrival_topic = Topics(prefix).arrival
        self.queue_topic = Topics(prefix).queue
        self.served_topic = Topics(prefix).served
        self.state = QueueState()
        self._lock = threading.RLock()
        self._restored = False
        self._last_command: dict[str, Any] | None = None
        self._last_publish = 0.0
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.client = make_client(mqtt_settings, f"kennzeichen-queue-{site}", persistent=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_message = self._on_message
        self._mqtt = mqtt_settings
        self._ticker = threading.Thread(target=self._tick_loop, name="queue-tick", daemon=True)

    def start(self) -> None:
        self.client.connect_async(self._mqtt.host, self._mqtt.port,
                                  keepalive=self._mqtt.keepalive)
        self.client.loop_start()
        self._ticker.start()

    def figures(self) -> dict[str, float]:
        """Cars in the loop, those not yet at a window, the wait for a car arriving now (s)
        and whether the broker is there: what the metrics show."""
        with self._lock:
            cars = self.state.cars
            at_windows = sum(1 for c in cars if c.service_start is not None)
            wait_s = estimate_wait_s(self.state, self._now(), self.settings)
        return {"queue_cars": len(cars), "queue_waiting": len(cars) - at_windows,
                "queue_wait_estimate_seconds": wait_s, "broker_up": float(self.connected.is_set())}

    def stop(self) -> None:
        self._stop.set()
        self._ticker.join(timeout=5)
        self.client.disconnect()
        self.client.loop_stop()

    # -- transitions ----------------------------------------------------------------------

    def handle_event(self, payload: dict[str, Any]) -> None:
        """An arrival, or a correction that replaces the event it supersedes."""
        now = self._now()
        car = car_from_event(payload, now)
        kind = payload.get("type", "arrival")
        with self._lock:
            if kind == "correction":
                keep = car if car is not None and car.status != "dismissed" else None
                self.state, facts = correct(self.state, str(payload.get("supersedes") or ""),
                                            keep, now, self.settings)
            elif kind == "arrival" and car is not None:
                self.state, facts = arrive(self.state, car, now, self.settings)
            else:
                return
            self._record(facts)
            if facts:
                self._publish(now)

    def handle_served(self, key: str, command_id: str = "") -> bool:
        now = self._now()
        with self._lock:
            self.state, facts, car = serve(self.state, key, now, self.settings)
            self._record(facts)
            self._last_command = {"id": command_id, "key": key, "found": car is not None,
                                  "at": iso(datetime.fromtimestamp(now, UTC))}
            self._publish(now)
        if car is None:
            log.warning("served: no car %r in the loop (read id, event id or customer number)",
                        key)
        return car is not None

    def tick(self) -> None:
        """Time out cars that left without service; republish now and then."""
        now = self._now()
        with self._lock:
            self.state, facts = expire(self.state, now, self.settings)
            self._record(facts)
            if facts or now - self._last_publish >= self.settings.publish_interval_s:
                self._publish(now)

    def _record(self, facts: tuple[Fact, ...]) -> None:
        if self.facts is None:
            return
        for fact in facts:
            try:
                self.facts.add_visit_fact(fact.kind, minute(fact.at), fact.status,
                                          None if fact.wait_s is None else round(fact.wait_s),
                                          None if fact.service_s is None
                                          else round(fact.service_s))
            except Exception:  # statistics must never stop the queue
                log.exception("could not store a statistics fact")

    def _publish(self, now: float) -> None:
        payload = queue_payload(self.state, now, self.settings, self.site, self._last_command)
        self._last_publish = now
        if self.connected.is_set():
            self.client.publish(self.queue_topic, json.dumps(payload, ensure_ascii=False),
                                qos=1, retain=True)

    # -- paho callbacks (network thread) and the ticker -----------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object,
                    reason_code: mqtt.ReasonCode, properties: object) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker refused the queue service (%s); retrying", reason_code)
            return
        self.connected.set()
        topics = [(self.arrival_topic, 1), (self.served_topic, 1)]
        if not self._restored:
            topics.append((self.queue_topic, 1))
        client.subscribe(topics)
        log.info("queue service connected to %s:%d", self._mqtt.host, self._mqtt.port)
        with self._lock:
            if self._restored:
                self._publish(self._now())

    def _on_message(self, client: mqtt.Client, userdata: object,
                    msg: mqtt.MQTTMessage) -> None:
        try:
            if msg.topic == self.served_topic:
                self.handle_served(*served_command(msg.payload))
            elif msg.topic == self.queue_topic:
                if msg.retain:  # not our own live updates, only what was kept from before
                    self._restore(json.loads(msg.payload))
            else:
                self.handle_event(json.loads(msg.payload))
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("ignoring a malformed message on %s (%s)", msg.topic, exc)

    def _restore(self, payload: dict[str, Any]) -> None:
        """Our own retained message from before a restart: carry on from it (once)."""
        with self._lock:
            if self._restored:
                return
            self._restored = True
            restored = state_from_payload(payload, self._now())
            self.state = merge(self.state, restored, self.settings)
            log.info("queue restored from the retained message: %d car(s)", len(self.state.cars))
            self._publish(self._now())
        self.client.unsubscribe(self.queue_topic)

    def _tick_loop(self) -> None:
        first = time.monotonic()
        while not self._stop.wait(1.0):
            with self._lock:
                if not self._restored and time.monotonic() - first > 3:
                    self._restored = True  # nothing retained: a fresh queue
                    self._publish(self._now())
            try:
                self.tick()
            except Exception:
                log.exception("queue tick failed")


def new_command_id() -> str:
    return uuid.uuid4().hex[:12]
