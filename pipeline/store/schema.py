"""The database schema, written once: numbered migrations with the few type differences
between SQLite and PostgreSQL filled in per engine.

A store records how many migrations it has run (SQLite: ``PRAGMA user_version``; PostgreSQL:
the ``schema_version`` table) and runs the rest on open, so the numbering never changes:
a new column is a new migration at the end. Times are ISO text on both engines, so the same
comparisons work on either.
"""

from __future__ import annotations

from typing import Literal

Engine = Literal["sqlite", "postgresql"]

_TYPES: dict[str, dict[str, str]] = {
    "sqlite": {
        "now": "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        "serial": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "real": "REAL",
        "blob": "BLOB",
        "plates_rev_sequence": "",
        "plates_rev_column": "",
    },
    "postgresql": {
        "now": """(to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))""",
        "serial": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "real": "DOUBLE PRECISION",
        "blob": "BYTEA",
        # a revision per plate row, so the matchers on several PCs see a changed plate list
        # (``plates_fingerprint``); SQLite has one writer and counts rows instead
        "plates_rev_sequence": "CREATE SEQUENCE plates_rev;",
        "plates_rev_column": ", rev BIGINT NOT NULL DEFAULT nextval('plates_rev')",
    },
}

_TEMPLATES: tuple[str, ...] = (
    # 1: accounts, plates, reads, outbox
    """
    {plates_rev_sequence}
    CREATE TABLE accounts (
        customer_number TEXT PRIMARY KEY,
        display_name    TEXT NOT NULL,
        visit_reason    TEXT NOT NULL DEFAULT '',
        created_at      TEXT NOT NULL DEFAULT {now}
    );
    CREATE TABLE plates (
        compact         TEXT PRIMARY KEY,
        display         TEXT NOT NULL,
        customer_number TEXT NOT NULL REFERENCES accounts(customer_number) ON DELETE CASCADE
        {plates_rev_column}
    );
    CREATE INDEX plates_by_customer ON plates(customer_number);
    CREATE TABLE reads (
        read_id         TEXT PRIMARY KEY,
        seen_at         TEXT NOT NULL,
        camera_id       TEXT NOT NULL,
        plate_display   TEXT,
        plate_compact   TEXT,
        confidence      {real} NOT NULL,
        status          TEXT NOT NULL,
        customer_number TEXT,
        event_id        TEXT
    );
    CREATE INDEX reads_by_time ON reads(seen_at);
    CREATE TABLE outbox (
        seq        {serial},
        event_id   TEXT NOT NULL UNIQUE,
        topic      TEXT NOT NULL,
        payload    TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT {now},
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
        id        {serial},
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
        id        {serial},
        kind      TEXT NOT NULL,
        at        TEXT NOT NULL,
        status    TEXT,
        wait_s    {real},
        service_s {real}
    );
    CREATE INDEX visit_facts_by_time ON visit_facts(at);
    """,
    # 7: which registered plate a matched read was checked in to (keyed pseudonym), so that
    # cross-camera dedup tells a customer's two cars apart
    """
    ALTER TABLE reads ADD COLUMN matched_plate_hmac TEXT;
    """,
    # 8: the plate crops a decision needs (needs_review reads; unregistered ones when
    # configured), JPEG, until the read is corrected or purged; no plate text anywhere
    """
    CREATE TABLE evidence (
        read_id TEXT NOT NULL,
        idx     INTEGER NOT NULL,
        jpeg    {blob} NOT NULL,
        PRIMARY KEY (read_id, idx)
    );
    """,
    # 9: the customers a car for review most likely is, ranked by the matcher's scores, for
    # the operator's candidate list; cleared when the read is decided
    """
    ALTER TABLE reads ADD COLUMN candidates TEXT;
    """,
    # 10: how many reads of each status a day had, counted as the purge deletes them (no
    # plate, read id or customer number), so the share of unregistered cars outlives them:
    # the matcher's prior is taken from the drive-in's own history
    """
    CREATE TABLE purged_counts (
        day    TEXT NOT NULL,
        status TEXT NOT NULL,
        n      INTEGER NOT NULL,
        PRIMARY KEY (day, status)
    );
    """,
)


def migrations(engine: Engine) -> tuple[str, ...]:
    """The migrations in order, as ``engine`` runs them (several statements each)."""
    return tuple(m.format(**_TYPES[engine]) for m in _TEMPLATES)
