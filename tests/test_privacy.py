"""Privacy rules against the real SQLite file: retention with an injected clock, erasure,
end of campaign, keyed pseudonyms. Checked with a raw scan of every table and of the file."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.domain import Account, OutboxItem, ReadRecord, Status, iso
from pipeline.events.arrival import build_arrival
from pipeline.matching.matcher import MatchResult
from pipeline.plate.grammar import Plate
from pipeline.privacy.pseudonyms import load_or_create_key, plate_pseudonym
from pipeline.privacy.retention import PrivacySettings, cutoffs, purge
from pipeline.store.sqlite_store import SqliteStore
from pipeline.tracking.passages import Passage

ANNA = Account("10001", "Anna Schmidt", ("OFAB123",), "Jahresabrechnung", ("OF-AB 123",))
UNKNOWN = Plate("GG", "WS", "4711")
# Wednesday 25 Nov 2026, Berlin is UTC+1
MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def add_read(store: SqliteStore, read_id: str, plate: Plate, when: datetime, matched: bool,
             key: bytes) -> None:
    passage = Passage(plate, 0.95, 0.0, 1.0, 3, 3)
    match = MatchResult(Status.MATCHED, ANNA) if matched else MatchResult(Status.UNREGISTERED)
    event = build_arrival(passage, match, camera_id="cam", site="s", seen_at=when,
                          read_id=read_id)
    store.record_passage(
        ReadRecord(read_id, iso(when), "cam", plate.display, plate.compact, 0.95, match.status,
                   ANNA.customer_number if matched else None, event.event_id,
                   plate_pseudonym(key, plate.compact)),
        OutboxItem(0, event.event_id, "s/arrival", event.to_json()))


def scan(path: Path, *needles: str) -> list[str]:
    """Every needle found in any text cell of any table, or in the raw bytes of the file."""
    found = []
    db = sqlite3.connect(path)
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        for row in db.execute(f"SELECT * FROM {table}"):
            for cell in row:
                found += [f"{table}:{n}" for n in needles if isinstance(cell, str) and n in cell]
    db.close()
    for file in (path, Path(f"{path}-wal")):
        if file.exists():
            data = file.read_bytes()
            found += [f"{file.name}:{n}" for n in needles if n.encode() in data]
    return found


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore(tmp_path / "c.sqlite3")
    s.import_accounts([ANNA])
    return s


def test_unregistered_reads_go_at_the_end_of_the_service_day(store: SqliteStore,
                                                             tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k")
    add_read(store, "u1", UNKNOWN, MORNING, matched=False, key=key)
    add_read(store, "m1", Plate("OF", "AB", "123"), MORNING, matched=True, key=key)
    settings = PrivacySettings(service_day_end="16:30")
    # during the service day nothing goes
    assert purge(store, settings, MORNING + timedelta(hours=6)).unregistered_reads_deleted == 0
    # 16:31 Berlin = 15:31 UTC: the unregistered read and its event are gone
    dry = purge(store, settings, datetime(2026, 11, 25, 15, 31, tzinfo=UTC), dry_run=True)
    assert dry.unregistered_reads_deleted == 1
    assert len(store.reads()) == 2
    report = purge(store, settings, datetime(2026, 11, 25, 15, 31, tzinfo=UTC))
    assert report.unregistered_reads_deleted == 1
    assert [r.read_id for r in store.reads()] == ["m1"]
    assert store.outbox_depth() == 2  # undelivered arrivals are never lost to a purge
    store.close()
    assert scan(store.path, "GGWS4711", "GG-WS 4711") == []


def test_reads_an_operator_dismissed_go_at_the_next_purge(store: SqliteStore,
                                                          tmp_path: Path) -> None:
    from pipeline.events.topics import Topics
    from pipeline.operator.corrections import Corrections

    key = load_or_create_key(tmp_path / "k")
    add_read(store, "u1", UNKNOWN, MORNING, matched=False, key=key)
    Corrections(store, Topics("s"), "s", "op").dismiss("u1")
    report = purge(store, PrivacySettings(), MORNING + timedelta(minutes=5))
    assert report.unregistered_reads_deleted == 1 and store.reads() == []
    assert [a.before for a in store.audit_log("u1")] == [None]  # the audit keeps no plate
    store.close()
    assert scan(store.path, "GGWS4711", "GG-WS 4711") == []


def test_matched_plate_text_goes_after_the_configured_days_account_and_time_stay(
        store: SqliteStore, tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k")
    add_read(store, "m1", Plate("OF", "AB", "123"), MORNING, matched=True, key=key)
    store.acknowledge(store.pending()[0].event_id)  # delivered
    settings = PrivacySettings(matched_plate_days=7)
    assert purge(store, settings, MORNING + timedelta(days=6)).matched_plates_removed == 0
    assert purge(store, settings, MORNING + timedelta(days=8)).matched_plates_removed == 1
    (read,) = store.reads()
    assert read.customer_number == "10001" and read.seen_at == iso(MORNING)
    assert read.plate_display is None and read.plate_compact is None
    store.remove_account("10001")  # the account list holds the plate too
    store.close()
    assert scan(store.path, "OFAB123", "OF-AB 123") == []


def test_unregistered_max_age_overrides_the_service_day() -> None:
    settings = PrivacySettings(unregistered_max_age_h=2)
    unregistered, _ = cutoffs(MORNING, settings)
    assert unregistered == iso(MORNING - timedelta(hours=2))


def test_forget_leaves_no_trace_of_the_customers_plates(store: SqliteStore,
                                                        tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    key = load_or_create_key(tmp_path / "k")
    add_read(store, "m1", Plate("OF", "AB", "123"), MORNING, matched=True, key=key)
    store.close()
    db = str(store.path)
    assert main(["--database", db, "accounts", "export", "10001"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["account"]["plates"] == ["OF-AB 123"]
    assert exported["reads"][0]["plate_display"] == "OF-AB 123"
    assert len(exported["events_not_yet_delivered"]) == 1
    assert main(["--database", db, "accounts", "forget", "10001"]) == 0  # preview only
    assert scan(store.path, "OFAB123") != []
    assert main(["--database", db, "accounts", "forget", "10001", "--yes", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert counts == {"accounts": 1, "plates": 1, "reads": 1, "undelivered_events_dropped": 1}
    assert scan(store.path, "OFAB123", "OF-AB 123", "Anna Schmidt") == []


def test_campaign_close_keeps_only_anonymous_statistics(store: SqliteStore,
                                                       tmp_path: Path) -> None:
    key_file = Path(f"{store.path}.hmac-key")
    key = load_or_create_key(key_file)
    add_read(store, "m1", Plate("OF", "AB", "123"), MORNING, matched=True, key=key)
    add_read(store, "u1", UNKNOWN, MORNING, matched=False, key=key)
    pseudonym = plate_pseudonym(key, UNKNOWN.compact)
    store.close()
    assert main(["--database", str(store.path), "campaign", "close"]) == 0  # preview only
    assert scan(store.path, "OFAB123", "Anna") != [] and key_file.exists()
    assert main(["--database", str(store.path), "campaign", "close", "--yes"]) == 0
    assert not key_file.exists()
    assert scan(store.path, "OFAB123", "OF-AB 123", "GGWS4711", "GG-WS 4711", "Anna",
                "10001", pseudonym) == []
    reopened = SqliteStore(store.path)
    stats = reopened.reads()
    assert sorted(r.status for r in stats) == ["matched", "unregistered"]
    assert all(r.seen_at == iso(MORNING) for r in stats)
    reopened.close()


def test_pseudonyms_are_keyed_stable_and_not_a_plain_hash(tmp_path: Path) -> None:
    import hashlib

    k1 = load_or_create_key(tmp_path / "k1")
    k2 = load_or_create_key(tmp_path / "k2")
    assert load_or_create_key(tmp_path / "k1") == k1
    assert (tmp_path / "k1").stat().st_mode & 0o777 == 0o600
    a = plate_pseudonym(k1, "OFAB123")
    assert a == plate_pseudonym(k1, "OFAB123") != plate_pseudonym(k2, "OFAB123")
    assert a not in hashlib.sha256(b"OFAB123").hexdigest()


def test_matched_payload_can_be_reduced_to_the_customer_number() -> None:
    passage = Passage(Plate("OF", "AB", "123"), 0.9, 0.0, 1.0, 3, 3)
    match = MatchResult(Status.MATCHED, ANNA)
    full = build_arrival(passage, match, camera_id="c", site="s", seen_at=MORNING).payload
    bare = build_arrival(passage, match, camera_id="c", site="s", seen_at=MORNING,
                         detail="customer_number").payload
    assert full["plate"] == "OF-AB 123" and full["account"]["display_name"] == "Anna Schmidt"
    assert "plate" not in bare and bare["account"] == {"customer_number": "10001"}


def test_debug_crops_carry_no_plate_text_and_go_after_their_age(tmp_path: Path) -> None:
    import os

    import numpy as np

    from pipeline.detection.types import Box
    from pipeline.privacy.debug_crops import CropSaver, purge_crops
    from pipeline.reading.plate_reader import PlateRead

    saver = CropSaver(tmp_path / "crops")
    plate = Plate("OF", "AB", "123")
    saver(np.zeros((20, 90, 3), np.uint8), PlateRead(Box(0, 0, 90, 20), "OFAB123", 0.9, plate))
    (crop,) = (tmp_path / "crops").iterdir()
    assert "OF" not in crop.name and "123" not in crop.name
    now = crop.stat().st_mtime
    assert purge_crops(tmp_path / "crops", 24, now=now + 23 * 3600) == 0
    os.utime(crop, (now, now))
    assert purge_crops(tmp_path / "crops", 24, now=now + 25 * 3600) == 1
    assert list((tmp_path / "crops").iterdir()) == []


def test_every_destructive_command_previews_unless_given_yes(
        store: SqliteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 23: purge acted by default and previewed with --dry-run, while forget and
    campaign close previewed by default and acted with --yes. Now all three preview without
    --yes and say how to act; purge's --dry-run still previews (older scripts)."""
    key_file = Path(f"{store.path}.hmac-key")
    key = load_or_create_key(key_file)
    add_read(store, "u1", UNKNOWN, MORNING, matched=False, key=key)
    store.close()
    db = ["--database", str(store.path)]
    for command in (["purge"], ["purge", "--dry-run"], ["accounts", "forget", "10001"],
                    ["campaign", "close"]):
        assert main([*db, *command]) == 0, command
        out = capsys.readouterr().out
        assert "nothing deleted: add --yes to do it" in out, (command, out)
        assert main([*db, *command, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["dry_run"] is True, command
        assert scan(store.path, "GGWS4711", "Anna Schmidt") != [], command
    assert main([*db, "purge", "--yes", "--dry-run"]) == 1
    assert main([*db, "purge", "--yes", "--json"]) == 0
    purged = json.loads(capsys.readouterr().out)
    assert purged["dry_run"] is False and purged["unregistered_reads_deleted"] == 1
    assert scan(store.path, "GGWS4711") == []
