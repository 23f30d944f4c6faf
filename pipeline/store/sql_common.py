"""What both store engines share: ``SqlStore``, the methods whose SQL is the same on SQLite
and PostgreSQL, written once (the records they hold and return are in ``pipeline.domain``).

Shared SQL uses psycopg's ``%s`` placeholders; ``SqliteStore`` swaps them for ``?`` (as for
``dedup.SAME_VISIT``). Rows are read by column name (``sqlite3.Row`` and psycopg's
``dict_row`` both allow it), so aggregates carry an alias.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from pipeline.domain import Account, AuditEntry, OutboxItem, PurgeReport, ReadRecord, VisitFact
from pipeline.store.dedup import SAME_VISIT, same_visit_args, window_bounds

READ_COLUMNS = tuple(ReadRecord.__dataclass_fields__)


class Cursor(Protocol):
    """What the shared code uses of a cursor (``sqlite3.Cursor``, ``psycopg.Cursor``)."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Sql(Protocol):
    """A connection that runs the shared SQL (``%s`` placeholders) and returns a cursor."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Cursor: ...


_READS = ",".join(READ_COLUMNS)
_INSERT_READ = f"INSERT INTO reads({_READS}) VALUES ({','.join(['%s'] * len(READ_COLUMNS))})"
_INSERT_OUTBOX = "INSERT INTO outbox(event_id, topic, payload) VALUES (%s,%s,%s)"


def _make_account(row: Any, plates: Sequence[Any]) -> Account:
    """An account row and its plate rows (compact, display), in display order."""
    return Account(row["customer_number"], row["display_name"],
                   tuple(p["compact"] for p in plates), row["visit_reason"],
                   tuple(p["display"] for p in plates))


class SqlStore(ABC):
    """The ``Store`` methods that are the same SQL on both engines. An engine supplies a
    transaction (``_tx``), the bare connection for reads (``_conn``), ``vacuum`` and, where
    its SQL differs, ``_NULL_SAFE_EQ`` and ``_hold_customer``; migrations, outbox delivery,
    account import and the plates fingerprint stay with the engine."""

    # ``a <op> b`` true when both are equal or both NULL (SQLite before 3.39 lacks
    # ``IS NOT DISTINCT FROM``; PostgreSQL lacks ``IS`` between values)
    _NULL_SAFE_EQ = "IS NOT DISTINCT FROM"

    @abstractmethod
    def _tx(self) -> AbstractContextManager[Sql]:
        """One write transaction (committed on exit, rolled back on an exception), holding
        the store's lock."""

    @abstractmethod
    def _conn(self) -> AbstractContextManager[Sql]:
        """The connection under the store's lock, each statement its own transaction."""

    @abstractmethod
    def vacuum(self) -> None:
        """Rewrite the storage so deleted plate text does not linger (engine's own way)."""

    @abstractmethod
    def _hold_customer(self, db: Sql, customer_number: str) -> None:
        """Within ``record_passage``'s transaction ``db``, keep other writers from deciding
        about the same customer until it ends, so two cameras cannot both announce a car."""

    # -- accounts -------------------------------------------------------------------------

    def remove_account(self, customer_number: str) -> bool:
        with self._tx() as db:
            cur = db.execute("DELETE FROM accounts WHERE customer_number=%s", (customer_number,))
            return cur.rowcount > 0

    def remove_plate(self, compact: str) -> str | None:
        """Take one plate off its customer; returns that customer's number (None: unknown)."""
        with self._tx() as db:
            row = db.execute("SELECT customer_number FROM plates WHERE compact=%s",
                             (compact,)).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM plates WHERE compact=%s", (compact,))
            return str(row["customer_number"])

    def account(self, customer_number: str) -> Account | None:
        with self._conn() as db:
            row = db.execute("SELECT * FROM accounts WHERE customer_number=%s",
                             (customer_number,)).fetchone()
            return self._account(db, row) if row else None

    def account_for_plate(self, compact: str) -> Account | None:
        with self._conn() as db:
            row = db.execute("SELECT a.* FROM accounts a JOIN plates p USING(customer_number) "
                             "WHERE p.compact=%s", (compact,)).fetchone()
            return self._account(db, row) if row else None

    def plate_index(self) -> list[tuple[str, str]]:
        """Every registered plate with its customer: (compact, customer_number)."""
        with self._conn() as db:
            return [(r["compact"], r["customer_number"]) for r in db.execute(
                "SELECT compact, customer_number FROM plates").fetchall()]

    def accounts(self) -> list[Account]:
        with self._conn() as db:
            rows = db.execute("SELECT * FROM accounts ORDER BY customer_number").fetchall()
            plates: dict[str, list[Any]] = {}
            for p in db.execute("SELECT compact, display, customer_number FROM plates "
                                "ORDER BY display").fetchall():
                plates.setdefault(p["customer_number"], []).append(p)
        return [_make_account(r, plates.get(r["customer_number"], [])) for r in rows]

    @staticmethod
    def _account(db: Sql, row: Any) -> Account:
        return _make_account(row, db.execute(
            "SELECT compact, display FROM plates WHERE customer_number=%s ORDER BY display",
            (row["customer_number"],)).fetchall())

    # -- reads and outbox -----------------------------------------------------------------

    def record_passage(self, read: ReadRecord, outbox: OutboxItem | None,
                       dedup_s: float = 0.0, audit: AuditEntry | None = None) -> bool:
        """Store a passage and (if any) its event in one transaction: both or neither.
        ``dedup_s`` > 0 and a matched read: nothing is stored (False) when another camera has
        recorded an arrival of the same customer's same car within ``dedup_s`` of it. (Its own
        camera's repeats are the tracker's business.) ``audit``: an arrival the operator
        announced by hand, audited in the same transaction. Each engine raises
        ``protocol.DuplicateError`` when the read or event id is already stored."""
        with self._tx() as db:
            if dedup_s > 0 and read.customer_number and read.status == "matched":
                self._hold_customer(db, read.customer_number)
                lo, hi = window_bounds(read.seen_at, dedup_s)
                if db.execute(f"SELECT 1 FROM reads WHERE {SAME_VISIT} LIMIT 1",
                              same_visit_args(read, lo, hi)).fetchone():
                    return False
            db.execute(_INSERT_READ, tuple(getattr(read, c) for c in READ_COLUMNS))
            if outbox is not None:
                db.execute(_INSERT_OUTBOX, (outbox.event_id, outbox.topic, outbox.payload))
            if audit is not None:
                self._insert_audit(db, audit)
        return True

    def checkpoint(self, source: str) -> tuple[int, bool]:
        """(next frame to read, finished) for a file or folder source."""
        with self._conn() as db:
            row = db.execute("SELECT next_frame, done FROM checkpoints WHERE source=%s",
                             (source,)).fetchone()
        return (int(row["next_frame"]), bool(row["done"])) if row else (0, False)

    def save_checkpoint(self, source: str, next_frame: int, done: bool = False) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO checkpoints(source, next_frame, done) VALUES (%s,%s,%s) "
                       "ON CONFLICT(source) DO UPDATE SET next_frame=excluded.next_frame, "
                       "done=excluded.done", (source, next_frame, int(done)))

    def reads(self, limit: int = 100) -> list[ReadRecord]:
        with self._conn() as db:
            rows = db.execute(f"SELECT {_READS} FROM reads ORDER BY seen_at DESC LIMIT %s",
                              (limit,)).fetchall()
        return [ReadRecord(**dict(r)) for r in rows]

    def read(self, read_id: str) -> ReadRecord | None:
        with self._conn() as db:
            row = db.execute(f"SELECT {_READS} FROM reads WHERE read_id=%s",
                             (read_id,)).fetchone()
        return ReadRecord(**dict(row)) if row else None

    def list_reads(self, since: str = "", status: str | None = None,
                   limit: int = 500) -> list[ReadRecord]:
        """Reads seen at or after ``since`` (ISO UTC), newest first, optionally one status."""
        sql = f"SELECT {_READS} FROM reads WHERE seen_at >= %s"
        params: list[object] = [since]
        if status:
            sql += " AND status = %s"
            params.append(status)
        with self._conn() as db:
            rows = db.execute(sql + " ORDER BY seen_at DESC LIMIT %s",
                              (*params, limit)).fetchall()
        return [ReadRecord(**dict(r)) for r in rows]

    def read_counts(self, since: str) -> dict[str, int]:
        """Reads seen at or after ``since`` (ISO UTC) by status: the day's arrivals."""
        with self._conn() as db:
            rows = db.execute("SELECT status, COUNT(*) AS n FROM reads WHERE seen_at >= %s "
                              "GROUP BY status", (since,)).fetchall()
        return {str(r["status"]): int(r["n"]) for r in rows}

    def status_history(self, since: str) -> dict[str, int]:
        """Reads seen on or after the day of ``since`` (ISO UTC) by status, those the purge
        has deleted included (counted per day as they went)."""
        counts = self.read_counts(since[:10])
        with self._conn() as db:
            rows = db.execute("SELECT status, SUM(n) AS n FROM purged_counts WHERE day >= %s "
                              "GROUP BY status", (since[:10],)).fetchall()
        for r in rows:
            counts[str(r["status"])] = counts.get(str(r["status"]), 0) + int(r["n"])
        return counts

    def audit_count(self, since: str) -> int:
        """Operator actions (corrections, assignments, dismissals, undos) at or after
        ``since`` (ISO UTC)."""
        with self._conn() as db:
            row = db.execute("SELECT COUNT(*) AS n FROM audit WHERE at >= %s",
                             (since,)).fetchone()
        return int(row["n"])

    def reads_fingerprint(self) -> tuple[int, str, str]:
        """Changes whenever a read is added, corrected or purged (cheap to poll)."""
        with self._conn() as db:
            row = db.execute("SELECT COUNT(*) AS n, COALESCE(MAX(seen_at), '') AS s, "
                             "COALESCE(MAX(corrected_at), '') AS c FROM reads").fetchone()
        return int(row["n"]), str(row["s"]), str(row["c"])

    def apply_correction(self, read_id: str, *, expect_corrected_at: str | None,
                         status: str, plate_display: str | None, plate_compact: str | None,
                         customer_number: str | None, event_id: str, audit: AuditEntry,
                         outbox: OutboxItem, reopen: bool = False) -> bool:
        """An operator's change of a read, its audit entry and its event, in one transaction.
        ``reopen`` (undo) marks the read uncorrected again. False (nothing written) when
        someone else changed the read meanwhile."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE reads SET status=%s, plate_display=%s, plate_compact=%s, "
                "customer_number=%s, event_id=%s, corrected_at=%s, uncertain=NULL, "
                "candidates=NULL "
                f"WHERE read_id=%s AND corrected_at {self._NULL_SAFE_EQ} %s",
                (status, plate_display, plate_compact, customer_number, event_id,
                 None if reopen else audit.at, read_id, expect_corrected_at))
            if cur.rowcount != 1:
                return False
            self._insert_audit(db, audit)
            db.execute(_INSERT_OUTBOX, (outbox.event_id, outbox.topic, outbox.payload))
            db.execute("DELETE FROM evidence WHERE read_id=%s", (read_id,))  # decided
        return True

    @staticmethod
    def _insert_audit(db: Sql, audit: AuditEntry) -> None:
        db.execute("INSERT INTO audit(at, operator, action, read_id, before, after, "
                   "event_id) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                   (audit.at, audit.operator, audit.action, audit.read_id, audit.before,
                    audit.after, audit.event_id))

    def keep_evidence(self, read_id: str, crops: Sequence[bytes]) -> None:
        """The plate crops (JPEG) an operator's decision on ``read_id`` needs."""
        with self._tx() as db:
            for i, crop in enumerate(crops):
                db.execute("INSERT INTO evidence(read_id, idx, jpeg) VALUES (%s,%s,%s)",
                           (read_id, i, crop))

    def evidence(self, read_id: str) -> list[bytes]:
        """The crops kept for ``read_id``, best first; empty when none (or decided)."""
        with self._conn() as db:
            rows = db.execute("SELECT jpeg FROM evidence WHERE read_id=%s ORDER BY idx",
                              (read_id,)).fetchall()
        return [bytes(r["jpeg"]) for r in rows]

    def evidence_reads(self) -> dict[str, int]:
        """Read id -> number of crops kept, for every read that has some."""
        with self._conn() as db:
            rows = db.execute("SELECT read_id, COUNT(*) AS n FROM evidence "
                              "GROUP BY read_id").fetchall()
        return {str(r["read_id"]): int(r["n"]) for r in rows}

    def audit_log(self, read_id: str | None = None) -> list[AuditEntry]:
        sql = "SELECT at, operator, action, read_id, before, after, event_id FROM audit"
        with self._conn() as db:
            rows = db.execute(sql + (" WHERE read_id=%s ORDER BY id" if read_id
                                     else " ORDER BY id"),
                              (read_id,) if read_id else ()).fetchall()
        return [AuditEntry(**dict(r)) for r in rows]

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        """Unacknowledged events, oldest first (on PostgreSQL including those another worker
        is sending)."""
        with self._conn() as db:
            rows = db.execute("SELECT seq, event_id, topic, payload FROM outbox ORDER BY seq "
                              "LIMIT %s", (limit,)).fetchall()
        return [OutboxItem(r["seq"], r["event_id"], r["topic"], r["payload"]) for r in rows]

    def acknowledge(self, event_id: str) -> None:
        """The broker has the event: drop it from the outbox."""
        with self._tx() as db:
            db.execute("DELETE FROM outbox WHERE event_id=%s", (event_id,))

    def outbox_depth(self) -> int:
        with self._conn() as db:
            return int(db.execute("SELECT COUNT(*) AS n FROM outbox").fetchone()["n"])

    def outbox_oldest(self) -> str | None:
        """When the oldest event still in the outbox was queued (ISO UTC), or None."""
        with self._conn() as db:
            row = db.execute("SELECT MIN(created_at) AS t FROM outbox").fetchone()
        return None if row["t"] is None else str(row["t"])

    # -- privacy: retention, data subject requests, end of campaign -----------------------

    def purge(self, unregistered_before: str, matched_plates_before: str,
              dry_run: bool = False) -> PurgeReport:
        """Delete reads of unregistered cars seen before ``unregistered_before`` and those an
        operator dismissed (reviewed: not a customer), and strip the plate text from matched
        reads before ``matched_plates_before`` (ISO UTC times); account, time and status stay
        for statistics. Undelivered events stay: their payloads never hold such plate text."""
        gone_where = ("status != 'matched' AND (seen_at < %s OR status = 'dismissed')",
                      (unregistered_before,))
        stripped_where = ("status = 'matched' AND seen_at < %s AND "
                          "(plate_display IS NOT NULL OR plate_compact IS NOT NULL)",
                          (matched_plates_before,))
        with self._tx() as db:
            gone = db.execute(f"SELECT COUNT(*) AS n FROM reads WHERE {gone_where[0]}",
                              gone_where[1]).fetchone()
            stripped = db.execute(f"SELECT COUNT(*) AS n FROM reads WHERE {stripped_where[0]}",
                                  stripped_where[1]).fetchone()
            report = PurgeReport(int(gone["n"]), int(stripped["n"]))
            if dry_run:
                return report
            db.execute("INSERT INTO purged_counts(day, status, n) SELECT SUBSTR(seen_at, 1, 10), "
                       f"status, COUNT(*) FROM reads WHERE {gone_where[0]} "
                       "GROUP BY SUBSTR(seen_at, 1, 10), status ON CONFLICT(day, status) "
                       "DO UPDATE SET n = purged_counts.n + excluded.n", gone_where[1])
            for where, params in (gone_where, stripped_where):
                db.execute("UPDATE audit SET before=NULL, after=NULL WHERE read_id IN "
                           f"(SELECT read_id FROM reads WHERE {where})", params)
            db.execute(f"DELETE FROM reads WHERE {gone_where[0]}", gone_where[1])
            # the crops of reads gone, and of any read older than the day's end
            db.execute("DELETE FROM evidence WHERE read_id NOT IN (SELECT read_id FROM reads) "
                       "OR read_id IN (SELECT read_id FROM reads WHERE seen_at < %s)",
                       (unregistered_before,))
            db.execute("UPDATE reads SET plate_display=NULL, plate_compact=NULL, uncertain=NULL "
                       f"WHERE {stripped_where[0]}", stripped_where[1])
        if report.unregistered_reads_deleted or report.matched_plates_removed:
            self.vacuum()
        return report

    def export_customer(self, customer_number: str) -> dict[str, object] | None:
        """Everything stored about one customer (GDPR Art. 15), or None if unknown."""
        account = self.account(customer_number)
        with self._conn() as db:
            reads = db.execute(f"SELECT {_READS} FROM reads WHERE customer_number=%s "
                               "ORDER BY seen_at", (customer_number,)).fetchall()
            pending = db.execute(
                "SELECT o.event_id, o.topic, o.payload, o.created_at FROM outbox o "
                "JOIN reads r ON r.event_id = o.event_id WHERE r.customer_number=%s",
                (customer_number,)).fetchall()
        if account is None and not reads:
            return None
        return {
            "customer_number": customer_number,
            "account": None if account is None else {
                "display_name": account.display_name, "visit_reason": account.visit_reason,
                "plates": list(account.plate_displays)},
            "reads": [dict(r) for r in reads],
            "events_not_yet_delivered": [dict(p) for p in pending],
        }

    def forget_customer(self, customer_number: str) -> dict[str, int]:
        """Erase a customer (GDPR Art. 17): account, plates, reads, and events not yet sent."""
        with self._tx() as db:
            outbox = db.execute(
                "DELETE FROM outbox WHERE event_id IN (SELECT event_id FROM reads "
                "WHERE customer_number=%s)", (customer_number,)).rowcount
            db.execute("UPDATE audit SET before=NULL, after=NULL WHERE read_id IN (SELECT "
                       "read_id FROM reads WHERE customer_number=%s)", (customer_number,))
            db.execute("DELETE FROM evidence WHERE read_id IN (SELECT read_id FROM reads "
                       "WHERE customer_number=%s)", (customer_number,))
            db.execute("UPDATE reads SET candidates=NULL WHERE candidates LIKE %s",
                       (f'%"{customer_number}"%',))  # named as a candidate of another car
            reads = db.execute("DELETE FROM reads WHERE customer_number=%s",
                               (customer_number,)).rowcount
            plates = db.execute("DELETE FROM plates WHERE customer_number=%s",
                                (customer_number,)).rowcount
            accounts = db.execute("DELETE FROM accounts WHERE customer_number=%s",
                                  (customer_number,)).rowcount
        self.vacuum()
        return {"accounts": accounts, "plates": plates, "reads": reads,
                "undelivered_events_dropped": outbox}

    def close_campaign(self) -> dict[str, int]:
        """End of campaign: delete every account, plate and plate pseudonym, and every
        undelivered event; keep only anonymous arrival statistics (time, camera, status)."""
        with self._tx() as db:
            counts = {
                "undelivered_events_dropped": db.execute("DELETE FROM outbox").rowcount,
                "plate_crops": db.execute("DELETE FROM evidence").rowcount,
                "plates": db.execute("DELETE FROM plates").rowcount,
                "accounts": db.execute("DELETE FROM accounts").rowcount,
                "audit_entries_anonymised": db.execute(
                    "UPDATE audit SET before=NULL, after=NULL").rowcount,
                "reads_anonymised": db.execute(
                    "UPDATE reads SET plate_display=NULL, plate_compact=NULL, plate_hmac=NULL, "
                    "matched_plate_hmac=NULL, candidates=NULL, "
                    "customer_number=NULL, event_id=NULL").rowcount,
            }
        self.vacuum()
        return counts

    # -- anonymous statistics (kept by purge, forget and campaign close) -----------------

    def add_visit_fact(self, kind: str, at: str, status: str | None, wait_s: float | None,
                       service_s: float | None) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO visit_facts(kind, at, status, wait_s, service_s) "
                       "VALUES (%s,%s,%s,%s,%s)", (kind, at, status, wait_s, service_s))

    def visit_facts(self, since: str, until: str) -> list[VisitFact]:
        """Facts with ``since <= at < until`` (ISO UTC), oldest first."""
        with self._conn() as db:
            rows = db.execute("SELECT kind, at, status, wait_s, service_s FROM visit_facts "
                              "WHERE at >= %s AND at < %s ORDER BY at, id",
                              (since, until)).fetchall()
        return [VisitFact(**dict(r)) for r in rows]
