"""Operator corrections of a read: fix the plate, assign an account, dismiss, undo; and an
arrival the camera did not announce, entered by hand.

Each action changes the read, writes an audit entry and queues a ``correction`` event on the
arrival topic, all in one transaction, so the service window gets the right customer through
the same durable outbox. A correction names the event it supersedes: consumers replace that
event, so one car never becomes two arrivals. A car the camera missed (its plate unreadable,
the camera down) gets an ``arrival`` of its own from camera ``operator``
(:meth:`Corrections.arrive`), stored, audited and queued the same way.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.domain import (
    Account,
    AuditEntry,
    OutboxItem,
    ReadRecord,
    Status,
    iso,
    local_clock,
    utc_now,
)
from pipeline.events.arrival import arrival_payload, build_correction, payload_json
from pipeline.events.topics import Topics
from pipeline.plate.districts import district_codes
from pipeline.plate.grammar import plate_from_label
from pipeline.privacy.pseudonyms import plate_pseudonym
from pipeline.store.protocol import Store

# The camera id of arrivals the operator enters by hand.
OPERATOR_CAMERA = "operator"


class CorrectionError(ValueError):
    """The action cannot be done; the message says what to do instead."""


@dataclass(frozen=True)
class CorrectionResult:
    read: ReadRecord
    event_id: str
    payload: dict[str, object]


def operator_name(explicit: str | None = None) -> str:
    return (explicit or os.environ.get("KENNZEICHEN_OPERATOR") or os.environ.get("USER")
            or "operator")


def _describe(read: ReadRecord) -> str:
    """The read's state for the audit log (plate text is purged from it with the read)."""
    return json.dumps({"status": read.status, "plate": read.plate_display,
                       "customer_number": read.customer_number}, ensure_ascii=False)


