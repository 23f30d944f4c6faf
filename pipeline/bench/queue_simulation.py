"""How good is the wait estimate? A simulated service day against the real queue model.

Cars arrive as a Poisson process that is busier in the morning (peak about 44/h at 09:30,
18/h in the afternoon), 4 windows serve them first come first served in 3-8 minutes
(uniform), and every arrival and every ``served`` is fed through ``pipeline.queue.model`` in
time order, exactly as the queue service does. For each car the estimate the queue topic
would have shown at its arrival is compared with the wait it then really had (arrival to
reaching a window). Two baselines use the same inputs: cars ahead x mean service / windows,
and Erlang C (M/M/c) from the recent arrival rate and the mean service time.

    python -m pipeline.bench.queue_simulation --days 20 --seed 1
    python -m pipeline.bench.queue_simulation --days 1 --store data/sim.sqlite3   # stats demo
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from statistics import fmean
from zoneinfo import ZoneInfo

from pipeline.queue.model import (
    Car,
    Fact,
    QueueSettings,
    QueueState,
    arrivals_per_hour,
    arrive,
    estimate_wait_s,
    mean_service_s,
    serve,
)

OPEN_H, CLOSE_H = 7.5, 16.5
STATUSES = (("matched", 0.70), ("unregistered", 0.25), ("needs_review", 0.05))


def rate_per_hour(hour: float) -> float:
    """Arrival rate at a local clock time: a morning peak, a quiet afternoon."""
    return 18.0 + 26.0 * math.exp(-((hour - 9.5) / 1.6) ** 2)


@dataclass(frozen=True)
class SimCar:
    arrival: float  # seconds since opening
    service: float
    start: float
    status: str


def simulate_day(rng: random.Random, windows: int = 4) -> list[SimCar]:
    """Arrivals by thinning, FIFO service at ``windows`` windows, 3-8 min each."""
    peak = max(rate_per_hour(OPEN_H + i / 60) for i in range(int((CLOSE_H - OPEN_H) * 60)))
    t, arrivals = 0.0, []
    while True:
        t += rng.expovariate(peak / 3600)
        if t >= (CLOSE_H - OPEN_H) * 3600:
            break
        if rng.random() < rate_per_hour(OPEN_H + t / 3600) / peak:
            arrivals.append(t)
    free = [0.0] * windows
    cars = []
    for arrival in arrivals:
        start = max(arrival, heapq.heappop(free))
        service = rng.uniform(3, 8) * 60
        heapq.heappush(free, start + service)
        status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
        cars.append(SimCar(arrival, service, start, status))
    return cars


def erlang_c_wait_s(rate_h: float, service_s: float, windows: int) -> float:
    """Mean wait in an M/M/c queue (capped at an hour when the queue is overloaded)."""
    lam, mu = rate_h / 3600, 1 / service_s
    load = lam / mu
    if load >= windows:
        return 3600.0  # overloaded: no steady state
    top = load ** windows / math.factorial(windows) * windows / (windows - load)
    p_wait = top / (sum(load ** k / math.factorial(k) for k in range(windows)) + top)
    return p_wait / (windows * mu - lam)


@dataclass(frozen=True)
class Errors:
    estimate: list[float]
    queue_length: list[float]
    erlang_c: list[float]
    true_waits: list[float]
    morning: list[float]  # estimate errors of cars arriving before 12:00
    queued: list[float]  # estimate errors of cars that found every window busy
    facts: list[Fact]


def replay(cars: list[SimCar], settings: QueueSettings, day_start: float = 0.0) -> Errors:
    """Feed the simulated day through the queue model; errors in seconds."""
    events: list[tuple[float, int, int]] = []  # (time, 0 served / 1 arrival, car index)
    for i, car in enumerate(cars):
        events += [(car.arrival, 1, i), (car.start + car.service, 0, i)]
    events.sort()
    state, facts = QueueState(), []
    est, qlen, erl, true, morning, queued = [], [], [], [], [], []
    for when, kind, i in events:
        now = day_start + when
        if kind == 0:
            state, step, _ = serve(state, f"r{i}", now, settings)
        else:
            car = cars[i]
            guess = estimate_wait_s(state, now, settings)
            mean = mean_service_s(state, settings)
            ahead = max(0, len(state.cars) - settings.windows + 1)
            true_wait = car.start - car.arrival
            est.append(abs(guess - true_wait))
            qlen.append(abs(ahead * mean / settings.windows - true_wait))
            rate = arrivals_per_hour(state, now, settings)
            erl.append(abs(erlang_c_wait_s(rate, mean, settings.windows) - true_wait))
            true.append(true_wait)
            if OPEN_H + car.arrival / 3600 < 12:
                morning.append(abs(guess - true_wait))
            if len(state.cars) >= settings.windows:
                queued.append(abs(guess - true_wait))
            state, step = arrive(state, Car(f"e{i}", f"r{i}", now, car.status), now, settings)
        facts += step
    return Errors(est, qlen, erl, true, morning, queued, facts)


def run(days: int, seed: int, windows: int = 4) -> dict[str, float]:
    settings = QueueSettings(windows=windows)
    rng = random.Random(seed)
    totals: dict[str, list[float]] = {"est": [], "qlen": [], "erl": [], "true": [], "am": [],
                                      "queued": []}
    for _ in range(days):
        errors = replay(simulate_day(rng, windows), settings)
        for key, values in zip(totals, (errors.estimate, errors.queue_length, errors.erlang_c,
                                        errors.true_waits, errors.morning, errors.queued),
                                       strict=True):
            totals[key].extend(values)
    return {
        "days": days, "seed": seed, "windows": windows, "cars": len(totals["true"]),
        "mean_true_wait_min": round(fmean(totals["true"]) / 60, 2),
        "max_true_wait_min": round(max(totals["true"]) / 60, 1),
        "mae_estimate_min": round(fmean(totals["est"]) / 60, 2),
        "mae_estimate_morning_min": round(fmean(totals["am"]) / 60, 2),
        "cars_finding_all_windows_busy": len(totals["queued"]),
        "mae_estimate_all_windows_busy_min": round(fmean(totals["queued"]) / 60, 2),
        "mae_queue_length_baseline_min": round(fmean(totals["qlen"]) / 60, 2),
        "mae_erlang_c_baseline_min": round(fmean(totals["erl"]) / 60, 2),
        "mae_always_zero_min": round(fmean(totals["true"]) / 60, 2),
    }


def write_day_to_store(path: Path, seed: int, day: str, tz: str = "Europe/Berlin") -> int:
    """One simulated day's anonymous facts (plus a few corrections) into a store, so that
    ``kennzeichen-checkin stats`` has something to show. Returns the number of facts."""
    from pipeline.queue.service import minute
    from pipeline.store.sqlite_store import SqliteStore

    rng = random.Random(seed)
    opening = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(tz)) + timedelta(hours=OPEN_H)
    errors = replay(simulate_day(rng), QueueSettings(), opening.timestamp())
    facts = list(errors.facts)
    facts += [Fact("correction", f.at + rng.uniform(30, 300), "matched")
              for f in errors.facts if f.kind == "arrival" and f.status != "matched"
              and rng.random() < 0.25]
    store = SqliteStore(path)
    try:
        for f in facts:
            store.add_visit_fact(f.kind, minute(f.at), f.status,
                                 None if f.wait_s is None else round(f.wait_s),
                                 None if f.service_s is None else round(f.service_s))
    finally:
        store.close()
    return len(facts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--store", type=Path, help="also write one simulated day's anonymous "
                        "facts into this SQLite file (for 'kennzeichen-checkin stats')")
    parser.add_argument("--day", default=datetime.now().date().isoformat(),
                        help="local date of the day written with --store")
    args = parser.parse_args(argv)
    result = run(args.days, args.seed, args.windows)
    if args.store:
        result["facts_written"] = write_day_to_store(args.store, args.seed, args.day)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:32} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
