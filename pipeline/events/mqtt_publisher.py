"""Deliver the outbox to an MQTT broker with paho-mqtt, QoS 1, and reconnect when it goes away.

A background thread publishes outbox events in order and removes each one only after the
broker's PUBACK. While the broker is away, events stay in the outbox (on disk), the camera
keeps running, and paho reconnects with exponential backoff. The availability topic is
retained ``online`` while connected and the broker publishes the ``offline`` last will when the
connection dies.

MQTT 5 by default: over MQTT 3.1.1 a broker acknowledges a publish its ACL refuses, so a PUBACK
proves nothing; an MQTT 5 PUBACK carries a reason code, and one >= 0x80 (not authorised, topic
name invalid, quota exceeded) keeps the event in the outbox. No message expiry is set, so a
broker never drops a queued arrival for age.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import paho.mqtt.client as mqtt

from pipeline.domain import OutboxItem, StageObserver
from pipeline.events.mqtt_client import PROTOCOLS, MqttSettings, make_client
from pipeline.store.errors import store_error_hint

log = logging.getLogger(__name__)


# After the broker refused an event, or the outbox could not be updated, the delivery thread
# waits this long (doubling up to the maximum) before it tries again.
RETRY_DELAY_S = (1.0, 60.0)


def refusal_hint(reason: mqtt.ReasonCode, topic: str, username: str) -> str:
    """What to do about a PUBACK reason code >= 0x80."""
    who = f"user {username!r}" if username else "anonymous clients"
    if reason.value == 0x87:  # not authorised
        return (f"the broker's ACL does not let {who} publish on {topic}: allow it (see "
                "config/mosquitto.example.conf) or fix topic_prefix / [camera] site")
    if reason.value == 0x90:  # topic name invalid
        return f"the broker rejects the topic {topic}: check topic_prefix and [camera] site/id"
    if reason.value in (0x97, 0x96):  # quota exceeded, message rate too high
        return "the broker limits this client: raise its quota or message rate"
    return "see the broker's log"


class _Once:
    """Logs a state once when it begins, not on every retry."""

    def __init__(self) -> None:
        self.state: str | None = None

    def enter(self, state: str, level: int, message: str, *args: object) -> None:
        if self.state != state:
            self.state = state
            log.log(level, message, *args)

    def leave(self, message: str, *args: object) -> None:
        if self.state is not None:
            self.state = None
            log.info(message, *args)


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
        # the pipeline says when it connects; a helper client (an operator command sending
        # a correction) only when something goes wrong
        self._chatter = logging.INFO if availability_topic else logging.DEBUG
        # a broker it cannot use is an error the pipeline retries; a helper client's command
        # ends soon and says itself that its event waits in the outbox
        self._failure = logging.ERROR if availability_topic else logging.WARNING
        self._retrying = "; retrying" if availability_topic else ""
        self.published = 0
        # why the broker refused the oldest event (PUBACK reason code), None while it accepts
        self.refused: str | None = None
        self.on_ack: Callable[[str], None] | None = None  # e.g. the benchmark's latency clock
        self.observe: StageObserver | None = None  # the metrics' publish latency (to PUBACK)
        # retained messages sent again on every connect (Home Assistant discovery)
        self.on_connect_retained: dict[str, str] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="mqtt-outbox", daemon=True)
        self._v5 = PROTOCOLS[settings.protocol] == mqtt.MQTTv5
        self._refusals: dict[int, mqtt.ReasonCode] = {}  # mid -> failed PUBACK reason
        self._refusals_lock = threading.Lock()  # paho's thread adds, the drain thread takes
        # events the broker acknowledged that the outbox could not drop yet: not sent again
        self._broker_has: set[str] = set()
        self._link = _Once()  # broker unreachable / refusing the login
        self._delivery = _Once()  # broker refusing events / outbox not writable
        self.client = make_client(settings, "kennzeichen-checkin", client_id=settings.client_id,
                                  will_topic=availability_topic, protocol=settings.protocol)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish

    @property
    def link_state(self) -> str | None:
        """The broker link as last logged: ``connected``, ``unreachable``, ``lost``, a
        refusal, or None before the first attempt."""
        return self._link.state

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        log.log(self._chatter, "connecting to MQTT broker %s:%d (MQTT %s)", self.settings.host,
                self.settings.port, self.settings.protocol)
        if not self._v5:
            log.warning("MQTT 3.1.1: a broker acknowledges even a publish its ACL refuses, so "
                        "such an arrival would be lost unseen; use [mqtt] protocol = \"5\"")
        # MQTT 5: clean start, session expiry 0 (the outbox, not the broker, keeps our events)
        extra = {"clean_start": True} if self._v5 else {}
        self.client.connect_async(self.settings.host, self.settings.port,
                                  keepalive=self.settings.keepalive, **extra)
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
        """Wait until the outbox is empty; False if events are still pending after timeout,
        or at once when the broker refuses them (waiting does not change its ACL)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.outbox.outbox_depth() == 0:
                return True
            if self.refused is not None:
                return False
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
            hint = "see the broker's log"
            if reason_code.value in (134, 135, 4, 5):
                hint = "check mqtt.username / mqtt.password (or KENNZEICHEN_MQTT_PASSWORD)"
            self._link.enter(f"refused {reason_code}", self._failure,
                             "MQTT broker refused the connection (%s): %s; %d event(s) wait in "
                             "the outbox%s", reason_code, hint, self.outbox.outbox_depth(),
                             self._retrying)
            return
        self._link.enter("connected", self._chatter, "connected to MQTT broker %s:%d",
                         self.settings.host, self.settings.port)
        if self.availability_topic:
            client.publish(self.availability_topic, "online", qos=1, retain=True)
        for topic, payload in self.on_connect_retained.items():
            client.publish(topic, payload, qos=1, retain=True)
        self._connected.set()
        self._wake.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        self._link.enter("unreachable", self._failure,
                         "cannot reach the MQTT broker at %s:%d: is it running, and are [mqtt] "
                         "host and port right? %d event(s) wait in the outbox%s",
                         self.settings.host, self.settings.port, self.outbox.outbox_depth(),
                         self._retrying)

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object,
                       reason_code: mqtt.ReasonCode, properties: object) -> None:
        if self._connected.is_set() and not self._stop.is_set():
            self._link.enter("lost", logging.WARNING,
                             "lost MQTT broker (%s); %d event(s) wait in the outbox; "
                             "reconnecting", reason_code, self.outbox.outbox_depth())
        self._connected.clear()

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int,
                    reason_code: mqtt.ReasonCode, properties: object) -> None:
        # runs before paho marks the message published, so _publish_one sees the reason;
        # refused heartbeats are never collected, so only the latest few are kept
        if reason_code.is_failure:
            with self._refusals_lock:
                self._refusals[mid] = reason_code
                while len(self._refusals) > 100:
                    self._refusals.pop(next(iter(self._refusals)))

    # -- delivery thread ------------------------------------------------------------------

    def _drain(self) -> None:
        delay = RETRY_DELAY_S[0]
        while not self._stop.is_set():
            self._wake.wait(timeout=0.5)
            self._wake.clear()
            if not self._connected.is_set():
                continue
            try:
                self._deliver_pending()
            except Exception as exc:  # noqa: BLE001 - the store's engine decides the type
                # the broker may have the event: remembered, so it is not sent again
                self._delivery.enter(f"outbox {type(exc).__name__}", logging.ERROR,
                                     "cannot update the outbox (%s): %s; delivery pauses and "
                                     "retries (up to every %.0f s)", exc,
                                     store_error_hint(exc), RETRY_DELAY_S[1])
                # no event is sent twice meanwhile, so a new event or a flush may retry early
                self._wake.wait(delay)
            else:
                if self.refused is None:
                    self._delivery.leave("delivering arrivals again")
                    delay = RETRY_DELAY_S[0]
                    continue
                self._stop.wait(delay)  # a refusing broker is not asked again at once
            delay = min(delay * 2, RETRY_DELAY_S[1])

    def _deliver_pending(self) -> None:
        # the store claims each event (no other worker sends it) and drops it after PUBACK
        while self._connected.is_set() and not self._stop.is_set():
            sent = self.outbox.deliver(self._publish_one, 50)
            self._broker_has.clear()  # everything sent in that call has left the outbox
            if sent < 50:
                return

    def _publish_one(self, item: OutboxItem) -> bool:
        if item.event_id in self._broker_has:
            return True  # acknowledged before; only the outbox's delete failed
        started = time.monotonic()
        deadline = started + self.settings.ack_timeout_s
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
        with self._refusals_lock:
            reason = self._refusals.pop(info.mid, None)
        if reason is not None:
            self.refused = str(reason)
            self._delivery.enter(f"refused {reason}", logging.ERROR,
                                 "the MQTT broker refused an arrival on %s (%s): %s; it stays "
                                 "in the outbox with %d other(s) and is retried (up to every "
                                 "%.0f s) and at the next start", item.topic, reason,
                                 refusal_hint(reason, item.topic, self.settings.username),
                                 self.outbox.outbox_depth() - 1, RETRY_DELAY_S[1])
            return False
        self.refused = None
        self._broker_has.add(item.event_id)
        self.published += 1
        if self.observe is not None:
            self.observe("publish", time.monotonic() - started)
        if self.on_ack is not None:
            self.on_ack(item.event_id)
        return True
