"""Mosquitto's own bridge from a site broker to the central one: the site keeps working while
the central link is down and its broker forwards the queued arrivals when it is back.

``bridge_config`` writes the ``connection`` block that ``config/mosquitto-bridge.example.conf``
documents; the bridge test runs exactly this text.
"""

from __future__ import annotations


def bridge_config(central_host: str, central_port: int, *, name: str = "central",
                  topics: tuple[str, ...] = ("checkin/#",), restart_s: int = 2,
                  max_queued: int = 100_000, extra: str = "") -> str:
    """Site-broker configuration lines bridging ``topics`` out to the central broker.

    QoS 1 both legs; ``cleansession false`` plus ``local_cleansession false``: while the link
    is down the site broker queues the messages for the bridge (up to ``max_queued``) and
    re-sends any not yet acknowledged when it reconnects. ``extra``: TLS or credentials
    (``remote_username``, ``bridge_cafile`` …)."""
    lines = [
        f"max_queued_messages {max_queued}",
        f"connection {name}",
        f"address {central_host}:{central_port}",
        *(f"topic {t} out 1" for t in topics),
        "cleansession false",
        "local_cleansession false",
        f"restart_timeout {restart_s}",
        "bridge_protocol_version mqttv311",
        "try_private true",
        "notifications true",
        "start_type automatic",
    ]
    return "\n".join(lines) + "\n" + extra
