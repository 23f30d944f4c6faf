"""Home Assistant MQTT discovery: one device per camera, its entities fed by the retained
topics the product already keeps (availability, camera, status, queue).

``run`` publishes the config messages (retained) when ``[homeassistant] discovery`` is on and
empty retained messages on the same topics when it is off, which is how Home Assistant
removes entities: switching discovery off removes them at the next start. No entity carries
anything personal: counts, states and the wait estimate only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pipeline import __version__
from pipeline.events.topics import Topics


@dataclass(frozen=True)
class HomeAssistantSettings:
    discovery: bool = False
    prefix: str = "homeassistant"


# (component, object id, name, state topic kind, value template, extra config)
_ENTITIES: tuple[tuple[str, str, str, str, str | None, dict[str, object]], ...] = (
    ("binary_sensor", "online", "Online", "availability", None,
     {"device_class": "connectivity", "payload_on": "online", "payload_off": "offline"}),
    ("binary_sensor", "camera", "Camera", "camera", "{{ value_json.state }}",
     {"device_class": "connectivity", "payload_on": "online", "payload_off": "offline"}),
    ("sensor", "arrivals_today", "Arrivals today", "status", "{{ value_json.arrivals_today }}",
     {"state_class": "total_increasing", "unit_of_measurement": "cars"}),
    ("sensor", "needs_review_today", "Needs review today", "status",
     "{{ value_json.needs_review_today }}",
     {"state_class": "total_increasing", "unit_of_measurement": "cars"}),
    ("sensor", "outbox_depth", "Events not yet delivered", "status",
     "{{ value_json.outbox_depth }}", {"state_class": "measurement"}),
    ("sensor", "queue_cars", "Cars in the loop", "queue", "{{ value_json.cars_in_loop }}",
     {"state_class": "measurement", "unit_of_measurement": "cars"}),
    ("sensor", "queue_wait", "Estimated wait", "queue", "{{ value_json.estimated_wait_min }}",
     {"state_class": "measurement", "unit_of_measurement": "min", "device_class": "duration"}),
)


def node_id(site: str, camera_id: str) -> str:
    """The device's id in topics and unique ids: only characters discovery allows."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", f"kennzeichen_checkin_{site}_{camera_id}")


def discovery_messages(settings: HomeAssistantSettings, topics: Topics, site: str,
                       camera_id: str) -> dict[str, str]:
    """Config topic -> retained payload for every entity of this camera: the JSON config
    when discovery is on, ``""`` (remove the entity) when it is off."""
    node = node_id(site, camera_id)
    device = {"identifiers": [node], "name": f"Drive-in {site} {camera_id}",
              "manufacturer": "kennzeichen-checkin", "model": "licence-plate check-in",
              "sw_version": __version__}
    state_topics = {"availability": topics.availability, "camera": topics.camera,
                    "status": topics.status, "queue": topics.queue}
    out = {}
    for component, object_id, name, kind, template, extra in _ENTITIES:
        topic = f"{settings.prefix}/{component}/{node}/{object_id}/config"
        if not settings.discovery:
            out[topic] = ""
            continue
        config: dict[str, object] = {"name": name, "unique_id": f"{node}_{object_id}",
                                     "object_id": f"{node}_{object_id}",
                                     "state_topic": state_topics[kind], "device": device, **extra}
        if template is not None:
            config["value_template"] = template
        if kind != "availability":  # the entities go unavailable when the run stops
            config |= {"availability_topic": topics.availability,
                       "payload_available": "online", "payload_not_available": "offline"}
        out[topic] = json.dumps(config, ensure_ascii=False)
    return out
