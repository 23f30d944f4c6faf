"""The day's figures from the anonymous visit facts (pure apart from ``load_day``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import fmean, median, quantiles
from typing import Protocol
from zoneinfo import ZoneInfo

from pipeline.domain import ARRIVAL_STATUSES, Status, VisitFact

STATUSES = tuple(s.value for s in ARRIVAL_STATUSES)
MIDDAY = 12


class FactSource(Protocol):
    def visit_facts(self, since: str, until: str) -> list[VisitFact]: ...


@dataclass(frozen=True)
class Bucket:
    """Arrivals in one 15-minute slot (local time), by status."""

    start: str  # HH:MM
    arrivals: int
    matched: int
    unregistered: int
    needs_review: int


@dataclass(frozen=True)
class HourRow:
    hour: int  # local
    arrivals: int
    served: int
    left: int  # timed out without service
    mean_wait_min: float | None
    max_wait_min: float | None
    corrections: int


@dataclass(frozen=True)
class DayStats:
    day: str
    timezone: str
    arrivals: int
    served: int
    left: int
    share: dict[str, float]  # status -> fraction of arrivals
    corrections: int
    mean_wait_min: float | None
    median_wait_min: float | None
    p90_wait_min: float | None
    mean_service_min: float | None
    morning_per_hour: float  # arrivals per opening hour before 12:00
    afternoon_per_hour: float  # ... and after
    buckets: tuple[Bucket, ...]
    hours: tuple[HourRow, ...]


def _utc_minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def day_bounds(day: date, tz: str) -> tuple[str, str]:
    """The local day as the UTC range the facts are stored in."""
    start = datetime.combine(day, datetime.min.time(), ZoneInfo(tz))
    return _utc_minute(start), _utc_minute(start + timedelta(days=1))


def _local(at: str, tz: ZoneInfo) -> datetime:
    return datetime.strptime(at, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC).astimezone(tz)


def _minutes(values: list[float]) -> float | None:
    return round(fmean(values) / 60, 1) if values else None


def summarise(facts: list[VisitFact], day: date, tz_name: str) -> DayStats:
    """Tables of one day from its facts."""
    tz = ZoneInfo(tz_name)
    arrivals = [(_local(f.at, tz), f.status or Status.UNREGISTERED) for f in facts
                if f.kind == "arrival"]
    served = [(_local(f.at, tz), f) for f in facts if f.kind == "served"]
    left = Counter(_local(f.at, tz).hour for f in facts if f.kind == "left")
    corrections = Counter(_local(f.at, tz).hour for f in facts if f.kind == "correction")
    slots: Counter[tuple[int, str]] = Counter(
        ((t.hour * 60 + t.minute) // 15, s) for t, s in arrivals)
    first = min((k for k, _ in slots), default=0)
    last = max((k for k, _ in slots), default=-1)
    buckets = tuple(Bucket(f"{k // 4:02d}:{k % 4 * 15:02d}",
                           sum(slots[(k, s)] for s in STATUSES), slots[(k, Status.MATCHED)],
                           slots[(k, Status.UNREGISTERED)], slots[(k, Status.NEEDS_REVIEW)])
                    for k in range(first, last + 1))
    waits = [f.wait_s for _, f in served if f.wait_s is not None]
    hours = sorted({t.hour for t, _ in arrivals} | {t.hour for t, _ in served}
                   | set(left) | set(corrections))
    rows = []
    for hour in hours:
        hour_waits = [f.wait_s for t, f in served if t.hour == hour and f.wait_s is not None]
        rows.append(HourRow(hour, sum(1 for t, _ in arrivals if t.hour == hour),
                            sum(1 for t, _ in served if t.hour == hour), left[hour],
                            _minutes(hour_waits),
                            round(max(hour_waits) / 60, 1) if hour_waits else None,
                            corrections[hour]))
    status_counts = Counter(s for _, s in arrivals)
    open_start, open_end = first / 4, (last + 1) / 4
    morning_h = max(0.0, min(MIDDAY, open_end) - open_start)
    afternoon_h = max(0.0, open_end - max(MIDDAY, open_start))
    morning = sum(1 for t, _ in arrivals if t.hour < MIDDAY)
    return DayStats(
        day=day.isoformat(), timezone=tz_name, arrivals=len(arrivals), served=len(served),
        left=sum(left.values()),
        share={s: round(status_counts[s] / len(arrivals), 3) if arrivals else 0.0
               for s in STATUSES},
        corrections=sum(corrections.values()),
        mean_wait_min=_minutes(waits),
        median_wait_min=round(median(waits) / 60, 1) if waits else None,
        p90_wait_min=round(quantiles(waits, n=10)[-1] / 60, 1) if len(waits) >= 2 else None,
        mean_service_min=_minutes([f.service_s for _, f in served if f.service_s]),
        morning_per_hour=round(morning / morning_h, 1) if morning_h else 0.0,
        afternoon_per_hour=round((len(arrivals) - morning) / afternoon_h, 1)
        if afternoon_h else 0.0,
        buckets=buckets, hours=tuple(rows))


def load_day(store: FactSource, day: date, tz: str) -> DayStats:
    return summarise(store.visit_facts(*day_bounds(day, tz)), day, tz)
