"""Account import through the real CLI and a real SQLite file: all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.store.sqlite_store import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "config" / "accounts.example.csv"


def run_cli(db: Path, *args: str) -> int:
    return main(["--database", str(db), *args])


def snapshot(db: Path) -> list[tuple[str, tuple[str, ...]]]:
    store = SqliteStore(db)
    try:
        return [(a.customer_number, a.plates) for a in store.accounts()]
    finally:
        store.close()


def test_good_file_imports_every_account_and_plate(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.sqlite3"
    assert run_cli(db, "accounts", "import", str(GOOD), "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["imported_accounts"] == 4 and out["plates"] == 5
    accounts = dict(snapshot(db))
    assert accounts["10001"] == ("OFAB123", "OFE2345E")
    assert accounts["10003"] == ("DÜWAS870",)
    assert run_cli(db, "accounts", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert {a["customer_number"] for a in listed} == {"10001", "10002", "10003", "10004"}


BAD_FILES = {
    "wrong_header": ("kunde,name,kennzeichen\n1,A,OF-AB 1\n", "missing column"),
    "bad_plate": ("customer_number,display_name,plate,visit_reason\n"
                  "1,Anna,OF-AB 1,\n2,Jens,EXIT 3,\n", "line 3: 'EXIT 3' is not a German plate"),
    "duplicate_plate": ("customer_number,display_name,plate,visit_reason\n"
                        "1,Anna,OF-AB 1,\n2,Jens,OF-AB 1,\n",
                        "line 3: plate OF-AB 1 is already registered to customer 1 (line 2)"),
    "empty": ("", "the file is empty"),
    "header_only": ("customer_number,display_name,plate,visit_reason\n", "no rows"),
    "conflicting_names": ("customer_number,display_name,plate\n1,Anna,OF-AB 1\n1,Jens,F-X 1\n",
                          "customer 1 is named 'Jens' here but 'Anna' earlier"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_malformed_file_is_reported_by_line_and_changes_nothing(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.sqlite3"
    assert run_cli(db, "accounts", "import", str(GOOD)) == 0
    before = snapshot(db)
    text, expected = BAD_FILES[case]
    bad = tmp_path / f"{case}.csv"
    bad.write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert run_cli(db, "accounts", "import", str(bad)) == 1
    err = capsys.readouterr().err
    assert "nothing imported" in err
    assert expected in err
    assert snapshot(db) == before


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig", "utf-16"])
def test_german_excel_exports_import(encoding: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Excel in a German locale saves 'CSV' with semicolons in Windows-1252 (or UTF-8 with a
    byte-order mark, or UTF-16 as 'Unicode text'): all of them import, umlauts intact."""
    db = tmp_path / "c.sqlite3"
    f = tmp_path / "kunden.csv"
    f.write_bytes("customer_number;display_name;plate;visit_reason\r\n"
                  "1;Jürgen Müller;DÜW-AS 870;Jahresabrechnung\r\n"
                  '2;"Weiß; Öztürk";OF-AB 1;Tarifberatung\r\n'.encode(encoding))
    assert run_cli(db, "accounts", "import", str(f), "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["imported_accounts"] == 2 and out["delimiter"] == ";"
    assert run_cli(db, "accounts", "list", "--json") == 0
    listed = {a["customer_number"]: a for a in json.loads(capsys.readouterr().out)}
    assert listed["1"]["display_name"] == "Jürgen Müller"
    assert listed["1"]["plates"] == ["DÜW-AS 870"]
    assert listed["2"]["display_name"] == "Weiß; Öztürk"


def test_a_german_header_imports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 23 walkthrough: the utility's own export says Kundennummer;Name;Kennzeichen."""
    db = tmp_path / "c.sqlite3"
    f = tmp_path / "kunden.csv"
    f.write_bytes("Kundennummer;Name;Kfz-Kennzeichen;Anliegen\r\n"
                  "1;Jürgen Müller;DÜW-AS 870;Jahresabrechnung\r\n".encode("cp1252"))
    assert run_cli(db, "accounts", "import", str(f), "--json") == 0
    assert json.loads(capsys.readouterr().out)["imported_accounts"] == 1
    assert run_cli(db, "accounts", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["plates"] == ["DÜW-AS 870"] and listed[0]["display_name"] == "Jürgen Müller"


def test_an_excel_workbook_is_named_as_such(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 23 walkthrough: kunden.xlsx given instead of its CSV export was 'line 1: byte
    0x81 is neither UTF-8 nor Windows-1252 text'."""
    import zipfile

    workbook = tmp_path / "kunden.xlsx"
    with zipfile.ZipFile(workbook, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    assert run_cli(tmp_path / "c.sqlite3", "accounts", "import", str(workbook)) == 1
    err = capsys.readouterr().err
    assert "this is an Excel workbook, not a CSV file" in err and "CSV UTF-8" in err, err
    assert "byte" not in err


def test_undecodable_byte_is_named_by_its_line(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.sqlite3"
    bad = tmp_path / "broken.csv"
    # 0x81 is text in neither UTF-8 nor Windows-1252
    bad.write_bytes(b"customer_number,display_name,plate\n1,Anna,OF-AB 1\n2,J\x81rgen,F-X 1\n")
    assert run_cli(db, "accounts", "import", str(bad)) == 1
    err = capsys.readouterr().err
    assert "line 3: byte 0x81" in err and "CSV UTF-8" in err
    assert snapshot(db) == []


def test_row_missing_a_field_is_rejected_by_its_line(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.sqlite3"
    bad = tmp_path / "short.csv"
    bad.write_text("customer_number,display_name,plate,visit_reason\n1,Anna,OF-AB 1,Tarif\n"
                   "2,Jens,F-X 1\n", encoding="utf-8")
    assert run_cli(db, "accounts", "import", str(bad)) == 1
    assert "line 3: fewer fields than the header has columns (no visit_reason)" in \
        capsys.readouterr().err
    assert snapshot(db) == []


def test_plate_registered_to_another_customer_in_the_database_aborts_import(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.sqlite3"
    assert run_cli(db, "accounts", "import", str(GOOD)) == 0
    before = snapshot(db)
    other = tmp_path / "other.csv"
    other.write_text("customer_number,display_name,plate\n99,Neu,F-Z 9\n98,Dieb,OF-AB 123\n",
                     encoding="utf-8")
    assert run_cli(db, "accounts", "import", str(other)) == 1
    err = capsys.readouterr().err
    assert "line 3: plate OF-AB 123 of customer 98 is already registered to customer 10001" \
        in err
    assert snapshot(db) == before


def test_add_and_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.sqlite3"
    assert run_cli(db, "accounts", "add", "7", "--name", "Eva", "--plate", "GG-E 12",
                   "--plate", "HU-X 3H") == 0
    assert snapshot(db) == [("7", ("GGE12", "HUX3H"))]
    assert run_cli(db, "accounts", "add", "8", "--name", "Max", "--plate", "NOPE") == 1
    assert "not a German plate" in capsys.readouterr().err
    assert run_cli(db, "accounts", "remove", "7") == 0
    assert snapshot(db) == []
    assert run_cli(db, "accounts", "remove", "7") == 1
    assert "not found" in capsys.readouterr().err


def test_add_updates_only_what_is_given_and_one_plate_can_go(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.sqlite3"
    assert run_cli(db, "accounts", "import", str(GOOD)) == 0
    capsys.readouterr()
    assert run_cli(db, "accounts", "add", "10001", "--plate", "OF-AB 124") == 0
    assert capsys.readouterr().out.strip() == "customer 10001: plate OF-AB 124 added"
    assert run_cli(db, "accounts", "add", "10001", "--reason", "Tarifberatung", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["changes"] == ["visit reason 'Jahresabrechnung' -> 'Tarifberatung'"]
    assert out["display_name"] == "Anna Schmidt"  # kept, not required again
    assert out["plates"] == ["OF-AB 123", "OF-AB 124", "OF-E 2345E"]
    assert run_cli(db, "accounts", "add", "10001", "--name", "Anna S.") == 0
    assert "visit reason" not in capsys.readouterr().out  # a reason left out is kept
    assert dict(snapshot(db))["10001"] == ("OFAB123", "OFAB124", "OFE2345E")

    assert run_cli(db, "accounts", "remove-plate", "OF-E 2345E") == 0
    assert capsys.readouterr().out.strip() == "removed plate OF-E 2345E from customer 10001"
    assert dict(snapshot(db))["10001"] == ("OFAB123", "OFAB124")
    assert run_cli(db, "accounts", "remove-plate", "OF-E 2345E") == 1
    assert "not registered" in capsys.readouterr().err
    assert run_cli(db, "accounts", "add", "20000", "--plate", "F-Z 1") == 1
    assert "give --name" in capsys.readouterr().err
    assert run_cli(db, "accounts", "add", "20000", "--name", "Neu", "--plate", "OF-AB 124") == 1
    assert "already registered to customer 10001" in capsys.readouterr().err


def test_spaces_around_values_are_removed_and_the_summary_says_on_which_lines(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Names lost their leading and trailing spaces without a word; now the summary says."""
    db = tmp_path / "c.sqlite3"
    csv_file = tmp_path / "kunden.csv"
    csv_file.write_text("customer_number,display_name,plate,visit_reason\n"
                        "1, Anna Schmidt ,OF-AB 1,\n2,Jens Becker,F-X 1,\n", encoding="utf-8")
    assert run_cli(db, "accounts", "import", str(csv_file)) == 0
    assert "spaces before or after a value were removed on 1 line(s): 2" in \
        capsys.readouterr().out
    store = SqliteStore(db)
    try:
        assert store.account("1").display_name == "Anna Schmidt"
    finally:
        store.close()
    assert run_cli(db, "accounts", "import", str(csv_file), "--json") == 0
    assert json.loads(capsys.readouterr().out)["spaces_removed_on_lines"] == [2]
