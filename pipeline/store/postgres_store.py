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
from psycopg.rows import dict_row, tuple_row

from pipeline.store.accounts_csv import Account
from pipeline.store.dedup import SAME_VISIT, same_visit_args, window_bounds
from pipeline.store.protocol import DuplicateError, Send
from pipeline.store.sql_common import (
    READ_COLUMNS,
    AuditEntry,
    OutboxItem,
    PurgeReport,
    ReadRecord,
    VisitFact,
)

log = logging.getLogger(__name__)

_NOW = """(to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))"""

# The same numbering as sqlite_store.MIGRATIONS (a test checks both have the same count):
# each one translated to PostgreSQL types. Times stay ISO text, as in SQLite, so the same
# comparisons work on both.
MIGRATIONS: tuple[str, ...] = (
    # 1: accounts, plates, reads, outbox
    f"""
    CREATE SEQUENCE plates_rev;
    CREATE TABLE accounts (
        customer_number TEXT PRIMARY KEY,
        display_name    TEXT NOT NULL,
        visit_reason    TEXT NOT NULL DEFAULT '',
        created_at      TEXT NOT NULL DEFAULT {_NOW}
    );
    CREATE TABLE plates (
        compact         TEXT PRIMARY KEY,
        display         TEXT NOT NULL,
        customer_number TEXT NOT NULL REFERENCES accounts(customer_number) ON DELETE CASCADE,
        rev             BIGINT NOT NULL DEFAULT nextval('plates_rev')
    );
    CREATE INDEX plates_by_customer ON plates(customer_number);
    CREATE TABLE reads (
        read_id         TEXT PRIMARY KEY,
        seen_at         TEXT NOT NULL,
        camera_id       TEXT NOT NULL,
        plate_display   TEXT,
        plate_compact   TEXT,
        confidence      DOUBLE PRECISION NOT NULL,
        status          TEXT NOT NULL,
        customer_number TEXT,
        event_id        TEXT
    );
    CREATE INDEX reads_by_time ON reads(seen_at);
    CREATE TABLE outbox (
        seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id   TEXT NOT NULL UNIQUE,
        topic      TEXT NOT NULL,
        payload    TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT {_NOW},
        attempts   INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 2: keyed pseudonym of the plate
    """
    ALTER TABLE reads ADD COLUMN plate_hmac TEXT;
    CREATE INDEX reads_by_customer ON reads(customer_number);
    """,
    # 3: operator corrections and their audit log
    """
    ALTER TABLE reads ADD COLUMN corrected_at TEXT;
    CREATE TABLE audit (
        id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    # 4: positions of the plate the reads disagreed on
    """
    ALTER TABLE reads ADD COLUMN uncertain TEXT;
    """,
    # 5: where a run over a file or folder got to
    """
    CREATE TABLE checkpoints (
        source     TEXT PRIMARY KEY,
        next_frame INTEGER NOT NULL,
        done       INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 6: anonymous queue facts for the statistics (no plate, read id or customer number)
    """
    CREATE TABLE visit_facts (
        id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind      TEXT NOT NULL,
        at        TEXT NOT NULL,
        status    TEXT,
        wait_s    DOUBLE PRECISION,
        service_s DOUBLE PRECISION
    );
    CREATE INDEX visit_facts_by_time ON visit_facts(at);
    """,
    # 7: which registered plate a matched read was checked in to (keyed pseudonym)
    """
    ALTER TABLE reads ADD COLUMN matched_plate_hmac TEXT;
    """,
)

_MIGRATION_LOCK = 0x6B630001  # advisory lock key: one migrating process at a time
_READS = ",".join(READ_COLUMNS)
_OUTBOX_CLAIM = ("SELECT seq, event_id, topic, payload FROM outbox ORDER BY seq "
                 "FOR UPDATE SKIP LOCKED LIMIT 1")


def redact(url: str) -> str:
    """The URL without its password, for logs and messages."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    host = info.get("host", "")
    port = f":{info['port']}" if info.get("port") else ""
    user = f"{info['user']}@" if info.get("user") else ""
    return f"postgresql://{user}{host}{port}/{info.get('dbname', '')}"


class PostgresStore:
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

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        with self._lock:
            return self._live().execute(sql, params).fetchone()

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return self._live().execute(sql, params).fetchall()

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
        row = self._one("SELECT version FROM schema_version")
        return int(row["version"]) if row else 0

    # -- accounts -------------------------------------------------------------------------

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
                "SELECT i.compact, i.customer_number AS new, p.customer_number AS old "
                "FROM import_plates i JOIN plates p USING (compact) "
                "WHERE p.customer_number <> i.customer_number ORDER BY i.n LIMIT 20").fetchall()
            if conflicts:
                raise ValueError("nothing imported: " + "; ".join(
                    f"plate {c['compact']} of customer {c['new']} is already registered to "
                    f"customer {c['old']}" for c in conflicts))
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

    def remove_account(self, customer_number: str) -> bool:
        with self._tx() as db:
            cur = db.execute("DELETE FROM accounts WHERE customer_number=%s", (customer_number,))
            return cur.rowcount > 0

    def account(self, customer_number: str) -> Account | None:
        row = self._one("SELECT * FROM accounts WHERE customer_number=%s", (customer_number,))
        return self._account(row) if row else None

    def account_for_plate(self, compact: str) -> Account | None:
        row = self._one("SELECT a.* FROM accounts a JOIN plates p USING(customer_number) "
                        "WHERE p.compact=%s", (compact,))
        return self._account(row) if row else None

    def plate_index(self) -> list[tuple[str, str]]:
        """Every registered plate with its customer: (compact, customer_number)."""
        with self._lock, self._live().cursor(row_factory=tuple_row) as cur:
            return cur.execute("SELECT compact, customer_number FROM plates").fetchall()

    def plates_fingerprint(self) -> tuple[int, int]:
        """Changes whenever plates are added, removed or re-assigned (every write takes a
        new ``rev`` from a sequence): cheap to poll."""
        row = self._one("SELECT COUNT(*) AS n, COALESCE(SUM(rev), 0) AS s FROM plates")
        assert row is not None
        return int(row["n"]), int(row["s"])

    def accounts(self) -> list[Account]:
        with self._lock:
            rows = self._all("SELECT * FROM accounts ORDER BY customer_number")
            plates: dict[str, list[dict[str, Any]]] = {}
            for p in self._all("SELECT compact, display, customer_number FROM plates "
                               "ORDER BY display"):
                plates.setdefault(p["customer_number"], []).append(p)
        return [self._make_account(r, plates.get(r["customer_number"], [])) for r in rows]

    def _account(self, row: dict[str, Any]) -> Account:
        plates = self._all("SELECT compact, display FROM plates WHERE customer_number=%s "
                           "ORDER BY display", (row["customer_number"],))
        return self._make_account(row, plates)

    @staticmethod
    def _make_account(row: dict[str, Any], plates: list[dict[str, Any]]) -> Account:
        return Account(row["customer_number"], row["display_name"],
                       tuple(p["compact"] for p in plates), row["visit_reason"],
                       tuple(p["display"] for p in plates))

    # -- reads and outbox -----------------------------------------------------------------

    def record_passage(self, read: ReadRecord, outbox: OutboxItem | None,
                       dedup_s: float = 0.0) -> bool:
        """Store a passage and (if any) its event in one transaction: both or neither.
        ``dedup_s`` > 0 and a matched read: nothing is stored (False) when another camera has
        recorded an arrival of the same customer's same car within ``dedup_s`` of it. (Its own
        camera's repeats are the tracker's business.) Raises ``DuplicateError`` when the read or
        event id is already stored."""
        try:
            with self._tx() as db:
                if dedup_s > 0 and read.customer_number and read.status == "matched":
                    db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                               (read.customer_number,))
                    lo, hi = window_bounds(read.seen_at, dedup_s)
                    if db.execute(f"SELECT 1 FROM reads WHERE {SAME_VISIT} LIMIT 1",
                                  same_visit_args(read, lo, hi)).fetchone():
                        return False
                db.execute(f"INSERT INTO reads({_READS}) "
                           f"VALUES ({','.join(['%s'] * len(READ_COLUMNS))})",
                           tuple(getattr(read, c) for c in READ_COLUMNS))
                if outbox is not None:
                    db.execute("INSERT INTO outbox(event_id, topic, payload) VALUES (%s,%s,%s)",
                               (outbox.event_id, outbox.topic, outbox.payload))
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateError(str(exc)) from exc
        return True

    def checkpoint(self, source: str) -> tuple[int, bool]:
        """(next frame to read, finished) for a file or folder source."""
        row = self._one("SELECT next_frame, done FROM checkpoints WHERE source=%s", (source,))
        return (int(row["next_frame"]), bool(row["done"])) if row else (0, False)

    def save_checkpoint(self, source: str, next_frame: int, done: bool = False) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO checkpoints(source, next_frame, done) VALUES (%s,%s,%s) "
                       "ON CONFLICT(source) DO UPDATE SET next_frame=excluded.next_frame, "
                       "done=excluded.done", (source, next_frame, int(done)))

    def reads(self, limit: int = 100) -> list[ReadRecord]:
        return [ReadRecord(**r) for r in self._all(
            f"SELECT {_READS} FROM reads ORDER BY seen_at DESC LIMIT %s", (limit,))]

    def read(self, read_id: str) -> ReadRecord | None:
        row = self._one(f"SELECT {_READS} FROM reads WHERE read_id=%s", (read_id,))
        return ReadRecord(**row) if row else None

    def list_reads(self, since: str = "", status: str | None = None,
                   limit: int = 500) -> list[ReadRecord]:
        """Reads seen at or after ``since`` (ISO UTC), newest first, optionally one status."""
        sql = f"SELECT {_READS} FROM reads WHERE seen_at >= %s"
        params: list[object] = [since]
        if status:
            sql += " AND status = %s"
            params.append(status)
        rows = self._all(sql + " ORDER BY seen_at DESC LIMIT %s", (*params, limit))
        return [ReadRecord(**r) for r in rows]

    def reads_fingerprint(self) -> tuple[int, str, str]:
        """Changes whenever a read is added, corrected or purged (cheap to poll)."""
        row = self._one("SELECT COUNT(*) AS n, COALESCE(MAX(seen_at), '') AS s, "
                        "COALESCE(MAX(corrected_at), '') AS c FROM reads")
        assert row is not None
        return int(row["n"]), str(row["s"]), str(row["c"])

    def apply_correction(self, read_id: str, *, expect_corrected_at: str | None,
                         status: str, plate_display: str | None, plate_compact: str | None,
                         customer_number: str | None, event_id: str, audit: AuditEntry,
                         outbox: OutboxItem, reopen: bool = False) -> bool:
        """An operator's change of a read, its audit entry and its event, in one transaction.
        False (nothing written) when someone else changed the read meanwhile."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE reads SET status=%s, plate_display=%s, plate_compact=%s, "
                "customer_number=%s, event_id=%s, corrected_at=%s, uncertain=NULL "
                "WHERE read_id=%s AND corrected_at IS NOT DISTINCT FROM %s",
                (status, plate_display, plate_compact, customer_number, event_id,
                 None if reopen else audit.at, read_id, expect_corrected_at))
            if cur.rowcount != 1:
                return False
            db.execute("INSERT INTO audit(at, operator, action, read_id, before, after, "
                       "event_id) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                       (audit.at, audit.operator, audit.action, audit.read_id, audit.before,
                        audit.after, audit.event_id))
            db.execute("INSERT INTO outbox(event_id, topic, payload) VALUES (%s,%s,%s)",
                       (outbox.event_id, outbox.topic, outbox.payload))
        return True

    def audit_log(self, read_id: str | None = None) -> list[AuditEntry]:
        sql = "SELECT at, operator, action, read_id, before, after, event_id FROM audit"
        rows = self._all(sql + (" WHERE read_id=%s ORDER BY id" if read_id else " ORDER BY id"),
                         (read_id,) if read_id else ())
        return [AuditEntry(**r) for r in rows]

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        """Unacknowledged events, oldest first (including those another worker is sending)."""
        rows = self._all("SELECT seq, event_id, topic, payload FROM outbox ORDER BY seq "
                         "LIMIT %s", (limit,))
        return [OutboxItem(r["seq"], r["event_id"], r["topic"], r["payload"]) for r in rows]

    def acknowledge(self, event_id: str) -> None:
        """The broker has the event: drop it from the outbox."""
        with self._tx() as db:
            db.execute("DELETE FROM outbox WHERE event_id=%s", (event_id,))

    def outbox_depth(self) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM outbox")
        return int(row["n"]) if row else 0

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
                        db.execute("UPDATE outbox SET attempts=attempts+1 "
                                              "WHERE seq=%s", (item.seq,))
                        return sent
                    db.execute("DELETE FROM outbox WHERE seq=%s", (item.seq,))
                sent += 1
        return sent

    # -- privacy: retention, data subject requests, end of campaign -----------------------

    def purge(self, unregistered_before: str, matched_plates_before: str,
              dry_run: bool = False) -> PurgeReport:
        """As ``SqliteStore.purge``: delete reads of unregistered cars before
        ``unregistered_before`` and dismissed ones; strip the plate text from matched reads
        before ``matched_plates_before``. Undelivered events stay."""
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
            assert gone is not None and stripped is not None
            report = PurgeReport(int(gone["n"]), int(stripped["n"]))
            if dry_run:
                return report
            for where, params in (gone_where, stripped_where):
                db.execute("UPDATE audit SET before=NULL, after=NULL WHERE read_id IN "
                           f"(SELECT read_id FROM reads WHERE {where})", params)
            db.execute(f"DELETE FROM reads WHERE {gone_where[0]}", gone_where[1])
            db.execute("UPDATE reads SET plate_display=NULL, plate_compact=NULL, "
                       f"uncertain=NULL WHERE {stripped_where[0]}", stripped_where[1])
        if report.unregistered_reads_deleted or report.matched_plates_removed:
            self.vacuum()
        return report

    def export_customer(self, customer_number: str) -> dict[str, object] | None:
        """Everything stored about one customer (GDPR Art. 15), or None if unknown."""
        account = self.account(customer_number)
        reads = self._all(f"SELECT {_READS} FROM reads WHERE customer_number=%s "
                          "ORDER BY seen_at", (customer_number,))
        pending = self._all(
            "SELECT o.event_id, o.topic, o.payload, o.created_at FROM outbox o "
            "JOIN reads r ON r.event_id = o.event_id WHERE r.customer_number=%s",
            (customer_number,))
        if account is None and not reads:
            return None
        return {
            "customer_number": customer_number,
            "account": None if account is None else {
                "display_name": account.display_name, "visit_reason": account.visit_reason,
                "plates": list(account.plate_displays)},
            "reads": reads,
            "events_not_yet_delivered": pending,
        }

    def forget_customer(self, customer_number: str) -> dict[str, int]:
        """Erase a customer (GDPR Art. 17): account, plates, reads, and events not yet sent."""
        with self._tx() as db:
            outbox = db.execute(
                "DELETE FROM outbox WHERE event_id IN (SELECT event_id FROM reads "
                "WHERE customer_number=%s)", (customer_number,)).rowcount
            db.execute("UPDATE audit SET before=NULL, after=NULL WHERE read_id IN (SELECT "
                       "read_id FROM reads WHERE customer_number=%s)", (customer_number,))
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
                       "VALUES (%s,%s,%s,%s,%s)", (kind, at, status, wait_s, service_s))

    def visit_facts(self, since: str, until: str) -> list[VisitFact]:
        """Facts with ``since <= at < until`` (ISO UTC), oldest first."""
        rows = self._all("SELECT kind, at, status, wait_s, service_s FROM visit_facts "
                         "WHERE at >= %s AND at < %s ORDER BY at, id", (since, until))
        return [VisitFact(**r) for r in rows]

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
