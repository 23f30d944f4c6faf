"""Queue topics under the site prefix and the MQTT client they are used with."""

from __future__ import annotations

import ssl
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pipeline.events.mqtt_publisher import MqttSettings


def queue_topic(prefix: str) -> str:
    """Retained: the cars in the loop and the wait estimate (QoS 1)."""
    return f"{prefix}/queue"


def served_topic(prefix: str) -> str:
    """Command from a service window: a car has been served (QoS 1, not retained)."""
    return f"{prefix}/queue/served"


def make_client(settings: MqttSettings, name: str, persistent: bool = False) -> mqtt.Client:
    """A paho client with the configured credentials/TLS that reconnects with backoff.
    ``persistent``: a fixed client id and a broker-side session, so QoS 1 messages sent while
    the client was away are delivered when it is back."""
    client_id = name if persistent else f"{name}-{uuid.uuid4().hex[:8]}"
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=not persistent)
    if settings.username:
        client.username_pw_set(settings.username, settings.password or None)
    if settings.tls_ca:
        client.tls_set(ca_certs=settings.tls_ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    return client
