"""Every MQTT topic the product uses, under one prefix (default ``checkin/<site>``)::

    <prefix>/arrival                    QoS 1, one message per car passage (every camera)
    <prefix>/availability/<camera_id>   retained ``online`` / ``offline`` (the last will)
    <prefix>/status/<camera_id>         retained heartbeat every ``status_interval_s``
    <prefix>/camera/<camera_id>         retained camera state, on every change
    <prefix>/queue                      retained: the cars in the loop and the wait (QoS 1)
    <prefix>/queue/served               from a service window: a car was served (QoS 1)

The retained per-camera topics end in the camera's id so that several cameras of a site, on
one prefix, each keep their own last state.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    prefix: str
    camera_id: str = ""  # the retained per-camera topics end in it

    @property
    def arrival(self) -> str:
        return f"{self.prefix}/arrival"

    def _per_camera(self, kind: str) -> str:
        return f"{self.prefix}/{kind}/{self.camera_id}" if self.camera_id \
            else f"{self.prefix}/{kind}"

    @property
    def availability(self) -> str:
        return self._per_camera("availability")

    @property
    def status(self) -> str:
        return self._per_camera("status")

    @property
    def camera(self) -> str:
        return self._per_camera("camera")

    @property
    def queue(self) -> str:
        return f"{self.prefix}/queue"

    @property
    def served(self) -> str:
        return f"{self.prefix}/queue/served"
