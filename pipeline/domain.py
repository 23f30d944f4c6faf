"""The vocabulary the stages share: a read's status, the clock, accounts and stored records.

Every stage may import this module and it imports none of them, so a type that crosses a
seam (the matcher's status in a payload, an account from the store in an arrival, a stored
read in the operator's console) is defined once, here, and no stage has to reach into
another's internals for it. Stage-local types stay with their stage (boxes and detections
in ``detection.types``, frames in ``frames.types``, plates in ``plate.grammar``).
"""

from __future__ import annotations

import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

# Where the project's own models are: the checkout's models/, else the copy an install puts
# under <prefix>/share (pyproject's data-files). Each model looks in both, in this order.
SOURCE_MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
INSTALLED_MODELS_DIR = Path(sysconfig.get_path("data")) / "share" / "kennzeichen-checkin" / "models"


class Status(StrEnum):
    """What came of a passage; stored in ``reads.status`` and sent in payloads as its value."""

    MATCHED = "matched"  # checked in to a registered account
    UNREGISTERED = "unregistered"  # a German plate that no account has
    NEEDS_REVIEW = "needs_review"  # an operator decides (unsure read, or two accounts close)
    DISMISSED = "dismissed"  # an operator dismissed it (no car, or a sign read as a plate)


ARRIVAL_STATUSES = (Status.MATCHED, Status.UNREGISTERED, Status.NEEDS_REVIEW)


# Told how long a stage took (stage name, seconds): the metrics' latency histograms. Stages
# that time themselves (check-in, reader, publisher) call it when it is set.
StageObserver = Callable[[str, float], None]


# -- the clock: UTC in payloads and the store, the site's local time for people


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, the one stamp format of payloads and store."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(stamp: str) -> datetime:
    """An ISO 8601 stamp as an aware datetime (UTC when it names no zone)."""
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def day_start(tz: str, now: datetime | None = None) -> str:
    """Local midnight of today in the site's zone ``tz``, as an ISO UTC stamp: where the
    day's counts begin."""
    local = (now or utc_now()).astimezone(ZoneInfo(tz))
    return iso(local.replace(hour=0, minute=0, second=0, microsecond=0))


def local_clock(stamp: str, tz: str, fmt: str = "%H:%M:%S") -> str:
    """An ISO 8601 UTC stamp (payloads, the store) as a person at the site reads it: the
    clock time in the site's zone ``tz`` (``[privacy] timezone``). Not a stamp: as given."""
    try:
        when = parse_iso(stamp)
    except ValueError:
        return stamp
    return when.astimezone(ZoneInfo(tz)).strftime(fmt)


# -- accounts and the store's records


@dataclass(frozen=True)
class Account:
    """A pre-registered customer and the plates of their cars (compact form)."""

    customer_number: str
    display_name: str
    plates: tuple[str, ...]
    visit_reason: str = ""
    plate_displays: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadRecord:
    """One passage as stored: what was read, when, and what came of it."""

    read_id: str
    seen_at: str
    camera_id: str
    plate_display: str | None
    plate_compact: str | None
    confidence: float
    status: str
    customer_number: str | None
    event_id: str | None
    plate_hmac: str | None = None
    corrected_at: str | None = None
    uncertain: str | None = None  # comma-separated positions in plate_compact
    matched_plate_hmac: str | None = None  # pseudonym of the registered plate checked in
    # a car for review: the likeliest customers first, JSON [[customer number, score], ...]
    # (log-likelihood with the plate model, else negative cost); cleared once decided
    candidates: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One operator action: when, who, what, on which read, from what to what."""

    at: str
    operator: str
    action: str
    read_id: str
    before: str | None
    after: str | None
    event_id: str | None


@dataclass(frozen=True)
class OutboxItem:
    """An event waiting in the store's outbox until the broker acknowledges it."""

    seq: int
    event_id: str
    topic: str
    payload: str


@dataclass(frozen=True)
class PurgeReport:
    """What a retention purge removed (or, dry run, would remove)."""

    unregistered_reads_deleted: int = 0
    matched_plates_removed: int = 0


@dataclass(frozen=True)
class VisitFact:
    """An anonymous queue fact for the statistics (see migration 6)."""

    kind: str
    at: str
    status: str | None
    wait_s: float | None
    service_s: float | None
