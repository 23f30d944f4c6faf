"""What each screen may see of the queue message (pure).

The entrance screen faces the customers: counts and the wait estimate, nothing personal, built
by whitelisting. The window screen gets the next cars, with names and reasons only as far as
both ``[queue] detail`` (what the topic carries) and ``[display] window_detail`` allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.queue.model import QUEUE_DETAILS

COUNTS = ("cars_in_loop", "waiting", "at_windows", "windows", "estimated_wait_min",
          "estimated_wait_s", "updated_at")
CAR_FIELDS = {
    "anonymous": ("position", "status", "at_window", "arrived_at", "read_id", "event_id"),
    "reason": ("visit_reason",),
    "name": ("display_name", "customer_number"),
    "full": ("plate",),
}


@dataclass(frozen=True)
class DisplaySettings:
    """The ``[display]`` section of the config (documented in the example config)."""

    host: str = "127.0.0.1"  # 0.0.0.0: screens on other PCs of the site network
    port: int = 8080
    title: str = "Drive-in"
    show_next: int = 8  # cars listed on the window page
    window_detail: str = "name"  # anonymous | reason | name | full (capped by [queue] detail)


def entrance_view(queue: dict[str, Any] | None, broker_connected: bool) -> dict[str, Any]:
    """Counts and the wait in minutes; never a car's details."""
    view: dict[str, Any] = {"view": "entrance", "broker_connected": broker_connected,
                            "available": queue is not None}
    for key in COUNTS:
        if queue is not None and isinstance(queue.get(key), int | float | str):
            view[key] = queue[key]
    return view


def allowed_fields(detail: str) -> tuple[str, ...]:
    """The car fields a detail level shows (each level includes the ones before it)."""
    levels = QUEUE_DETAILS[:QUEUE_DETAILS.index(detail) + 1]
    return tuple(f for level in levels for f in CAR_FIELDS[level])


def window_view(queue: dict[str, Any] | None, broker_connected: bool, show_next: int,
                detail: str) -> dict[str, Any]:
    """Counts plus the next ``show_next`` cars with the fields ``detail`` allows."""
    view = entrance_view(queue, broker_connected)
    view["view"] = "window"
    fields = allowed_fields(detail)
    cars = queue.get("cars") if queue is not None else None
    view["cars"] = [{k: car.get(k) for k in fields if k in car}
                    for car in (cars if isinstance(cars, list) else [])[:show_next]
                    if isinstance(car, dict)]
    return view
