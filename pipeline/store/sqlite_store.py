"""The account store, read log and durable event outbox in one SQLite file (WAL mode).

Schema changes are numbered migrations applied in order at open; the version lives in
``PRAGMA user_version``. Every arrival is written to the outbox in the same transaction as
its read, and leaves the outbox only when the broker has acknowledged it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.store.accounts_csv import Account
from pipeline.store.protocol import PlateConflictError
from pipeline.store.sql_common import (
    READ_COLUMNS,
    AuditEntry,
    OutboxItem,
    PurgeReport,
    ReadRecord,
    Sql,
    SqlStore,
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


class _QmarkSql:
    """The SQLite connection as the shared SQL sees it: ``%s`` placeholders become ``?``
    (no SQL run through it has a literal ``%s``; SQL with ``?`` passes unchanged)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> sqlite3.Cursor:
        return self._db.execute(sql.replace("%s", "?"), params)

    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> sqlite3.Cursor:
        return self._db.executemany(sql.replace("%s", "?"), params)


class SqliteStore(SqlStore):
    """Accounts, reads and outbox in one SQLite file; safe to share between threads and with
    other processes on the same file (WAL, busy timeout)."""

    # SQLite before 3.39 has no ``IS NOT DISTINCT FROM``; ``IS`` means the same
    _NULL_SAFE_EQ = "IS"

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
        self._sql = _QmarkSql(self._db)
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[_QmarkSql]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._sql
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _conn(self) -> Iterator[_QmarkSql]:
        with self._lock:
            yield self._sql

    def _hold_customer(self, db: Sql, customer_number: str) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already keeps every other writer out."""

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

    # -- accounts (the rest is SqlStore's) ------------------------------------------------

    def import_accounts(self, accounts: Iterable[Account], replace: bool = False) -> int:
        """Add or update accounts in one transaction; with ``replace``, the file becomes the
        whole account list. A plate already registered to another customer aborts it all."""
        accounts = list(accounts)
        with self._tx() as db:
            if replace:
                db.execute("DELETE FROM accounts")
            conflicts = []
            for acc in accounts:
                displays = acc.plate_displays or acc.plates
                for compact, display in zip(acc.plates, displays, strict=True):
                    row = db.execute("SELECT customer_number FROM plates WHERE compact=?",
                                     (compact,)).fetchone()
                    if row and row[0] != acc.customer_number:
                        conflicts.append((display, acc.customer_number, row[0]))
            if conflicts:
                raise PlateConflictError(conflicts[:20])
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

    def plates_fingerprint(self) -> tuple[int, int]:
        """Changes whenever plates are added, removed or re-assigned (every write is an
        INSERT OR REPLACE, which gives the row a new rowid): cheap to poll."""
        with self._lock:
            row = self._db.execute("SELECT COUNT(*), TOTAL(rowid) FROM plates").fetchone()
            return int(row[0]), int(row[1])

    # -- outbox delivery (the rest is SqlStore's) -----------------------------------------

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

    # -- privacy (the rest is SqlStore's) -------------------------------------------------

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
