"""JSON in and out of the queue model: arrival and correction events in, the retained
``<prefix>/queue`` payload out (and back in, when the service restarts).

What the queue payload names is ``[queue] detail``: ``anonymous`` (positions, status, minutes
waiting), ``reason`` (+ visit reason), ``name`` (+ display name and customer number), ``full``
(+ the plate, only for a car that has no display name). Unregistered cars never carry a plate
because their arrivals do not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.domain import iso, parse_iso
from pipeline.queue.model import (
    Car,
    QueueSettings,
    QueueState,
    arrivals_per_hour,
    estimate_wait_s,
    mean_service_s,
)

SCHEMA = 1


def parse_time(text: object, default: float) -> float:
    """Epoch seconds of an ISO UTC time such as ``2026-11-25T07:42:13.204Z``."""
    if not isinstance(text, str) or not text:
        return default
    try:
        return parse_iso(text).timestamp()
    except ValueError:
        return default


def car_from_event(payload: dict[str, Any], now: float) -> Car | None:
    """The car an arrival or correction event describes (None: not a car event)."""
    event_id, read_id = payload.get("event_id"), payload.get("read_id")
    if not isinstance(event_id, str) or not event_id:
        return None
    account = payload.get("account") if isinstance(payload.get("account"), dict) else {}
    assert isinstance(account, dict)
    seen = payload.get("seen_at") or payload.get("timestamp")
    return Car(event_id=event_id, read_id=str(read_id or ""),
               arrived_at=min(now, parse_time(seen, now)),
               status=str(payload.get("status") or "unregistered"),
               customer_number=_text(account.get("customer_number")),
               display_name=_text(account.get("display_name")),
               visit_reason=_text(account.get("visit_reason")),
               plate=_text(payload.get("plate")))


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def car_entry(car: Car, position: int, now: float, detail: str) -> dict[str, Any]:
    """One car as the queue topic shows it, per ``detail``."""
    entry: dict[str, Any] = {
        "position": position, "event_id": car.event_id, "read_id": car.read_id,
        "status": car.status, "arrived_at": iso(datetime.fromtimestamp(car.arrived_at, UTC)),
        "minutes_in_loop": round((now - car.arrived_at) / 60, 1),
        "at_window": car.service_start is not None,
    }
    if car.service_start is not None:
        entry["at_window_since"] = iso(datetime.fromtimestamp(car.service_start, UTC))
    if detail in ("reason", "name", "full"):
        entry["visit_reason"] = car.visit_reason
    if detail in ("name", "full"):
        entry["display_name"] = car.display_name
        entry["customer_number"] = car.customer_number
    if detail == "full" and not car.display_name and car.plate:
        entry["plate"] = car.plate
    return entry


def queue_payload(state: QueueState, now: float, settings: QueueSettings, site: str,
                  last_command: dict[str, Any] | None = None) -> dict[str, Any]:
    """The retained queue message: counts, the wait estimate and the cars in order."""
    wait_s = estimate_wait_s(state, now, settings)
    at_windows = sum(1 for c in state.cars if c.service_start is not None)
    payload: dict[str, Any] = {
        "schema": SCHEMA, "type": "queue", "site": site,
        "updated_at": iso(datetime.fromtimestamp(now, UTC)),
        "windows": settings.windows,
        "cars_in_loop": len(state.cars),
        "at_windows": at_windows,
        "waiting": len(state.cars) - at_windows,
        "estimated_wait_s": round(wait_s),
        "estimated_wait_min": round(wait_s / 60),
        "arrivals_per_hour": round(arrivals_per_hour(state, now, settings), 1),
        "mean_service_min": round(mean_service_s(state, settings) / 60, 1),
        "service_history_s": [round(t) for t in state.service_times],
        "detail": settings.detail,
        "cars": [car_entry(c, i + 1, now, settings.detail) for i, c in enumerate(state.cars)],
    }
    if last_command is not None:
        payload["last_command"] = last_command
    return payload


def state_from_payload(payload: dict[str, Any], now: float) -> QueueState:
    """The queue as a retained message left it (a restarted service carries on from it)."""
    cars = []
    for entry in payload.get("cars") or []:
        if not isinstance(entry, dict) or not entry.get("event_id"):
            continue
        start = entry.get("at_window_since")
        cars.append(Car(event_id=str(entry["event_id"]), read_id=str(entry.get("read_id") or ""),
                        arrived_at=parse_time(entry.get("arrived_at"), now),
                        status=str(entry.get("status") or "unregistered"),
                        customer_number=_text(entry.get("customer_number")),
                        display_name=_text(entry.get("display_name")),
                        visit_reason=_text(entry.get("visit_reason")),
                        plate=_text(entry.get("plate")),
                        service_start=parse_time(start, now) if start else None))
    history = tuple(float(t) for t in payload.get("service_history_s") or []
                    if isinstance(t, int | float) and t > 0)
    return QueueState(cars=tuple(cars), service_times=history,
                      seen=tuple(c.event_id for c in cars))


def merge(current: QueueState, restored: QueueState, settings: QueueSettings) -> QueueState:
    """Cars restored from the retained message plus those that arrived since the restart."""
    known = {c.event_id for c in current.cars}
    cars = tuple(sorted((*current.cars, *(c for c in restored.cars if c.event_id not in known)),
                        key=lambda c: c.arrived_at))
    return QueueState(cars=cars,
                      service_times=current.service_times or restored.service_times,
                      arrivals=current.arrivals,
                      seen=tuple(dict.fromkeys((*restored.seen, *current.seen))))
