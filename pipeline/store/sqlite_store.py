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

from pipeline.domain import Account, AuditEntry, OutboxItem, ReadRecord
from pipeline.store.protocol import DuplicateError, PlateConflictError
from pipeline.store.schema import migrations
from pipeline.store.sql_common import Sql, SqlStore

log = logging.getLogger(__name__)

MIGRATIONS = migrations("sqlite")



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

    def record_passage(self, read: ReadRecord, outbox: OutboxItem | None,
                       dedup_s: float = 0.0, audit: AuditEntry | None = None) -> bool:
        """``SqlStore.record_passage``, raising ``DuplicateError`` (not sqlite3's own error)
        when the read or event id is already stored."""
        try:
            return super().record_passage(read, outbox, dedup_s, audit)
        except sqlite3.IntegrityError as exc:
            if getattr(exc, "sqlite_errorname", "") in ("SQLITE_CONSTRAINT_UNIQUE",
                                                        "SQLITE_CONSTRAINT_PRIMARYKEY"):
                raise DuplicateError(str(exc)) from exc
            raise

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
