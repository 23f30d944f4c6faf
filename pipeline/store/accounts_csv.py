"""Customer accounts from CSV: parse and validate the whole file before anything is written.

Columns (header required; one row per plate, so a customer with two cars has two rows with
the same customer number)::

    customer_number,display_name,plate,visit_reason
    10001,Anna Schmidt,OF-AB 123,Jahresabrechnung
    10001,Anna Schmidt,OF-E 2345E,Jahresabrechnung
    10002,Jens Becker,F-X 1,

``visit_reason`` may be empty or left out. A German header is read too
(``Kundennummer;Name;Kennzeichen;Anliegen``, see ``GERMAN``), in any case. Plates are
written as on the plate, with the district separated by a hyphen (``OF-AB 123``). What a
German office's Excel saves is read as it is: comma or semicolon as the delimiter (told by
the header line), UTF-8 with or without a byte-order mark, UTF-16 ("Unicode text") or
Windows-1252.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from pipeline.domain import Account
from pipeline.plate.grammar import plate_from_label

REQUIRED = ("customer_number", "display_name", "plate")
OPTIONAL = ("visit_reason",)
# Column names a German office's own export may carry (lower case, as compared).
GERMAN = {"kundennummer": "customer_number", "kunden-nr.": "customer_number",
          "kundennr": "customer_number", "kundennr.": "customer_number",
          "name": "display_name", "kundenname": "display_name", "anzeigename": "display_name",
          "kennzeichen": "plate", "kfz-kennzeichen": "plate", "amtliches kennzeichen": "plate",
          "anliegen": "visit_reason", "grund": "visit_reason", "besuchsgrund": "visit_reason"}


def column(name: str) -> str:
    """The column a header cell names: itself, or its English name for a German one."""
    name = name.strip()
    return GERMAN.get(name.lower(), name)


@dataclass(frozen=True)
class AccountsFile:
    """A validated accounts file: its accounts, the line each plate was on (by its display
    form, as errors show it), and how the file was written (so an import can say so)."""

    accounts: list[Account]
    plate_lines: dict[str, int]
    encoding: str
    delimiter: str
    trimmed_lines: tuple[int, ...] = ()  # lines with spaces around a value (removed)


class CsvImportError(ValueError):
    """The file cannot be imported; ``problems`` lists every line that is wrong."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n  ".join(problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{path}: nothing imported, {len(problems)} problem(s):\n  {shown}{more}")


def decode_csv(data: bytes, name: str = "<csv>") -> tuple[str, str]:
    """(text, encoding) of an accounts file: UTF-16 by its byte-order mark, else UTF-8 (with
    or without one), else Windows-1252, the encoding of a German Excel's plain 'CSV'. A byte
    no encoding can explain is reported by its line; an Excel workbook is named as such."""
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # .xlsx (a ZIP), .xls
        raise CsvImportError(name, [
            "this is an Excel workbook, not a CSV file: in Excel, save it as 'CSV UTF-8' "
            "('CSV UTF-8 (durch Trennzeichen getrennt)' in a German Excel) and import that "
            "file"])
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CsvImportError(name, [
            f"line {line}: byte 0x{data[exc.start]:02x} is neither UTF-8 nor Windows-1252 "
            "text; in Excel, save the file as 'CSV UTF-8 (comma delimited)' and import again"
        ]) from exc


def read_accounts_csv(path: Path, districts: frozenset[str] | None = None) -> AccountsFile:
    """Read, parse and validate an accounts CSV; raise CsvImportError listing every problem."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CsvImportError(str(path), [f"cannot read file: {exc.strerror}"]) from exc
    text, encoding = decode_csv(data, str(path))
    return parse_accounts_file(text, str(path), districts, encoding)


def parse_accounts_csv(text: str, name: str = "<csv>",
                       districts: frozenset[str] | None = None) -> list[Account]:
    """Validate CSV text and group its rows into accounts (pure; see module docstring)."""
    return parse_accounts_file(text, name, districts).accounts


def _delimiter(header_line: str) -> str:
    """``;`` when the header is split by semicolons (German Excel), else ``,``."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def parse_accounts_file(text: str, name: str = "<csv>",
                        districts: frozenset[str] | None = None,
                        encoding: str = "UTF-8") -> AccountsFile:
    """Validate CSV text and group its rows into accounts, keeping each plate's line."""
    reader, header, delimiter = _open_csv(text, name)
    problems: list[str] = []
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        problems.append(f"line 1: unknown column(s) {', '.join(unknown)}")
    grouping = _Grouping(districts, problems)
    rows = 0
    trimmed: list[int] = []
    for row in reader:
        lineno = reader.line_num  # the row's last physical line (quoted fields may span)
        values = _row_values(row, header, delimiter, lineno, problems)
        if not values:
            continue
        if any(v and v != v.strip() for v in row.values()):
            trimmed.append(lineno)
        rows += 1
        grouping.add(values, lineno)
    if rows == 0 and not problems:
        problems.append("the file has a header but no rows")
    if problems:
        raise CsvImportError(name, problems)
    return AccountsFile(grouping.accounts(), grouping.lines(), encoding, delimiter,
                        tuple(trimmed))


