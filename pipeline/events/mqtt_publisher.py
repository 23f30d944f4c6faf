"""Deliver the outbox to an MQTT broker with paho-mqtt, QoS 1, and reconnect when it goes away.

A background thread publishes outbox events in order and removes each one only after the
broker's PUBACK. While the broker is away, events stay in the outbox (on disk), the camera
keeps running, and paho reconnects with exponential backoff. The availability topic is
retained ``online`` while connected and the broker publishes the ``offline`` last will when the
connection dies.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pipeline.store.sqlite_store import OutboxItem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MqttSettings:
    """Broker connection; secrets come from the config file or the environment, never logs."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = ""
    username: str = ""
    password: str = ""
    tls_ca: str = ""
    keepalive: int = 30
    ack_timeout_s: float = 10.0


class Outbox(Protocol):
    """What the publisher needs from the store."""

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        ...

    def acknowledge(self, event_id: str) -> None:
        ...

    def outbox_depth(self) -> int:
        ...

    def deliver(self, send: Callable[[OutboxItem], bool], limit: int = 50) -> int:
        """Claim, ``send`` and drop up to ``limit`` events no other worker is sending."""
        ...


class MqttPublisher:
    """Drains an outbox to the broker; call ``start()``, ``notify()`` after new events,
    ``flush()`` to wait for delivery and ``stop()`` at the end."""

    def __init__(self, settings: MqttSettings, outbox: Outbox,
                 availability_topic: str | None) -> None:
        """``availability_topic`` None: a helper client (operator commands) that must not
        announce the pipeline online or offline."""
        self.settings = settings
        self.outbox = outbox
        self.availability_topic = availability_topic
        self.published = 0
        self.on_ack: Callable[[str], None] | None = None  # e.g. the benchmark's latency clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="mqtt-outbox", daemon=True)
        client_id = settings.client_id or f"kennzeichen-checkin-{uuid.uuid4().hex[:8]}"
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=True)
        if settings.username:
            self.client.username_pw_set(settings.username, settings.password or None)
        if settings.tls_ca:
            self.client.tls_set(ca_certs=settings.tls_ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if availability_topic:
            self.client.will_set(availability_topic, "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        log.info("connecting to MQTT broker %s:%d", self.settings.host, self.settings.port)
        self.client.connect_async(self.settings.host, self.settings.port,
                                  keepalive=self.settings.keepalive)
        self.client.loop_start()
        self._thread.start()

    def notify(self) -> None:
        """New events are in the outbox."""
        self._wake.set()

    def publish_retained(self, topic: str, payload: str) -> None:
        """Fire-and-forget retained state (status, camera); skipped while disconnected, since
        the next heartbeat replaces it anyway."""
        if self.connected:
            self.client.publish(topic, payload, qos=1, retain=True)

    def flush(self, timeout: float) -> bool:
        """Wait until the outbox is empty; False if events are still pending after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.outbox.outbox_depth() == 0:
                return True
            self._wake.set()
            time.sleep(0.05)
        return self.outbox.outbox_depth() == 0

    def stop(self) -> None:
        self._stop.set()  # from here on a disconnect is ours, not news
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.settings.ack_timeout_s + 2)
        if self.connected and self.availability_topic:
            info = self.client.publish(self.availability_topic, "offline", qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=2)
        self.client.disconnect()
        self.client.loop_stop()

    # -- paho callbacks (network thread) --------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object,
                    reason_code: mqtt.ReasonCode, properties: object) -> None:
        if reason_code.is_failure:
            hint = ""
            if reason_code.value in (134, 135, 4, 5):
                hint = ": check mqtt.username / mqtt.password (or KENNZEICHEN_MQTT_PASSWORD)"
            log.error("MQTT broker refused the connection (%s)%s; retrying", reason_code, hint)
            return
        log.info("connected to MQTT broker %s:%d", self.settings.host, self.settings.port)
        if self.availability_topic:
            client.publish(self.availability_topic, "online", qos=1, retain=True)
        self._connected.set()
        self._wake.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object,
                       reason_code: mqtt.ReasonCode, properties: object) -> None:
        if self._connected.is_set() and not self._stop.is_set():
            log.warning("lost MQTT broker (%s); %d event(s) wait in the outbox; reconnecting",
                        reason_code, self.outbox.outbox_depth())
        self._connected.clear()

    # -- delivery thread ------------------------------------------------------------------

    def _drain(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=0.5)
            self._wake.clear()
            if not self._connected.is_set():
                continue
            try:
                self._deliver_pending()
            except Exception:  # keep delivering whatever goes wrong with one batch
                log.exception("outbox delivery failed; will retry")
                time.sleep(1)

    def _deliver_pending(self) -> None:
        # the store claims each event (no other worker sends it) and drops it after PUBACK
        while self._connected.is_set():
            if self.outbox.deliver(self._publish_one, 50) < 50:
                return

    def _publish_one(self, item: OutboxItem) -> bool:
        deadline = time.monotonic() + self.settings.ack_timeout_s
        try:
            info = self.client.publish(item.topic, item.payload, qos=1)
            while not info.is_published():
                if not self._connected.is_set() or time.monotonic() > deadline:
                    log.debug("no PUBACK for %s yet; it stays in the outbox", item.event_id)
                    return False
                time.sleep(0.005)
        except (RuntimeError, ValueError) as exc:  # paho: not connected, queue full
            log.debug("publish of %s failed (%s); it stays in the outbox", item.event_id, exc)
            return False
        self.published += 1
        if self.on_ack is not None:
            self.on_ack(item.event_id)
        return True
