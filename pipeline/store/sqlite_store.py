"""The account store, read log and durable event outbox in one SQLite file (WAL mode).

Schema changes are numbered migrations applied in order at open; the version lives in
``PRAGMA user_version``. Every arrival is written to the outbox in the same transaction as
its read, and leaves the outbox only when the broker has acknowledged it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.store.accounts_csv import Account

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
)


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


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    event_id: str
    topic: str
    payload: str


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

    def record_passage(self, read: ReadRecord, outbox: OutboxItem | None) -> None:
        """Store a passage and (if any) its event in one transaction: both or neither."""
        with self._tx() as db:
            db.execute("INSERT INTO reads VALUES (?,?,?,?,?,?,?,?,?)",
                       (read.read_id, read.seen_at, read.camera_id, read.plate_display,
                        read.plate_compact, read.confidence, read.status, read.customer_number,
                        read.event_id))
            if outbox is not None:
                db.execute("INSERT INTO outbox(event_id, topic, payload) VALUES (?,?,?)",
                           (outbox.event_id, outbox.topic, outbox.payload))

    def reads(self, limit: int = 100) -> list[ReadRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM reads ORDER BY seen_at DESC LIMIT ?",
                                    (limit,)).fetchall()
            return [ReadRecord(**dict(r)) for r in rows]

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        """Unacknowledged events, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, topic, payload FROM outbox ORDER BY seq LIMIT ?",
                (limit,)).fetchall()
            return [OutboxItem(r["seq"], r["event_id"], r["topic"], r["payload"]) for r in rows]

    def mark_attempt(self, event_id: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE outbox SET attempts=attempts+1 WHERE event_id=?", (event_id,))

    def acknowledge(self, event_id: str) -> None:
        """The broker has the event: drop it from the outbox."""
        with self._tx() as db:
            db.execute("DELETE FROM outbox WHERE event_id=?", (event_id,))

    def outbox_depth(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
