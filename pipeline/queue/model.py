"""The drive-in queue as pure data: cars in the loop, their state transitions, the wait estimate.

Every function here is pure (times are epoch seconds passed in), so the MQTT service, the
tests and the simulation benchmark drive exactly the same code. The model assumes the windows
take cars first come, first served: the first ``windows`` cars in the loop are at a window
(their service started when they got there), the rest wait. Transitions return the new state
and the anonymous facts (no ids, no names) that the statistics keep.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, replace
from statistics import fmean

QUEUE_DETAILS = ("anonymous", "reason", "name", "full")
SEEN_KEPT = 1000  # event ids remembered against at-least-once redelivery


@dataclass(frozen=True)
class QueueSettings:
    """The ``[queue]`` section of the config (documented in the example config)."""

    windows: int = 4  # service windows open
    timeout_min: float = 45.0  # a car this long in the loop left without service
    default_service_min: float = 5.5  # service time assumed until windows have served cars
    service_history: int = 40  # recent service times the estimate learns from
    rate_window_min: float = 30.0  # arrival rate over this many minutes
    detail: str = "name"  # anonymous | reason | name | full: what the queue topic names
    publish_interval_s: float = 15.0  # republish this often so waiting minutes tick on


@dataclass(frozen=True)
class Car:
    """A car in the loop, as the arrival (or its latest correction) described it."""

    event_id: str
    read_id: str
    arrived_at: float
    status: str
    customer_number: str | None = None
    display_name: str | None = None
    visit_reason: str | None = None
    plate: str | None = None
    service_start: float | None = None  # when it reached a window; None: still waiting


@dataclass(frozen=True)
class QueueState:
    cars: tuple[Car, ...] = ()  # in arrival order
    service_times: tuple[float, ...] = ()  # recent service durations in seconds, newest last
    arrivals: tuple[float, ...] = ()  # recent arrival times (for the arrival rate)
    seen: tuple[str, ...] = ()  # recent event ids, newest last


@dataclass(frozen=True)
class Fact:
    """An anonymous fact for the statistics: what happened when, never who."""

    kind: str  # arrival | served | left | correction
    at: float
    status: str | None = None
    wait_s: float | None = None  # served: arrival to reaching a window
    service_s: float | None = None  # served: at the window


Step = tuple[QueueState, tuple[Fact, ...]]


def _promote(cars: tuple[Car, ...], now: float, windows: int) -> tuple[Car, ...]:
    """Cars that moved up to one of the first ``windows`` places are now at a window."""
    return tuple(replace(car, service_start=max(now, car.arrived_at))
                 if i < windows and car.service_start is None else car
                 for i, car in enumerate(cars))


def _remember(state: QueueState, event_id: str) -> tuple[str, ...]:
    return (*state.seen, event_id)[-SEEN_KEPT:]


def arrive(state: QueueState, car: Car, now: float, settings: QueueSettings) -> Step:
    """A car entered the loop. A redelivered event (same id) or one older than the timeout
    changes nothing."""
    if car.event_id in state.seen or now - car.arrived_at > settings.timeout_min * 60:
        return state, ()
    cars = tuple(sorted((*state.cars, car), key=lambda c: c.arrived_at))
    horizon = now - settings.rate_window_min * 60
    arrivals = tuple(t for t in (*state.arrivals, car.arrived_at) if t >= horizon)
    new = replace(state, cars=_promote(cars, now, settings.windows), arrivals=arrivals,
                  seen=_remember(state, car.event_id))
    return new, (Fact("arrival", car.arrived_at, car.status),)


def correct(state: QueueState, supersedes: str, corrected: Car | None, now: float,
            settings: QueueSettings) -> Step:
    """An operator fixed the read of a car: the car keeps its place and gets the corrected
    identity; ``corrected`` None (dismissed: not a customer's car) takes it out of the loop."""
    if corrected is not None and corrected.event_id in state.seen:
        return state, ()
    seen = _remember(state, corrected.event_id) if corrected else state.seen
    fact = (Fact("correction", now, corrected.status if corrected else "dismissed"),)
    cars: list[Car] = []
    for car in state.cars:
        if car.event_id != supersedes:
            cars.append(car)
        elif corrected is not None:
            cars.append(replace(corrected, arrived_at=car.arrived_at,
                                service_start=car.service_start))
    return replace(state, cars=_promote(tuple(cars), now, settings.windows), seen=seen), fact


def find(state: QueueState, key: str) -> Car | None:
    """The car a window means: by read id, event id or customer number (oldest first)."""
    key = key.strip()
    for car in state.cars:
        if key in (car.read_id, car.event_id) or (car.customer_number and
                                                   key == car.customer_number):
            return car
    return None


def serve(state: QueueState, key: str, now: float, settings: QueueSettings
          ) -> tuple[QueueState, tuple[Fact, ...], Car | None]:
    """A window has finished with a car: it leaves the loop, its service time is learnt and
    the next waiting car moves up to the free window."""
    car = find(state, key)
    if car is None:
        return state, (), None
    cars = tuple(c for c in state.cars if c is not car)
    service_s = now - car.service_start if car.service_start is not None else None
    wait_s = (car.service_start if car.service_start is not None else now) - car.arrived_at
    history = state.service_times
    if service_s is not None and service_s > 0:
        history = (*history, service_s)[-settings.service_history:]
    new = replace(state, cars=_promote(cars, now, settings.windows), service_times=history)
    return new, (Fact("served", now, car.status, max(0.0, wait_s), service_s),), car


def expire(state: QueueState, now: float, settings: QueueSettings) -> Step:
    """Cars in the loop longer than the timeout left without being served."""
    limit = now - settings.timeout_min * 60
    gone = [c for c in state.cars if c.arrived_at < limit]
    if not gone:
        return state, ()
    cars = tuple(c for c in state.cars if c.arrived_at >= limit)
    facts = tuple(Fact("left", now, c.status) for c in gone)
    return replace(state, cars=_promote(cars, now, settings.windows)), facts


def mean_service_s(state: QueueState, settings: QueueSettings) -> float:
    return fmean(state.service_times) if state.service_times \
        else settings.default_service_min * 60


def _remaining(elapsed: float, history: tuple[float, ...], mean: float) -> float:
    """Expected rest of a service that has lasted ``elapsed`` seconds: the mean overshoot of
    the recent service times that were longer; an overdue one is about to end."""
    longer = [t - elapsed for t in history if t > elapsed]
    if longer:
        return fmean(longer)
    return max(0.0, mean - elapsed) if not history else 0.1 * mean


def estimate_wait_s(state: QueueState, now: float, settings: QueueSettings) -> float:
    """Seconds a car arriving now waits for a window: the windows' expected free times (rest
    of each running service), then every waiting car ahead takes the earliest free window
    for a mean service time."""
    mean = mean_service_s(state, settings)
    history = state.service_times
    busy = [c for c in state.cars if c.service_start is not None][:settings.windows]
    free = [_remaining(now - c.service_start, history, mean) for c in busy
            if c.service_start is not None]
    free += [0.0] * (settings.windows - len(free))
    heapq.heapify(free)
    for _ in range(len(state.cars) - len(busy)):
        heapq.heappush(free, heapq.heappop(free) + mean)
    return max(0.0, free[0])


def arrivals_per_hour(state: QueueState, now: float, settings: QueueSettings) -> float:
    window_s = settings.rate_window_min * 60
    recent = [t for t in state.arrivals if now - window_s <= t <= now]
    return len(recent) * 3600 / window_s
