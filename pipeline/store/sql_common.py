"""What both store engines share: the records they hold and return.

SQL written once for both engines uses psycopg's ``%s`` placeholders; ``SqliteStore`` swaps
them for ``?`` (as for ``dedup.SAME_VISIT``).
"""

from __future__ import annotations

from dataclasses import dataclass


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


READ_COLUMNS = tuple(ReadRecord.__dataclass_fields__)


@dataclass(frozen=True)
class PurgeReport:
    """What a retention purge removed (or, dry run, would remove)."""

    unregistered_reads_deleted: int = 0
    matched_plates_removed: int = 0


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    event_id: str
    topic: str
    payload: str


@dataclass(frozen=True)
class VisitFact:
    """An anonymous queue fact for the statistics (see migration 6)."""

    kind: str
    at: str
    status: str | None
    wait_s: float | None
    service_s: float | None
