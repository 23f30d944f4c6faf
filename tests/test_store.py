"""The store on both engines (SQLite file, real PostgreSQL): migrations, the passage+outbox
transaction, acknowledgement, claims by concurrent workers, cross-camera dedup, accounts,
corrections and the privacy operations."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pipeline.domain import Account, AuditEntry, OutboxItem, ReadRecord
from pipeline.store import postgres_store
from pipeline.store.open import open_store
from pipeline.store.protocol import DuplicateError, Store
from pipeline.store.sqlite_store import MIGRATIONS, SqliteStore


def record(read_id: str, *, seen_at: str = "2026-11-25T07:00:00.000Z", camera: str = "entrance",
           customer: str | None = None) -> ReadRecord:
    return ReadRecord(read_id, seen_at, camera, None, None, 0.9,
                      "matched" if customer else "unregistered", customer, f"ev-{read_id}")


def queue(store: Store, count: int, prefix: str = "") -> list[str]:
    for i in range(count):
        store.record_passage(record(f"{prefix}{i}"),
                             OutboxItem(0, f"ev-{prefix}{i}", "t/arrival", f"{{{i}}}"))
    return [f"ev-{prefix}{i}" for i in range(count)]


ANNA = Account("10001", "Anna Schmidt", ("OFAB123", "OFE2345E"), "Jahresabrechnung",
               ("OF-AB 123", "OF-E 2345E"))
JENS = Account("10002", "Jens Becker", ("FX1",), "Tarifberatung", ("F-X 1",))


def test_new_file_gets_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    assert store.schema_version == len(MIGRATIONS)
    store.close()
    db = sqlite3.connect(tmp_path / "s.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"accounts", "plates", "reads", "outbox"} <= tables


def test_both_engines_run_the_one_schema() -> None:
    """The migrations are written once; the engines differ only in the filled-in types."""
    assert len(postgres_store.MIGRATIONS) == len(MIGRATIONS)
    for lite, pg in zip(MIGRATIONS, postgres_store.MIGRATIONS, strict=True):
        assert "{" not in lite and "{" not in pg  # every slot filled
        names = [re.findall(r"(?:TABLE|COLUMN|INDEX)\s+(\w+)", m) for m in (lite, pg)]
        assert names[0] == names[1]


def test_both_engines_make_the_same_tables_and_columns(database: str) -> None:
    store = open_store(database)
    store.close()
    if database.startswith("postgresql"):
        import psycopg

        with psycopg.connect(database) as db:
            rows = db.execute("SELECT table_name, column_name FROM information_schema.columns "
                              "WHERE table_schema = 'public'").fetchall()
        columns = {(t, c) for t, c in rows if t != "schema_version" and c != "rev"}
    else:
        db = sqlite3.connect(database.removeprefix("sqlite:///"))
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        columns = {(t, r[1]) for t in tables for r in db.execute(f"PRAGMA table_info({t})")}
        db.close()
    assert ("reads", "matched_plate_hmac") in columns and ("visit_facts", "wait_s") in columns
    assert len({t for t, _ in columns}) == 9 and len(columns) == 50


def test_new_database_gets_the_latest_schema_and_reopening_keeps_it(database: str) -> None:
    store = open_store(database)
    assert isinstance(store, Store)  # every method of the protocol is there
    assert store.schema_version == len(MIGRATIONS)
    store.close()
    store = open_store(database)
    assert store.schema_version == len(MIGRATIONS)
    store.close()


def test_outbox_keeps_order_and_survives_reopen_until_acknowledged(database: str) -> None:
    store = open_store(database)
    queue(store, 3)
    store.close()
    store = open_store(database)  # a restart
    assert [i.event_id for i in store.pending()] == ["ev-0", "ev-1", "ev-2"]
    store.acknowledge("ev-0")
    assert store.outbox_depth() == 2
    assert [r.read_id for r in store.reads()] != []
    store.close()


def test_read_and_event_are_written_together_or_not_at_all(database: str) -> None:
    store = open_store(database)
    store.record_passage(record("a"), OutboxItem(0, "dup", "t", "{}"))
    with pytest.raises(DuplicateError):  # event id clash, on either engine
        store.record_passage(record("b"), OutboxItem(0, "dup", "t", "{}"))
    assert [r.read_id for r in store.reads()] == ["a"]
    assert store.outbox_depth() == 1
    store.close()


def test_an_arrival_by_hand_is_stored_with_its_audit_entry_or_not_at_all(
        database: str) -> None:
    store = open_store(database)
    entry = AuditEntry("2026-11-25T07:00:00.000Z", "erika", "arrive", "h1", None, "{}", "ev-h1")
    assert store.record_passage(record("h1"), OutboxItem(0, "ev-h1", "t", "{}"), audit=entry)
    clash = AuditEntry(entry.at, "erika", "arrive", "h2", None, "{}", "ev-h1")
    with pytest.raises(DuplicateError):  # the event id is taken: no read, no audit entry
        store.record_passage(record("h2"), OutboxItem(0, "ev-h1", "t", "{}"), audit=clash)
    assert [(a.read_id, a.action) for a in store.audit_log()] == [("h1", "arrive")]
    assert [r.read_id for r in store.reads()] == ["h1"]
    store.close()


def test_deliver_drops_what_was_sent_and_keeps_what_failed(database: str) -> None:
    store = open_store(database)
    ids = queue(store, 5)
    sent: list[str] = []

    def send(item: OutboxItem) -> bool:
        if len(sent) == 3:
            return False  # no PUBACK for the fourth
        sent.append(item.event_id)
        return True

    assert store.deliver(send, 50) == 3
    assert sent == ids[:3] and [i.event_id for i in store.pending()] == ids[3:]
    assert store.deliver(lambda _i: True, 50) == 2 and store.outbox_depth() == 0
    store.close()


def test_concurrent_workers_never_send_one_event_twice(database: str) -> None:
    """Four workers, each its own store (connection / file handle), drain one outbox."""
    seed = open_store(database)
    ids = queue(seed, 200)
    workers = [open_store(database) for _ in range(4)]
    sent: list[str] = []
    lock = threading.Lock()

    def send(item: OutboxItem) -> bool:
        time.sleep(0.001)  # a PUBACK's round trip
        with lock:
            sent.append(item.event_id)
        return True

    def drain(store: Store) -> None:
        deadline = time.monotonic() + 60
        while store.outbox_depth() and time.monotonic() < deadline:
            store.deliver(send, 10)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(sent) == sorted(ids), "an event was sent twice or not at all"
    for store in (seed, *workers):
        store.close()


def test_a_worker_killed_while_it_holds_a_claim_loses_nothing(postgres_url: str) -> None:
    """PostgreSQL: a worker SIGKILLed between publish and PUBACK; its claim dies with its
    connection and the next worker sends the event."""
    store = open_store(postgres_url)
    ids = queue(store, 3)
    claimer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pipeline.store.open import open_store
        store = open_store({postgres_url!r})
        def send(item):
            print(item.event_id, flush=True)
            time.sleep(600)  # waits for a PUBACK that never comes
        store.deliver(send, 1)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert claimer.stdout is not None
        held = claimer.stdout.readline().strip()
        assert held == ids[0]
        others: list[str] = []
        store.deliver(lambda i: others.append(i.event_id) or True, 50)
        assert others == ids[1:]  # skipped the claimed one, did not wait for it
        claimer.kill()
        claimer.wait()
        deadline = time.monotonic() + 10
        while store.outbox_depth() and time.monotonic() < deadline:
            store.deliver(lambda i: others.append(i.event_id) or True, 50)
            time.sleep(0.05)
        assert sorted(others) == sorted(ids)
    finally:
        if claimer.poll() is None:
            claimer.kill()
        store.close()


def test_a_dropped_connection_fails_one_call_and_the_next_reconnects(
        postgres_url: str) -> None:
    import psycopg

    store = open_store(postgres_url)
    queue(store, 2)
    store.deliver(lambda _i: True, 1)  # opens the publisher's own connection too
    with psycopg.connect(postgres_url, autocommit=True) as admin:  # a server-side drop
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE pid <> pg_backend_pid() AND datname = current_database()")
    with pytest.raises(psycopg.OperationalError):
        store.outbox_depth()
    assert store.outbox_depth() == 1
    with pytest.raises(psycopg.OperationalError):
        store.deliver(lambda _i: True, 5)
    assert store.deliver(lambda _i: True, 5) == 1
    store.close()


def test_a_customers_second_car_at_another_camera_is_a_new_arrival(database: str) -> None:
    from dataclasses import replace

    store = open_store(database)
    store.import_accounts([ANNA])
    car1 = replace(record("a", camera="lane1", customer="10001"), matched_plate_hmac="p1")
    assert store.record_passage(car1, None, dedup_s=60)
    same_car = replace(record("b", seen_at="2026-11-25T07:00:30.000Z", camera="lane2",
                              customer="10001"), matched_plate_hmac="p1")
    assert not store.record_passage(same_car, None, dedup_s=60)
    car2 = replace(record("c", seen_at="2026-11-25T07:00:30.000Z", camera="lane2",
                          customer="10001"), matched_plate_hmac="p2")
    assert store.record_passage(car2, None, dedup_s=60)
    assert store.read("c").matched_plate_hmac == "p2"  # type: ignore[union-attr]
    store.close()


def test_one_car_seen_by_two_cameras_within_the_window_is_one_arrival(database: str) -> None:
    store = open_store(database)
    store.import_accounts([ANNA])
    first = record("a", seen_at="2026-11-25T07:00:00.000Z", camera="lane1", customer="10001")
    assert store.record_passage(first, OutboxItem(0, "ev-a", "t", "{}"), dedup_s=60)
    again = record("b", seen_at="2026-11-25T07:00:40.000Z", camera="lane2", customer="10001")
    assert not store.record_passage(again, OutboxItem(0, "ev-b", "t", "{}"), dedup_s=60)
    earlier = record("c", seen_at="2026-11-25T06:59:30.000Z", camera="lane2", customer="10001")
    assert not store.record_passage(earlier, OutboxItem(0, "ev-c", "t", "{}"), dedup_s=60)
    later = record("d", seen_at="2026-11-25T07:02:00.000Z", camera="lane2", customer="10001")
    assert store.record_passage(later, OutboxItem(0, "ev-d", "t", "{}"), dedup_s=60)
    other = record("e", seen_at="2026-11-25T07:00:10.000Z", camera="lane2", customer="10002")
    assert store.record_passage(other, None, dedup_s=60)  # another customer
    assert not store.record_passage(again, None, dedup_s=60)
    assert store.record_passage(record("f", seen_at="2026-11-25T07:00:40.000Z",
                                       camera="lane1", customer="10001"), None,
                                dedup_s=0)  # dedup off
    # the same camera's repeats are the tracker's call (a customer's second car is no repeat)
    assert store.record_passage(record("g", seen_at="2026-11-25T07:00:20.000Z",
                                       camera="lane1", customer="10001"), None, dedup_s=60)
    assert sorted(r.read_id for r in store.reads()) == ["a", "d", "e", "f", "g"]
    assert store.outbox_depth() == 2
    store.close()


def test_accounts_import_update_replace_and_conflicts(database: str) -> None:
    store = open_store(database)
    assert store.import_accounts([ANNA, JENS]) == 2
    assert store.account_for_plate("FX1") == JENS
    assert store.account("10001") == ANNA
    assert sorted(store.plate_index()) == [("FX1", "10002"), ("OFAB123", "10001"),
                                           ("OFE2345E", "10001")]
    fingerprint = store.plates_fingerprint()
    moved = Account("10003", "Eva Klein", ("FX1",), "", ("F-X 1",))
    with pytest.raises(ValueError, match="already registered to customer 10002"):
        store.import_accounts([moved])
    assert store.plates_fingerprint() == fingerprint and store.account("10003") is None
    store.import_accounts([Account("10002", "Jens B.", ("FX1", "FX2"), "", ("F-X 1", "F-X 2"))])
    assert store.account("10002") == Account("10002", "Jens B.", ("FX1", "FX2"), "",
                                             ("F-X 1", "F-X 2"))
    assert store.plates_fingerprint() != fingerprint
    store.import_accounts([moved], replace=True)
    assert [a.customer_number for a in store.accounts()] == ["10003"]
    assert store.remove_account("10003") and not store.remove_account("10003")
    assert store.plate_index() == []
    store.close()


def test_a_correction_applies_once_against_a_concurrent_one(database: str) -> None:
    store = open_store(database)
    store.record_passage(record("r1"), OutboxItem(0, "ev-r1", "t", "{}"))
    audit = AuditEntry("2026-11-25T07:01:00.000Z", "op", "dismiss", "r1", None, None, "ev-x")
    kwargs = {"expect_corrected_at": None, "status": "dismissed", "plate_display": None,
              "plate_compact": None, "customer_number": None, "audit": audit}
    assert store.apply_correction("r1", event_id="ev-x", outbox=OutboxItem(0, "ev-x", "t", "{}"),
                                  **kwargs)
    # a second console that still saw the read uncorrected
    assert not store.apply_correction("r1", event_id="ev-y",
                                      outbox=OutboxItem(0, "ev-y", "t", "{}"), **kwargs)
    read = store.read("r1")
    assert read is not None and read.status == "dismissed"
    assert read.corrected_at == audit.at
    assert [a.action for a in store.audit_log("r1")] == ["dismiss"]
    assert store.outbox_depth() == 2 and store.reads_fingerprint()[0] == 1
    store.close()


def test_counts_for_the_monitors_days_arrivals_corrections_and_outbox_age(
        database: str) -> None:
    """What the heartbeat, Home Assistant and the metrics count, on either engine."""
    store = open_store(database)
    assert store.outbox_oldest() is None and store.read_counts("") == {}
    store.record_passage(record("old", seen_at="2026-11-24T15:00:00.000Z"), None)
    store.record_passage(record("a", customer="10001"), OutboxItem(0, "ev-a", "t", "{}"))
    store.record_passage(record("b"), OutboxItem(0, "ev-b", "t", "{}"))
    assert store.read_counts("2026-11-25T00:00:00.000Z") == {"matched": 1, "unregistered": 1}
    oldest = store.outbox_oldest()
    assert oldest is not None and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", oldest)
    audit = AuditEntry("2026-11-25T07:01:00.000Z", "op", "dismiss", "b", None, None, "ev-x")
    assert store.apply_correction("b", expect_corrected_at=None, status="dismissed",
                                  plate_display=None, plate_compact=None, customer_number=None,
                                  event_id="ev-x", audit=audit,
                                  outbox=OutboxItem(0, "ev-x", "t", "{}"))
    assert store.audit_count("2026-11-25T07:00:00.000Z") == 1
    assert store.audit_count("2026-11-25T08:00:00.000Z") == 0
    store.close()


def test_status_history_outlives_the_purge_that_deletes_the_reads(database: str) -> None:
    """The matcher's prior needs how many cars were unregistered on past days, after the
    purge has deleted those reads: counted as they go, nothing personal kept."""
    store = open_store(database)
    for i in range(3):
        store.record_passage(record(f"u{i}", seen_at=f"2026-11-2{3 + i}T08:00:00.000Z"), None)
    store.record_passage(record("m", customer="10001"), None)
    before = store.status_history("2026-11-24T00:00:00.000Z")
    assert before == {"unregistered": 2, "matched": 1}
    report = store.purge("2026-11-25T00:00:00.000Z", "2026-11-01T00:00:00.000Z")
    assert report.unregistered_reads_deleted == 2  # u0, u1
    assert store.status_history("2026-11-24T00:00:00.000Z") == before
    assert store.status_history("2026-11-20T00:00:00.000Z") == {"unregistered": 3, "matched": 1}
    store.purge("2026-11-26T00:00:00.000Z", "2026-11-01T00:00:00.000Z")  # adds to the day
    assert store.status_history("2026-11-20T00:00:00.000Z") == {"unregistered": 3, "matched": 1}
    store.close()


def test_every_kept_plate_crop_goes_with_the_decision_purge_forget_and_campaign_close(
        database: str) -> None:
    """Issue 24: crops are evidence for a decision, kept no longer than it needs them."""
    store = open_store(database)
    jpeg = b"\xff\xd8 a crop \xff\xd9"
    for rid, customer, seen in (("fix", None, "2026-11-25T07:00:00.000Z"),
                                ("late", None, "2026-11-25T09:00:00.000Z"),
                                ("cust", "10001", "2026-11-25T09:00:00.000Z"),
                                ("end", None, "2026-11-25T09:00:00.000Z")):
        store.record_passage(record(rid, customer=customer, seen_at=seen),
                             OutboxItem(0, f"ev-{rid}", "t", "{}"))
        store.keep_evidence(rid, [jpeg, jpeg + b"2"])
    assert store.evidence("fix") == [jpeg, jpeg + b"2"]
    assert store.evidence_reads() == {"fix": 2, "late": 2, "cust": 2, "end": 2}
    audit = AuditEntry("2026-11-25T07:01:00.000Z", "op", "correct", "fix", None, None, "ev-x")
    assert store.apply_correction("fix", expect_corrected_at=None, status="unregistered",
                                  plate_display="OF-AB 124", plate_compact="OFAB124",
                                  customer_number=None, event_id="ev-x", audit=audit,
                                  outbox=OutboxItem(0, "ev-x", "t", "{}"))
    assert store.evidence("fix") == []  # decided: the crop has served its purpose
    store.record_passage(record("dis", seen_at="2026-11-25T09:30:00.000Z"), None)
    store.keep_evidence("dis", [jpeg])
    dismissal = AuditEntry("2026-11-25T09:31:00.000Z", "op", "dismiss", "dis", None, None,
                           "ev-y")
    assert store.apply_correction("dis", expect_corrected_at=None, status="dismissed",
                                  plate_display=None, plate_compact=None, customer_number=None,
                                  event_id="ev-y", audit=dismissal,
                                  outbox=OutboxItem(0, "ev-y", "t", "{}"))
    assert store.evidence("dis") == []  # dismissed: decided too
    store.purge("2026-11-25T08:00:00.000Z", "2026-11-01T00:00:00.000Z")
    assert "fix" not in store.evidence_reads() and "late" in store.evidence_reads()
    store.forget_customer("10001")
    assert set(store.evidence_reads()) == {"late", "end"}
    assert store.close_campaign()["plate_crops"] == 4
    assert store.evidence_reads() == {}
    store.close()


def test_a_review_cars_candidates_go_with_the_decision_and_with_a_forgotten_customer(
        database: str) -> None:
    from dataclasses import replace

    store = open_store(database)
    for rid in ("a", "b"):
        store.record_passage(replace(record(rid), status="needs_review",
                                     candidates='[["10001", -1.0], ["10002", -3.0]]'), None)
    audit = AuditEntry("2026-11-25T07:01:00.000Z", "op", "dismiss", "a", None, None, "ev-x")
    assert store.apply_correction("a", expect_corrected_at=None, status="dismissed",
                                  plate_display=None, plate_compact=None, customer_number=None,
                                  event_id="ev-x", audit=audit,
                                  outbox=OutboxItem(0, "ev-x", "t", "{}"))
    assert store.read("a").candidates is None  # type: ignore[union-attr]
    assert store.read("b").candidates  # type: ignore[union-attr]
    store.forget_customer("10002")  # named as another car's candidate: gone from it too
    assert store.read("b").candidates is None  # type: ignore[union-attr]
    store.close()


def test_privacy_operations_and_checkpoints(database: str) -> None:
    store = open_store(database)
    store.import_accounts([ANNA])
    store.record_passage(
        ReadRecord("m1", "2026-11-20T07:00:00.000Z", "cam", "OF-AB 123", "OFAB123", 0.9,
                   "matched", "10001", "ev-m1"), OutboxItem(0, "ev-m1", "t", "{}"))
    store.record_passage(
        ReadRecord("u1", "2026-11-20T07:00:00.000Z", "cam", "GG-WS 4711", "GGWS4711", 0.9,
                   "unregistered", None, "ev-u1"), None)
    report = store.purge("2026-11-21T00:00:00.000Z", "2026-11-21T00:00:00.000Z")
    assert (report.unregistered_reads_deleted, report.matched_plates_removed) == (1, 1)
    assert [(r.read_id, r.plate_compact) for r in store.reads()] == [("m1", None)]
    exported = store.export_customer("10001")
    assert exported is not None and len(exported["events_not_yet_delivered"]) == 1  # type: ignore[arg-type]
    assert store.forget_customer("10001") == {"accounts": 1, "plates": 2, "reads": 1,
                                               "undelivered_events_dropped": 1}
    assert store.export_customer("10001") is None
    assert store.checkpoint("/f") == (0, False)
    store.save_checkpoint("/f", 12)
    store.save_checkpoint("/f", -1, done=True)
    assert store.checkpoint("/f") == (-1, True)
    store.add_visit_fact("arrival", "2026-11-25T07:00Z", "matched", None, None)
    assert store.close_campaign()["plates"] == 0
    assert [f.kind for f in store.visit_facts("2026-11-25", "2026-11-26")] == ["arrival"]
    store.close()


def test_the_sqlite_file_also_opens_by_url_and_path(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    open_store(f"sqlite:///{path}").close()
    store = open_store(str(path))
    assert isinstance(store, SqliteStore) and store.path == path
    store.close()
    with pytest.raises(ValueError, match="not supported"):
        open_store("mysql://x/y")