class Corrections:
    """Operator actions on reads, against one store."""

    def __init__(self, store: Store, topics: Topics, site: str, operator: str,
                 detail: str = "full", clock: Callable[[], datetime] = utc_now,
                 timezone: str = "Europe/Berlin", hmac_key: bytes | None = None,
                 dedup_s: float = 120.0) -> None:
        """``timezone``: the site's zone, in which messages give clock times; ``hmac_key``:
        the site's pseudonym key and ``dedup_s`` its visit window (``[tracking] dedup_s``),
        both for arrivals entered by hand."""
        self.store = store
        self.hmac_key = hmac_key
        self.dedup_s = dedup_s
        self.timezone = timezone
        self.topics = topics
        self.site = site
        self.operator = operator
        self.detail = detail
        self._now = clock

    def _read(self, read_id: str, allow_corrected: bool = False) -> ReadRecord:
        read = self.store.read(read_id)
        if read is None:
            raise CorrectionError(f"no read {read_id!r}: see 'kennzeichen-checkin reads list' "
                                  "for the ids (reads of unregistered cars are deleted at the "
                                  "end of the service day)")
        if read.corrected_at and not allow_corrected:
            at = local_clock(read.corrected_at, self.timezone, "%Y-%m-%d %H:%M:%S")
            raise CorrectionError(f"read {read_id} was already corrected at {at}; use "
                                  "'reads undo' first, or --force to change it again")
        return read

    def correct_plate(self, read_id: str, plate_text: str, force: bool = False
                      ) -> CorrectionResult:
        """The operator typed the right plate: re-match it exactly."""
        read = self._read(read_id, force)
        try:
            plate = plate_from_label(plate_text, district_codes())
        except ValueError as exc:
            raise CorrectionError(str(exc)) from exc
        account = self.store.account_for_plate(plate.compact)
        status = Status.MATCHED if account else Status.UNREGISTERED
        return self._apply(read, "correct", status, plate.display, plate.compact, account)

    def assign(self, read_id: str, customer_number: str, force: bool = False
               ) -> CorrectionResult:
        """The operator knows the customer (e.g. asked at the window)."""
        read = self._read(read_id, force)
        account = self.store.account(customer_number)
        if account is None:
            raise CorrectionError(f"customer {customer_number} not found; search with "
                                  "'kennzeichen-checkin accounts list'")
        plate_display = read.plate_display
        plate_compact = read.plate_compact
        if len(account.plates) == 1:  # the registered plate is the truth for this car
            plate_compact, plate_display = account.plates[0], account.plate_displays[0]
        return self._apply(read, "assign", Status.MATCHED, plate_display, plate_compact, account)

    def dismiss(self, read_id: str, force: bool = False) -> CorrectionResult:
        """Not a customer's car (a delivery van, a sign): withdraw the arrival."""
        read = self._read(read_id, force)
        return self._apply(read, "dismiss", Status.DISMISSED, read.plate_display,
                           read.plate_compact, None)

    def undo(self, read_id: str) -> CorrectionResult:
        """Restore the read as it was before its last correction."""
        read = self._read(read_id, allow_corrected=True)
        history = [a for a in self.store.audit_log(read_id) if a.action != "undo"]
        if not read.corrected_at or not history or history[-1].before is None:
            raise CorrectionError(f"read {read_id} has no correction to undo")
        before = json.loads(history[-1].before)
        account = self.store.account(before["customer_number"]) \
            if before.get("customer_number") else None
        plate = before.get("plate")
        compact = plate_from_label(plate, district_codes()).compact if plate else None
        return self._apply(read, "undo", before["status"], plate, compact, account,
                           reopen=True)

    def arrive(self, plate_text: str | None = None, customer_number: str | None = None,
               force: bool = False) -> CorrectionResult:
        """A car the camera did not announce (its plate unreadable, the camera down): its
        arrival by hand, for the plate the operator read (matched exactly) or the customer
        they asked. A customer checked in within ``dedup_s`` is not announced twice unless
        ``force``."""
        if not plate_text and not customer_number:
            raise CorrectionError("give the plate (--plate 'OF-AB 123'), the customer "
                                  "(--customer 10001), or both")
        plate = None
        if plate_text:
            try:
                plate = plate_from_label(plate_text, district_codes())
            except ValueError as exc:
                raise CorrectionError(str(exc)) from exc
        if customer_number:
            account = self.store.account(customer_number)
            if account is None:
                raise CorrectionError(f"customer {customer_number} not found; search with "
                                      "'kennzeichen-checkin accounts list'")
        else:
            assert plate is not None
            account = self.store.account_for_plate(plate.compact)
        display, compact = (plate.display, plate.compact) if plate else (None, None)
        if plate is None and account is not None and len(account.plates) == 1:
            display, compact = account.plate_displays[0], account.plates[0]
        now = self._now()
        if account is not None and not force:
            self._not_arrived(account.customer_number, now)
        status = Status.MATCHED if account is not None else Status.UNREGISTERED
        event_id, read_id = str(uuid.uuid4()), uuid.uuid4().hex[:12]
        payload = arrival_payload(event_id=event_id, read_id=read_id, seen_at=now,
                                  site=self.site, camera_id=OPERATOR_CAMERA, status=status,
                                  confidence=1.0, account=account, plate_display=display,
                                  detail=self.detail)
        customer = account.customer_number if account is not None else None
        pseudonym = plate_pseudonym(self.hmac_key, compact) \
            if compact and self.hmac_key else None
        read = ReadRecord(read_id, iso(now), OPERATOR_CAMERA, display, compact, 1.0, status,
                          customer, event_id, plate_hmac=pseudonym,
                          matched_plate_hmac=pseudonym if customer else None)
        after = json.dumps({"status": status, "plate": display, "customer_number": customer},
                           ensure_ascii=False)
        audit = AuditEntry(iso(now), self.operator, "arrive", read_id, None, after, event_id)
        outbox = OutboxItem(0, event_id, self.topics.arrival, payload_json(payload))
        if not self.store.record_passage(read, outbox, 0.0 if force else self.dedup_s, audit):
            raise CorrectionError(self._arrived_message(customer or ""))
        return CorrectionResult(read, event_id, payload)

    def _not_arrived(self, customer_number: str, now: datetime) -> None:
        """Raise when the customer was checked in within ``dedup_s`` (by any camera or by
        hand): the car is already announced."""
        since = iso(now - timedelta(seconds=self.dedup_s))
        if any(r.customer_number == customer_number
               for r in self.store.list_reads(since, Status.MATCHED)):
            raise CorrectionError(self._arrived_message(customer_number))

    def _arrived_message(self, customer_number: str) -> str:
        return (f"customer {customer_number} was checked in less than {self.dedup_s:.0f} s "
                "ago: already announced (see 'kennzeichen-checkin reads list'); --force "
                "announces the car again")

    def _apply(self, read: ReadRecord, action: str, status: str, plate_display: str | None,
               plate_compact: str | None, account: Account | None,
               reopen: bool = False) -> CorrectionResult:
        now = self._now()
        event_id = str(uuid.uuid4())
        payload = build_correction(read, event_id=event_id, at=now, site=self.site,
                                   status=status, plate_display=plate_display,
                                   account=account, detail=self.detail)
        customer = account.customer_number if account and status == Status.MATCHED else None
        after = json.dumps({"status": status, "plate": plate_display,
                            "customer_number": customer}, ensure_ascii=False)
        audit = AuditEntry(iso(now), self.operator, action, read.read_id, _describe(read),
                           after, event_id)
        ok = self.store.apply_correction(
            read.read_id, expect_corrected_at=read.corrected_at, status=status,
            plate_display=plate_display, plate_compact=plate_compact, customer_number=customer,
            event_id=event_id, audit=audit,
            outbox=OutboxItem(0, event_id, self.topics.arrival, payload_json(payload)),
            reopen=reopen)
        if not ok:
            raise CorrectionError(f"read {read.read_id} was changed by someone else just now; "
                                  "look at it again ('reads list') and retry")
        updated = self.store.read(read.read_id)
        assert updated is not None
        return CorrectionResult(updated, event_id, payload)
