"""Customer accounts from CSV: parse and validate the whole file before anything is written.

Columns (header required; one row per plate, so a customer with two cars has two rows with
the same customer number)::

    customer_number,display_name,plate,visit_reason
    10001,Anna Schmidt,OF-AB 123,Jahresabrechnung
    10001,Anna Schmidt,OF-E 2345E,Jahresabrechnung
    10002,Jens Becker,F-X 1,

``visit_reason`` may be empty or left out. Plates are written as on the plate, with the
district separated by a hyphen (``OF-AB 123``). What a German office's Excel saves is read
as it is: comma or semicolon as the delimiter (told by the header line), UTF-8 with or
without a byte-order mark, UTF-16 ("Unicode text") or Windows-1252.
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
    no encoding can explain is reported by its line."""
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
    if not text.strip():
        raise CsvImportError(name, ["the file is empty: expected a header line "
                                    f"'{','.join(REQUIRED + OPTIONAL)}' and one row per plate"])
    delimiter = _delimiter(text.lstrip("\ufeff").splitlines()[0])
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CsvImportError(name, [
            f"line 1: missing column(s) {', '.join(missing)}; the header must be "
            f"'{','.join(REQUIRED + OPTIONAL)}' (found '{delimiter.join(header)}')"])
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    problems: list[str] = []
    if unknown:
        problems.append(f"line 1: unknown column(s) {', '.join(unknown)}")
    names: dict[str, str] = {}
    reasons: dict[str, str] = {}
    plates: dict[str, list[tuple[str, str]]] = {}
    owner: dict[str, tuple[str, int]] = {}
    rows = 0
    trimmed: list[int] = []
    for row in reader:
        lineno = reader.line_num  # the row's last physical line (quoted fields may span)
        if None in row:
            problems.append(f"line {lineno}: more fields than the header has columns "
                            f"(a {'semicolon' if delimiter == ';' else 'comma'} inside a "
                            "name needs quotes)")
            continue
        short = [c for c in header if row.get(c) is None]
        if short and any((v or "").strip() for v in row.values()):
            problems.append(f"line {lineno}: fewer fields than the header has columns "
                            f"(no {', '.join(short)}); leave a field empty with an extra "
                            f"'{delimiter}' rather than out")
            continue
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        if not any(values.values()):
            continue
        if any(v and v != v.strip() for v in row.values()):
            trimmed.append(lineno)
        rows += 1
        number, display, label = (values.get(c, "") for c in REQUIRED)
        reason = values.get("visit_reason", "")
        if not number:
            problems.append(f"line {lineno}: customer_number is empty")
            continue
        if not display:
            problems.append(f"line {lineno}: display_name is empty for customer {number}")
        try:
            plate = plate_from_label(label, districts)
        except ValueError as exc:
            problems.append(f"line {lineno}: {exc}")
            continue
        if number in names and display and names[number] != display:
            problems.append(f"line {lineno}: customer {number} is named {display!r} here but "
                            f"{names[number]!r} earlier")
        names.setdefault(number, display)
        if reason:
            reasons.setdefault(number, reason)
        if plate.compact in owner:
            first_owner, first_line = owner[plate.compact]
            if first_owner != number:
                problems.append(f"line {lineno}: plate {plate.display} is already registered to "
                                f"customer {first_owner} (line {first_line}); one plate can "
                                "belong to one customer only")
            else:
                problems.append(f"line {lineno}: plate {plate.display} is listed twice for "
                                f"customer {number} (line {first_line})")
            continue
        owner[plate.compact] = (number, lineno)
        plates.setdefault(number, []).append((plate.compact, plate.display))
    if rows == 0 and not problems:
        problems.append("the file has a header but no rows")
    if problems:
        raise CsvImportError(name, problems)
    accounts = [Account(number, names[number], tuple(c for c, _ in plates[number]),
                        reasons.get(number, ""), tuple(d for _, d in plates[number]))
                for number in plates]
    lines = {d: owner[c][1] for pairs in plates.values() for c, d in pairs}
    return AccountsFile(accounts, lines, encoding, delimiter, tuple(trimmed))
