"""The store on PostgreSQL (psycopg 3): the same tables, migrations and semantics as
``SqliteStore``, shared by several pipeline processes (one per camera), sites and consoles.

Differences that matter:

- Outbox rows are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` in a transaction that
  lasts until the broker's PUBACK (``deliver``): two publishers never send the same event,
  and when one dies its connection drops, the lock goes with it and another takes over.
- Migrations are serialised with an advisory lock, so processes starting together are safe.
- Cross-camera dedup (``record_passage(..., dedup_s=…)``) takes an advisory lock per customer
  so two cameras seeing the same car at once cannot both announce it.
- Plate text removed by a purge is gone from the tables at once and from the table files at
  ``VACUUM FULL`` (run after each purge); PostgreSQL has no ``secure_delete``, so the WAL
  keeps it until it is recycled.

The connection URL may leave the password out: libpq reads ``PGPASSWORD`` or ``~/.pgpass``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pipeline.domain import Account, AuditEntry, OutboxItem, ReadRecord
from pipeline.store.protocol import DuplicateError, PlateConflictError, Send
from pipeline.store.schema import migrations
from pipeline.store.sql_common import Sql, SqlStore

log = logging.getLogger(__name__)

MIGRATIONS = migrations("postgresql")

_MIGRATION_LOCK = 0x6B630001  # advisory lock key: one migrating process at a time
_OUTBOX_CLAIM = ("SELECT seq, event_id, topic, payload FROM outbox ORDER BY seq "
                 "FOR UPDATE SKIP LOCKED LIMIT 1")


def redact(url: str) -> str:
    """The URL without its password, for logs and messages."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    host = info.get("host", "")
    port = f":{info['port']}" if info.get("port") else ""
    user = f"{info['user']}@" if info.get("user") else ""
    return f"postgresql://{user}{host}{port}/{info.get('dbname', '')}"