def _open_csv(text: str, name: str) -> tuple[csv.DictReader, list[str], str]:
    """The row reader, the header and the delimiter; the file refused when it is empty or
    lacks a required column."""
    if not text.strip():
        raise CsvImportError(name, ["the file is empty: expected a header line "
                                    f"'{','.join(REQUIRED + OPTIONAL)}' and one row per plate"])
    text = text.lstrip("\ufeff")
    delimiter = _delimiter(text.splitlines()[0])
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    reader.fieldnames = [column(h) for h in (reader.fieldnames or [])]
    header = list(reader.fieldnames)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CsvImportError(name, [
            f"line 1: missing column(s) {', '.join(missing)}; the header must be "
            f"'{','.join(REQUIRED + OPTIONAL)}' (found '{delimiter.join(header)}')"])
    return reader, header, delimiter


def _row_values(row: dict, header: list[str], delimiter: str, lineno: int,
                problems: list[str]) -> dict[str, str] | None:
    """The row's trimmed values by column; None for a blank row or one with a field too many
    or too few (said in ``problems``)."""
    if None in row:
        problems.append(f"line {lineno}: more fields than the header has columns "
                        f"(a {'semicolon' if delimiter == ';' else 'comma'} inside a "
                        "name needs quotes)")
        return None
    short = [c for c in header if row.get(c) is None]
    if short and any((v or "").strip() for v in row.values()):
        problems.append(f"line {lineno}: fewer fields than the header has columns "
                        f"(no {', '.join(short)}); leave a field empty with an extra "
                        f"'{delimiter}' rather than out")
        return None
    values = {k.strip(): (v or "").strip() for k, v in row.items() if k}
    return values if any(values.values()) else None


class _Grouping:
    """Rows grouped into accounts: one name per customer, one customer per plate; what
    contradicts goes into ``problems`` with its line."""

    def __init__(self, districts: frozenset[str] | None, problems: list[str]) -> None:
        self.districts, self.problems = districts, problems
        self.names: dict[str, str] = {}
        self.reasons: dict[str, str] = {}
        self.plates: dict[str, list[tuple[str, str]]] = {}
        self.owner: dict[str, tuple[str, int]] = {}

    def add(self, values: dict[str, str], lineno: int) -> None:
        number, display, label = (values.get(c, "") for c in REQUIRED)
        reason, problems = values.get("visit_reason", ""), self.problems
        if not number:
            problems.append(f"line {lineno}: customer_number is empty")
            return
        if not display:
            problems.append(f"line {lineno}: display_name is empty for customer {number}")
        try:
            plate = plate_from_label(label, self.districts)
        except ValueError as exc:
            problems.append(f"line {lineno}: {exc}")
            return
        if number in self.names and display and self.names[number] != display:
            problems.append(f"line {lineno}: customer {number} is named {display!r} here but "
                            f"{self.names[number]!r} earlier")
        self.names.setdefault(number, display)
        if reason:
            self.reasons.setdefault(number, reason)
        if plate.compact in self.owner:
            first_owner, first_line = self.owner[plate.compact]
            if first_owner != number:
                problems.append(f"line {lineno}: plate {plate.display} is already registered to "
                                f"customer {first_owner} (line {first_line}); one plate can "
                                "belong to one customer only")
            else:
                problems.append(f"line {lineno}: plate {plate.display} is listed twice for "
                                f"customer {number} (line {first_line})")
            return
        self.owner[plate.compact] = (number, lineno)
        self.plates.setdefault(number, []).append((plate.compact, plate.display))

    def accounts(self) -> list[Account]:
        return [Account(number, self.names[number], tuple(c for c, _ in pairs),
                        self.reasons.get(number, ""), tuple(d for _, d in pairs))
                for number, pairs in self.plates.items()]

    def lines(self) -> dict[str, int]:
        """Each plate's (display form) line in the file."""
        return {d: self.owner[c][1] for pairs in self.plates.values() for c, d in pairs}
