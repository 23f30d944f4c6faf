"""The account store, read log and durable event outbox in one SQLite file (WAL mode).

Schema changes are numbered migrations applied in order at open; the version lives in
``PRAGMA user_version``. Every arrival is written to the outbox in the same transaction as
its read, and leaves the outbox only when the broker has acknowledged it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.store.accounts_csv import Account
from pipeline.store.dedup import SAME_VISIT, same_visit_args, window_bounds
from pipeline.store.sql_common import (
    READ_COLUMNS,
    AuditEntry,
    OutboxItem,
    PurgeReport,
    ReadRecord,
    VisitFact,
)

# the records are defined beside the shared SQL; most of the program imports them from here
__all__ = ["MIGRATIONS", "READ_COLUMNS", "AuditEntry", "OutboxItem", "PurgeReport",
           "ReadRecord", "SqliteStore", "VisitFact"]

log = logging.getLogger(__name__)

MIGRATIONS: tuple[str, ...] = (
    # 1: accounts, plates, reads, outbox
    """
    CREATE TABLE accounts (
        customer_number TEXT PRIMARY KEY,
        display_name    TEXT NOT NULL,
        visit_reason    TEXT NOT NULL DEFAULT '',
        created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE plates (
        compact         TEXT PRIMARY KEY,
        display         TEXT NOT NULL,
        customer_number TEXT NOT NULL REFERENCES accounts(customer_number) ON DELETE CASCADE
    );
    CREATE INDEX plates_by_customer ON plates(customer_number);
    CREATE TABLE reads (
        read_id         TEXT PRIMARY KEY,
        seen_at         TEXT NOT NULL,
        camera_id       TEXT NOT NULL,
        plate_display   TEXT,
        plate_compact   TEXT,
        confidence      REAL NOT NULL,
        status          TEXT NOT NULL,
        customer_number TEXT,
        event_id        TEXT
    );
    CREATE INDEX reads_by_time ON reads(seen_at);
    CREATE TABLE outbox (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id   TEXT NOT NULL UNIQUE,
        topic      TEXT NOT NULL,
        payload    TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        attempts   INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 2: keyed pseudonym of the plate (statistics and recognising an unknown car again
    # without its plate text)
    """
    ALTER TABLE reads ADD COLUMN plate_hmac TEXT;
    CREATE INDEX reads_by_customer ON reads(customer_number);
    """,
    # 3: operator corrections and their audit log
    """
    ALTER TABLE reads ADD COLUMN corrected_at TEXT;
    CREATE TABLE audit (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        at        TEXT NOT NULL,
        operator  TEXT NOT NULL,
        action    TEXT NOT NULL,
        read_id   TEXT NOT NULL,
        before    TEXT,
        after     TEXT,
        event_id  TEXT
    );
    CREATE INDEX audit_by_read ON audit(read_id);
    """,
    # 4: positions of the plate the reads disagreed on, marked in the operator console
    """
    ALTER TABLE reads ADD COLUMN uncertain TEXT;
    """,
    # 5: where a run over a file or folder got to, so a restart resumes there
    """
    CREATE TABLE checkpoints (
        source     TEXT PRIMARY KEY,
        next_frame INTEGER NOT NULL,
        done       INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 6: anonymous queue facts for the statistics (no plate, read id or customer number), so
    # they survive purge, forget and campaign close. kind: arrival | served | left |
    # correction; at: UTC to the minute; wait_s/service_s only for served.
    """
    CREATE TABLE visit_facts (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        kind      TEXT NOT NULL,
        at        TEXT NOT NULL,
        status    TEXT,
        wait_s    REAL,
        service_s REAL
    );
    CREATE INDEX visit_facts_by_time ON visit_facts(at);
    """,
    # 7: which registered plate a matched read was checked in to (keyed pseudonym), so that
    # cross-camera dedup tells a customer's two cars apart
    """
    ALTER TABLE reads ADD COLUMN matched_plate_hmac TEXT;
    """,
)


class SqliteStore:
    """Accounts, reads and outbox in one SQLite file; safe to share between threads and with
    other processes on the same file (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False,
                                   isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        # deleted plate text is overwritten, not left in free pages
        self._db.execute("PRAGMA secure_delete=ON")
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise RuntimeError(f"{self.path} has schema version {version}, newer than this "
                                   f"program ({len(MIGRATIONS)}): upgrade kennzeichen-checkin")
            for number in range(version, len(MIGRATIONS)):
                self._db.executescript("BEGIN IMMEDIATE;" + MIGRATIONS[number]
                                       + f";PRAGMA user_version={number + 1}; COMMIT;")

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    # -- accounts -------------------------------------------------------------------------

    def import_accounts(self, accounts: Iterable[Account], replace: bool = False) -> int:
        """Add or update accounts in one transaction; with ``replace``, the file becomes the
        whole account list. A plate already registered to another customer aborts it all."""
        accounts = list(accounts)
        with self._tx() as db:
            if replace:
                db.execute("DELETE FROM accounts")
            conflicts = []
            for acc in accounts:
                for compact in acc.plates:
                    row = db.execute("SELECT customer_number FROM plates WHERE compact=?",
                                     (compact,)).fetchone()
                    if row and row[0] != acc.customer_number:
                        conflicts.append(f"plate {compact} of customer {acc.customer_number} "
                                         f"is already registered to customer {row[0]}")
            if conflicts:
                raise ValueError("nothing imported: " + "; ".join(conflicts[:20]))
            for acc in accounts:
                db.execute(
                    "INSERT INTO accounts(customer_number, display_name, visit_reason) "
                    "VALUES (?,?,?) ON CONFLICT(customer_number) DO UPDATE SET "
                    "display_name=excluded.display_name, visit_reason=excluded.visit_reason",
                    (acc.customer_number, acc.display_name, acc.visit_reason))
                displays = acc.plate_displays or acc.plates
                db.executemany(
                    "INSERT OR REPLACE INTO plates(compact, display, customer_number) "
                    "VALUES (?,?,?)",
                    [(c, d, acc.customer_number) for c, d in zip(acc.plates, displays,
                                                                 strict=True)])
        return len(accounts)

    def remove_account(self, customer_number: str) -> bool:
        with self._tx() as db:
            cur = db.execute("DELETE FROM accounts WHERE customer_number=?", (customer_number,))
            return cur.rowcount > 0

    def account(self, customer_number: str) -> Account | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM accounts WHERE customer_number=?",
                                   (customer_number,)).fetchone()
            return self._account(row) if row else None

    def account_for_plate(self, compact: str) -> Account | None:
        with self._lock:
            row = self._db.execute(
                "SELECT a.* FROM accounts a JOIN plates p USING(customer_number) "
                "WHERE p.compact=?", (compact,)).fetchone()
            return self._account(row) if row else None

    def plate_index(self) -> list[tuple[str, str]]:
        """Every registered plate with its customer: (compact, customer_number)."""
        with self._lock:
            return [(r[0], r[1]) for r in self._db.execute(
                "SELECT compact, customer_number FROM plates")]

    def plates_fingerprint(self) -> tuple[int, int]:
        """Changes whenever plates are added, removed or re-assigned (every write is an
        INSERT OR REPLACE, which gives the row a new rowid): cheap to poll."""
        with self._lock:
            row = self._db.execute("SELECT COUNT(*), TOTAL(rowid) FROM plates").fetchone()
            return int(row[0]), int(row[1])

    def accounts(self) -> list[Account]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM accounts ORDER BY customer_number").fetchall()
            return [self._account(r) for r in rows]

    def _account(self, row: sqlite3.Row) -> Account:
        plates = self._db.execute(
            "SELECT compact, display FROM plates WHERE customer_number=? ORDER BY display",
            (row["customer_number"],)).fetchall()
        return Account(row["customer_number"], row["display_name"],
                       tuple(p["compact"] for p in plates), row["visit_reason"],
                       tuple(p["display"] for p in plates))

    # -- reads and outbox -----------------------------------------------------------------

    def record_passage(self, read: ReadRecord, outbox: OutboxItem | None,
                       dedup_s: float = 0.0) -> bool:
        """Store a passage and (if any) its event in one transaction: both or neither.
        ``dedup_s`` > 0 and a matched read: nothing is stored (False) when another camera has
        recorded an arrival of the same customer's same car within ``dedup_s`` of it. (Its own
        camera's repeats are the tracker's business.) Raises sqlite3.IntegrityError when the
        read or event id is already stored."""
        with self._tx() as db:
            if dedup_s > 0 and read.customer_number and read.status == "matched":
                lo, hi = window_bounds(read.seen_at, dedup_s)
                if db.execute(f"SELECT 1 FROM reads WHERE {SAME_VISIT} LIMIT 1".replace("%s", "?"),
                              same_visit_args(read, lo, hi)).fetchone():
                    return False
            db.execute(f"INSERT INTO reads({','.join(READ_COLUMNS)}) "
                       f"VALUES ({','.join('?' * len(READ_COLUMNS))})",
                       tuple(getattr(read, c) for c in READ_COLUMNS))
            if outbox is not None:
                db.execute("INSERT INTO outbox(event_id, topic, payload) VALUES (?,?,?)",
                           (outbox.event_id, outbox.topic, outbox.payload))
        return True

    def checkpoint(self, source: str) -> tuple[int, bool]:
        """(next frame to read, finished) for a file or folder source."""
        with self._lock:
            row = self._db.execute("SELECT next_frame, done FROM checkpoints WHERE source=?",
                                   (source,)).fetchone()
            return (int(row[0]), bool(row[1])) if row else (0, False)

    def save_checkpoint(self, source: str, next_frame: int, done: bool = False) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO checkpoints(source, next_frame, done) VALUES (?,?,?) "
                       "ON CONFLICT(source) DO UPDATE SET next_frame=excluded.next_frame, "
                       "done=excluded.done", (source, next_frame, int(done)))

    def reads(self, limit: int = 100) -> list[ReadRecord]:
        with self._lock:
            rows = self._db.execute(f"SELECT {','.join(READ_COLUMNS)} FROM reads "
                                    "ORDER BY seen_at DESC LIMIT ?", (limit,)).fetchall()
            return [ReadRecord(**dict(r)) for r in rows]

    def read(self, read_id: str) -> ReadRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {','.join(READ_COLUMNS)} FROM reads "
                                   "WHERE read_id=?", (read_id,)).fetchone()
            return ReadRecord(**dict(row)) if row else None

    def list_reads(self, since: str = "", status: str | None = None,
                   limit: int = 500) -> list[ReadRecord]:
        """Reads seen at or after ``since`` (ISO UTC), newest first, optionally one status."""
        sql = f"SELECT {','.join(READ_COLUMNS)} FROM reads WHERE seen_at >= ?"
        params: list[object] = [since]
        if status:
            sql += " AND status = ?"
            params.append(status)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seen_at DESC LIMIT ?",
                                    (*params, limit)).fetchall()
            return [ReadRecord(**dict(r)) for r in rows]

    def reads_fingerprint(self) -> tuple[int, str, str]:
        """Changes whenever a read is added, corrected or purged (cheap to poll)."""
        with self._lock:
            row = self._db.execute("SELECT COUNT(*), COALESCE(MAX(seen_at), ''), "
                                   "COALESCE(MAX(corrected_at), '') FROM reads").fetchone()
            return int(row[0]), str(row[1]), str(row[2])

    def apply_correction(self, read_id: str, *, expect_corrected_at: str | None,
                         status: str, plate_display: str | None, plate_compact: str | None,
                         customer_number: str | None, event_id: str, audit: AuditEntry,
                         outbox: OutboxItem, reopen: bool = False) -> bool:
        """An operator's change of a read, its audit entry and its event, in one transaction.
        ``reopen`` (undo) marks the read uncorrected again. False (nothing written) when
        someone else changed the read meanwhile."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE reads SET status=?, plate_display=?, plate_compact=?, "
                "customer_number=?, event_id=?, corrected_at=?, uncertain=NULL "
                "WHERE read_id=? AND corrected_at IS ?",
                (status, plate_display, plate_compact, customer_number, event_id,
                 None if reopen else audit.at, read_id, expect_corrected_at))
            if cur.rowcount != 1:
                return False
            db.execute("INSERT INTO audit(at, operator, action, read_id, before, after, "
                       "event_id) VALUES (?,?,?,?,?,?,?)",
                       (audit.at, audit.operator, audit.action, audit.read_id, audit.before,
                        audit.after, audit.event_id))
            db.execute("INSERT INTO outbox(event_id, topic, payload) VALUES (?,?,?)",
                       (outbox.event_id, outbox.topic, outbox.payload))
        return True

    def audit_log(self, read_id: str | None = None) -> list[AuditEntry]:
        sql = "SELECT at, operator, action, read_id, before, after, event_id FROM audit"
        with self._lock:
            rows = self._db.execute(sql + (" WHERE read_id=? ORDER BY id" if read_id
                                           else " ORDER BY id"),
                                    (read_id,) if read_id else ()).fetchall()
            return [AuditEntry(**dict(r)) for r in rows]

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        """Unacknowledged events, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, topic, payload FROM outbox ORDER BY seq LIMIT ?",
                (limit,)).fetchall()
            return [OutboxItem(r["seq"], r["event_id"], r["topic"], r["payload"]) for r in rows]

    def acknowledge(self, event_id: str) -> None:
        """The broker has the event: drop it from the outbox."""
        with self._tx() as db:
            db.execute("DELETE FROM outbox WHERE event_id=?", (event_id,))

    def outbox_depth(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def deliver(self, send: Callable[[OutboxItem], bool], limit: int = 50) -> int:
        """Send up to ``limit`` events, oldest first, each dropped once ``send`` returns True.
        One process at a time delivers from a file (an OS lock beside it, released when the
        process dies), so a console and a pipeline never send the same event twice. Returns
        how many were sent; fewer than ``limit``: nothing more to send, ``send`` failed, or
        another process is delivering."""
        import fcntl

        with open(f"{self.path}-outbox.lock", "a+b") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0
            sent = 0
            for item in self.pending(limit):
                if not send(item):
                    break
                self.acknowledge(item.event_id)
                sent += 1
            return sent

    # -- privacy: retention, data subject requests, end of campaign -----------------------

    def purge(self, unregistered_before: str, matched_plates_before: str,
              dry_run: bool = False) -> PurgeReport:
        """Delete reads of unregistered cars seen before ``unregistered_before`` and those an
        operator dismissed (reviewed: not a customer), and strip the plate text from matched
        reads before ``matched_plates_before`` (ISO UTC times); account, time and status stay
        for statistics. Undelivered events stay: their payloads never hold such plate text."""
        gone_where = ("status != 'matched' AND (seen_at < ? OR status = 'dismissed')",
                      (unregistered_before,))
        stripped_where = ("status = 'matched' AND seen_at < ? AND "
                          "(plate_display IS NOT NULL OR plate_compact IS NOT NULL)",
                          (matched_plates_before,))
        with self._tx() as db:
            gone = db.execute(f"SELECT COUNT(*) FROM reads WHERE {gone_where[0]}",
                              gone_where[1]).fetchone()[0]
            stripped = db.execute(f"SELECT COUNT(*) FROM reads WHERE {stripped_where[0]}",
                                  stripped_where[1]).fetchone()[0]
            report = PurgeReport(int(gone), int(stripped))
            if dry_run:
                return report
            for where, params in (gone_where, stripped_where):
                db.execute("UPDATE audit SET before=NULL, after=NULL WHERE read_id IN "
                           f"(SELECT read_id FROM reads WHERE {where})", params)
            db.execute(f"DELETE FROM reads WHERE {gone_where[0]}", gone_where[1])
            db.execute("UPDATE reads SET plate_display=NULL, plate_compact=NULL, uncertain=NULL "
                       f"WHERE {stripped_where[0]}", stripped_where[1])
        if report.unregistered_reads_deleted or report.matched_plates_removed:
            self.vacuum()
        return report

    def export_customer(self, customer_number: str) -> dict[str, object] | None:
        """Everything stored about one customer (GDPR Art. 15), or None if unknown."""
        account = self.account(customer_number)
        with self._lock:
            reads = self._db.execute(
                f"SELECT {','.join(READ_COLUMNS)} FROM reads WHERE customer_number=? "
                "ORDER BY seen_at", (customer_number,)).fetchall()
            pending = self._db.execute(
                "SELECT o.event_id, o.topic, o.payload, o.created_at FROM outbox o "
                "JOIN reads r ON r.event_id = o.event_id WHERE r.customer_number=?",
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
                "WHERE customer_number=?)", (customer_number,)).rowcount
            db.execute("UPDATE audit SET before=NULL, after=NULL WHERE read_id IN (SELECT "
                       "read_id FROM reads WHERE customer_number=?)", (customer_number,))
            reads = db.execute("DELETE FROM reads WHERE customer_number=?",
                               (customer_number,)).rowcount
            plates = db.execute("DELETE FROM plates WHERE customer_number=?",
                                (customer_number,)).rowcount
            accounts = db.execute("DELETE FROM accounts WHERE customer_number=?",
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
                "plates": db.execute("DELETE FROM plates").rowcount,
                "accounts": db.execute("DELETE FROM accounts").rowcount,
                "audit_entries_anonymised": db.execute(
                    "UPDATE audit SET before=NULL, after=NULL").rowcount,
                "reads_anonymised": db.execute(
                    "UPDATE reads SET plate_display=NULL, plate_compact=NULL, plate_hmac=NULL, "
                    "matched_plate_hmac=NULL, "
                    "customer_number=NULL, event_id=NULL").rowcount,
            }
        self.vacuum()
        return counts

    # -- anonymous statistics (kept by purge, forget and campaign close) -----------------

    def add_visit_fact(self, kind: str, at: str, status: str | None, wait_s: float | None,
                       service_s: float | None) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO visit_facts(kind, at, status, wait_s, service_s) "
                       "VALUES (?,?,?,?,?)", (kind, at, status, wait_s, service_s))

    def visit_facts(self, since: str, until: str) -> list[VisitFact]:
        """Facts with ``since <= at < until`` (ISO UTC), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, at, status, wait_s, service_s FROM visit_facts "
                "WHERE at >= ? AND at < ? ORDER BY at, id", (since, until)).fetchall()
            return [VisitFact(**dict(r)) for r in rows]

    def vacuum(self) -> None:
        """Rewrite the file so deleted plate text does not linger in free pages or the WAL.
        Another process holding a read transaction can make it fail: then the next purge
        tries again (secure_delete has already overwritten the deleted rows)."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._db.execute("VACUUM")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError as exc:
                log.warning("could not compact %s now (%s); will retry", self.path, exc)
