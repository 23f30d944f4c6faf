"""SQLite store: migrations, the passage+outbox transaction, acknowledgement."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.store.sqlite_store import MIGRATIONS, OutboxItem, ReadRecord, SqliteStore


def record(read_id: str) -> ReadRecord:
    return ReadRecord(read_id, "2026-11-25T07:00:00.000Z", "entrance", None, None, 0.9,
                      "unregistered", None, f"ev-{read_id}")


def test_new_file_gets_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    assert store.schema_version == len(MIGRATIONS)
    store.close()
    db = sqlite3.connect(tmp_path / "s.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"accounts", "plates", "reads", "outbox"} <= tables


def test_outbox_keeps_order_and_survives_reopen_until_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path)
    for i in range(3):
        store.record_passage(record(str(i)), OutboxItem(0, f"ev-{i}", "t/arrival", f"{{{i}}}"))
    store.close()
    store = SqliteStore(path)  # a restart
    assert [i.event_id for i in store.pending()] == ["ev-0", "ev-1", "ev-2"]
    store.acknowledge("ev-0")
    assert store.outbox_depth() == 2
    assert [r.read_id for r in store.reads()] != []
    store.close()


def test_read_and_event_are_written_together_or_not_at_all(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    store.record_passage(record("a"), OutboxItem(0, "dup", "t", "{}"))
    with pytest.raises(sqlite3.IntegrityError):  # event id clash
        store.record_passage(record("b"), OutboxItem(0, "dup", "t", "{}"))
    assert [r.read_id for r in store.reads()] == ["a"]
    assert store.outbox_depth() == 1
    store.close()