class PostgresStore(SqlStore):
    """Accounts, reads and outbox in a PostgreSQL database; safe to share between threads
    (one lock per connection) and with any number of other processes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = redact(url)  # what messages name as "the database"
        self._lock = threading.RLock()
        self._db = self._connect()
        # the publisher's claim lasts until PUBACK: on its own connection, so it never holds
        # up the camera's writes
        self._outbox_lock = threading.Lock()
        self._outbox_db: psycopg.Connection[dict[str, Any]] | None = None
        self._migrate()

    def _connect(self) -> psycopg.Connection[dict[str, Any]]:
        try:
            return psycopg.connect(self.url, autocommit=True, row_factory=dict_row,
                                   connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise ConnectionError(f"cannot connect to {self.path}: {exc}".strip()) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()
        with self._outbox_lock:
            if self._outbox_db is not None:
                self._outbox_db.close()

    def _live(self) -> psycopg.Connection[dict[str, Any]]:
        """The connection, reopened if the server dropped it (restart, failover): the call
        that found it broken failed, the next one works again."""
        if self._db.closed:
            log.warning("connection to %s was lost; reconnecting", self.path)
            self._db = self._connect()
        return self._db

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        with self._lock:
            db = self._live()
            with db.transaction():
                yield db

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        with self._lock:
            yield self._live()

    def _hold_customer(self, db: Sql, customer_number: str) -> None:
        """A transaction-scoped advisory lock per customer: other processes' dedup checks of
        the same customer wait until this transaction has stored (or not) its read."""
        db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (customer_number,))

    def _migrate(self) -> None:
        with self._tx() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                db.execute("INSERT INTO schema_version VALUES (0)")
            version = row["version"] if row else 0
            if version > len(MIGRATIONS):
                raise RuntimeError(f"{self.path} has schema version {version}, newer than this "
                                   f"program ({len(MIGRATIONS)}): upgrade kennzeichen-checkin")
            for number in range(version, len(MIGRATIONS)):
                db.execute(MIGRATIONS[number])  # several statements: no parameters
                db.execute("UPDATE schema_version SET version=%s", (number + 1,))

    @property
    def schema_version(self) -> int:
        with self._conn() as db:
            row = db.execute("SELECT version FROM schema_version").fetchone()
        return int(row["version"]) if row else 0

    # -- accounts (the rest is SqlStore's) ------------------------------------------------

    def import_accounts(self, accounts: Iterable[Account], replace: bool = False) -> int:
        """Add or update accounts in one transaction (COPY into temporary tables, then one
        upsert each); with ``replace``, the file becomes the whole account list. A plate
        already registered to another customer aborts it all."""
        accounts = list(accounts)
        with self._tx() as db:
            db.execute("CREATE TEMP TABLE import_accounts (n BIGINT, customer_number TEXT, "
                       "display_name TEXT, visit_reason TEXT) ON COMMIT DROP")
            db.execute("CREATE TEMP TABLE import_plates (n BIGINT, compact TEXT, display TEXT, "
                       "customer_number TEXT) ON COMMIT DROP")
            with db.cursor().copy("COPY import_accounts FROM STDIN") as copy:
                for n, acc in enumerate(accounts):
                    copy.write_row((n, acc.customer_number, acc.display_name,
                                    acc.visit_reason))
            with db.cursor().copy("COPY import_plates FROM STDIN") as copy:
                for n, acc in enumerate(accounts):
                    displays = acc.plate_displays or acc.plates
                    for compact, display in zip(acc.plates, displays, strict=True):
                        copy.write_row((n, compact, display, acc.customer_number))
            if replace:
                db.execute("DELETE FROM accounts")
            conflicts = db.execute(
                "SELECT i.display, i.customer_number AS new, p.customer_number AS old "
                "FROM import_plates i JOIN plates p USING (compact) "
                "WHERE p.customer_number <> i.customer_number ORDER BY i.n LIMIT 20").fetchall()
            if conflicts:
                raise PlateConflictError([(c["display"], c["new"], c["old"])
                                          for c in conflicts])
            # the last row for a customer or plate wins, as with SQLite's row-by-row upsert
            db.execute(
                "INSERT INTO accounts(customer_number, display_name, visit_reason) "
                "SELECT DISTINCT ON (customer_number) customer_number, display_name, "
                "visit_reason FROM import_accounts ORDER BY customer_number, n DESC "
                "ON CONFLICT (customer_number) DO UPDATE SET "
                "display_name=excluded.display_name, visit_reason=excluded.visit_reason")
            db.execute(
                "INSERT INTO plates(compact, display, customer_number) "
                "SELECT DISTINCT ON (compact) compact, display, customer_number "
                "FROM import_plates ORDER BY compact, n DESC "
                "ON CONFLICT (compact) DO UPDATE SET display=excluded.display, "
                "customer_number=excluded.customer_number, rev=nextval('plates_rev')")
        return len(accounts)

    def plates_fingerprint(self) -> tuple[int, int]:
        """Changes whenever plates are added, removed or re-assigned (every write takes a
        new ``rev`` from a sequence): cheap to poll."""
        with self._conn() as db:
            row = db.execute("SELECT COUNT(*) AS n, COALESCE(SUM(rev), 0) AS s FROM plates"
                             ).fetchone()
        return int(row["n"]), int(row["s"])

    # -- reads and outbox (the rest is SqlStore's) ----------------------------------------

    def record_passage(self, read: ReadRecord, outbox: OutboxItem | None,
                       dedup_s: float = 0.0, audit: AuditEntry | None = None) -> bool:
        """``SqlStore.record_passage``, raising ``DuplicateError`` (not psycopg's own error)
        when the read or event id is already stored."""
        try:
            return super().record_passage(read, outbox, dedup_s, audit)
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateError(str(exc)) from exc

    def deliver(self, send: Send, limit: int = 50) -> int:
        """Send up to ``limit`` events, oldest first, skipping those another worker holds.
        Each is claimed (row lock) in its own transaction that ends after ``send`` returns:
        True deletes it, False leaves it for later. A worker that dies mid-send releases its
        claim with its connection. Returns how many were sent; fewer than ``limit`` means the
        outbox had no more free events or ``send`` failed."""
        sent = 0
        with self._outbox_lock:
            if self._outbox_db is None or self._outbox_db.closed:
                self._outbox_db = self._connect()
            db = self._outbox_db
            while sent < limit:
                with db.transaction():
                    row = db.execute(_OUTBOX_CLAIM).fetchone()
                    if row is None:
                        return sent
                    item = OutboxItem(row["seq"], row["event_id"], row["topic"], row["payload"])
                    if not send(item):
                        db.execute("UPDATE outbox SET attempts=attempts+1 WHERE seq=%s",
                                   (item.seq,))
                        return sent
                    db.execute("DELETE FROM outbox WHERE seq=%s", (item.seq,))
                sent += 1
        return sent

    # -- privacy (the rest is SqlStore's) -------------------------------------------------

    def vacuum(self) -> None:
        """Rewrite the tables that held plate text, so it does not linger in dead rows.
        ``VACUUM FULL`` needs an exclusive lock: if another process holds the tables for more
        than a few seconds, the next purge tries again."""
        with self._lock:
            db = self._live()
            try:
                db.execute("SET lock_timeout = '5s'")
                db.execute("VACUUM FULL reads, plates, accounts, audit, outbox")
            except psycopg.errors.LockNotAvailable as exc:
                log.warning("could not compact %s now (%s); will retry", self.path, exc)
            finally:
                db.execute("RESET lock_timeout")
