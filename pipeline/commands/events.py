"""Watching the broker: events tail, and the subscriber the demo uses."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from typing import Any

from pipeline.config import Settings
from pipeline.domain import Status, local_clock
from pipeline.events.mqtt_client import MqttSettings, make_client
from pipeline.events.topics import Topics

log = logging.getLogger("kennzeichen-checkin")




def format_arrival(payload: dict[str, Any], tz: str = "Europe/Berlin",
                   at: str | None = None) -> str:
    """One line for staff at a window, clock times in the site's zone ``tz``. A correction
    says which car it corrects (seen when), so one car never reads as two arrivals. ``at``
    (ISO UTC): the time to show instead of the event's timestamp."""
    when = local_clock(at or str(payload.get("timestamp", "")), tz)
    status = payload.get("status")
    account = payload.get("account")
    if isinstance(account, dict):
        reason = f" - {account['visit_reason']}" if account.get("visit_reason") else ""
        name = account.get("display_name") or "customer"
        what = (f"{payload.get('plate') or '':<12} {name} "
                f"(#{account['customer_number']}){reason}")
    elif status == Status.NEEDS_REVIEW:
        what = f"{'':<12} car for the operator to check (needs review)"
    elif status == Status.DISMISSED:
        what = "withdrawn: not a customer's car"
    else:
        what = f"{'':<12} unregistered car"
    if payload.get("type") == "correction":
        seen = local_clock(str(payload.get("seen_at", "")), tz)
        return f"{when}  correction of the car seen {seen}: {' '.join(what.split())}"
    return f"{when}  {what}"


def subscribe(mqtt: MqttSettings, topic: str, on_payload: Any, wait_s: float = 10.0) -> Any:
    """Subscribe (QoS 1) and call ``on_payload(dict)`` for every JSON message; returns the
    running paho client. A broker that is not there within ``wait_s``, or refuses the login,
    is said once with what to check; its coming back once more."""
    client = make_client(mqtt, "kennzeichen-tail")
    subscribed = threading.Event()
    said: set[str] = set()  # what was said about the broker, said only once
    where = f"{mqtt.host}:{mqtt.port}"

    def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
        if not rc.is_failure:
            c.subscribe(topic, qos=1)
        elif "refused" not in said:
            said.add("refused")
            log.error("the MQTT broker at %s refused the connection (%s): check [mqtt] "
                      "username and password (or KENNZEICHEN_MQTT_USERNAME/_PASSWORD); "
                      "still trying", where, rc)

    def on_subscribe(*args: Any) -> None:
        subscribed.set()
        if said:
            log.info("connected to the MQTT broker at %s: arrivals come", where)

    def on_message(c: Any, u: Any, msg: Any) -> None:
        try:
            on_payload(json.loads(msg.payload))
        except (ValueError, TypeError):
            log.warning("ignoring a non-JSON message on %s", msg.topic)

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect_async(mqtt.host, mqtt.port)
    client.loop_start()
    if not subscribed.wait(wait_s) and not said:
        said.add("away")
        log.warning("no connection to the MQTT broker at %s within %g s: is it running, and "
                    "are [mqtt] host and port right? still trying", where, wait_s)
    return client


def cmd_events(args: argparse.Namespace, settings: Settings) -> int:
    topic = Topics(settings.prefix).arrival
    seen = threading.Event()
    count = [0]

    def show(payload: dict[str, Any]) -> None:
        print(json.dumps(payload, ensure_ascii=False) if args.json
              else format_arrival(payload, settings.privacy.timezone), flush=True)
        count[0] += 1
        if args.count and count[0] >= args.count:
            seen.set()

    client = subscribe(settings.mqtt, topic, show)
    print(f"listening on {settings.mqtt.host}:{settings.mqtt.port} {topic} (Ctrl-C ends)",
          file=sys.stderr)
    try:
        while not seen.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        client.loop_stop()
        client.disconnect()
    return 0
