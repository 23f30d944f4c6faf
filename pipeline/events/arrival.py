"""Arrival events: their JSON payloads (pure; no I/O), sent on ``Topics.arrival``
(``pipeline.events.topics``).

Consumers deduplicate by ``event_id``: delivery is at least once, so after a broker restart or
a lost acknowledgement the same event may arrive twice, always with the same id.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from pipeline.domain import Account, ReadRecord, Status, iso
from pipeline.matching.matcher import MatchResult
from pipeline.tracking.passages import Passage

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ArrivalEvent:
    event_id: str
    read_id: str
    payload: dict[str, object]

    def to_json(self) -> str:
        return payload_json(self.payload)


def payload_json(payload: dict[str, object]) -> str:
    """The wire form of every event: compact UTF-8 JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def registered_display(account: Account, compact: str | None) -> str | None:
    """The plate as registered (a fuzzy match shows the customer's plate, not the misread)."""
    for c, display in zip(account.plates, account.plate_displays, strict=False):
        if c == compact:
            return display
    return None


def add_account(payload: dict[str, object], account: Account, plate_display: str | None,
                detail: str) -> None:
    """What a service window learns about a checked-in customer, per ``matched_payload``:
    ``full`` (plate, number, name, reason), ``no_plate`` or ``customer_number``."""
    entry: dict[str, object] = {"customer_number": account.customer_number}
    if detail != "customer_number":
        entry["display_name"] = account.display_name
        entry["visit_reason"] = account.visit_reason or None
    if detail == "full" and plate_display:
        payload["plate"] = plate_display
    payload["account"] = entry


def build_arrival(passage: Passage, match: MatchResult, *, camera_id: str, site: str,
                  seen_at: datetime, event_id: str | None = None,
                  read_id: str | None = None, detail: str = "full") -> ArrivalEvent:
    """The arrival for one passage. Unregistered cars and reads that need an operator's review
    (``needs_review``) carry no plate text and no account; for matched
    ones ``detail`` is ``full`` (plate, customer number, name, reason), ``no_plate`` or
    ``customer_number`` (nothing but the number)."""
    event_id = event_id or str(uuid.uuid4())
    read_id = read_id or uuid.uuid4().hex[:12]
    display = None
    if match.account is not None:
        display = registered_display(match.account, match.plate) or passage.plate.display
    return ArrivalEvent(event_id, read_id, arrival_payload(
        event_id=event_id, read_id=read_id, seen_at=seen_at, site=site, camera_id=camera_id,
        status=match.status, confidence=passage.confidence, account=match.account,
        plate_display=display, detail=detail))


def arrival_payload(*, event_id: str, read_id: str, seen_at: datetime, site: str,
                    camera_id: str, status: str, confidence: float, account: Account | None,
                    plate_display: str | None, detail: str) -> dict[str, object]:
    """The payload of an arrival, whoever saw the car (a camera's passage, or the operator
    announcing one by hand): the account and plate only when checked in (``add_account``)."""
    payload: dict[str, object] = {
        "schema": SCHEMA_VERSION,
        "type": "arrival",
        "event_id": event_id,
        "read_id": read_id,
        "timestamp": iso(seen_at),
        "site": site,
        "camera_id": camera_id,
        "status": status,
        "confidence": round(confidence, 3),
    }
    if status == Status.MATCHED and account is not None:
        add_account(payload, account, plate_display, detail)
    return payload


def build_correction(read: ReadRecord, *, event_id: str, at: datetime, site: str, status: str,
                     plate_display: str | None, account: Account | None,
                     detail: str) -> dict[str, object]:
    """An operator's correction of an earlier arrival (``supersedes`` its event id): the
    same schema, fields and privacy rules as an arrival, ``seen_at`` the car's time."""
    payload: dict[str, object] = {
        "schema": SCHEMA_VERSION, "type": "correction", "event_id": event_id,
        "supersedes": read.event_id, "read_id": read.read_id, "timestamp": iso(at),
        "seen_at": read.seen_at, "site": site, "camera_id": read.camera_id,
        "status": status,
    }
    if status == Status.MATCHED and account is not None:
        add_account(payload, account, plate_display, detail)
    return payload
