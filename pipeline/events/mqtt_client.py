"""The one place a paho-mqtt client is made: the broker settings, credentials, TLS, protocol
and reconnect back-off are the same for the publisher, the queue service, the screens and
every command that talks to the broker."""

from __future__ import annotations

import ssl
import uuid
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

# MQTT protocol versions a setting may name, with paho's constant
PROTOCOLS = {"5": mqtt.MQTTv5, "3.1.1": mqtt.MQTTv311}
RECONNECT_DELAY_S = (1, 10)  # paho doubles the wait between attempts up to the maximum


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
    protocol: str = "5"  # "5", or "3.1.1" for a broker without MQTT 5 (refusals go unseen)


def make_client(settings: MqttSettings, name: str, *, persistent: bool = False,
                client_id: str = "", will_topic: str | None = None,
                protocol: str = "3.1.1") -> mqtt.Client:
    """A paho client for ``settings`` (credentials, TLS, back-off), not yet connected.

    ``name`` gets a random suffix so two instances never take each other's session;
    ``client_id`` is used as it is. ``persistent``: a fixed id (``name``) and a broker-side
    session, so QoS 1 messages sent while the client was away are delivered when it is back.
    ``will_topic``: the broker publishes a retained ``offline`` there when the connection
    dies. ``protocol``: subscribers speak MQTT 3.1.1, which every broker speaks and whose
    persistent session outlives a disconnect as it is; the publisher passes
    ``settings.protocol`` (MQTT 5 by default, for the PUBACK's reason code)."""
    cid = client_id or (name if persistent else f"{name}-{uuid.uuid4().hex[:8]}")
    if PROTOCOLS[protocol] == mqtt.MQTTv5:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
    else:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid,
                             clean_session=not persistent, protocol=mqtt.MQTTv311)
    if settings.username:
        client.username_pw_set(settings.username, settings.password or None)
    if settings.tls_ca:
        client.tls_set(ca_certs=settings.tls_ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    if will_topic:
        client.will_set(will_topic, "offline", qos=1, retain=True)
    client.reconnect_delay_set(*RECONNECT_DELAY_S)
    return client
