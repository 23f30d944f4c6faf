"""Customer accounts from CSV: parse and validate the whole file before anything is written.

Columns (UTF-8, comma-separated, header required; one row per plate, so a customer with two
cars has two rows with the same customer number)::

    customer_number,display_name,plate,visit_reason
    10001,Anna Schmidt,OF-AB 123,Jahresabrechnung
    10001,Anna Schmidt,OF-E 2345E,Jahresabrechnung
    10002,Jens Becker,F-X 1,

``visit_reason`` may be empty or left out. Plates are written as on the plate, with the
district separated by a hyphen (``OF-AB 123``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from pipeline.plate.grammar import plate_from_label

REQUIRED = ("customer_number", "display_name", "plate")
OPTIONAL = ("visit_reason",)


@dataclass(frozen=True)
class Account:
    """A pre-registered customer and the plates of their cars (compact form)."""

    customer_number: str
    display_name: str
    plates: tuple[str, ...]
    visit_reason: str = ""
    plate_displays: tuple[str, ...] = ()


class CsvImportError(ValueError):
    """The file cannot be imported; ``problems`` lists every line that is wrong."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n  ".join(problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{path}: nothing imported, {len(problems)} problem(s):\n  {shown}{more}")


def read_accounts_csv(path: Path, districts: frozenset[str] | None = None) -> list[Account]:
    """Parse and validate an accounts CSV; raise CsvImportError listing every problem."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvImportError(str(path), [
            f"not UTF-8 (byte {exc.start}): save the file as 'CSV UTF-8' and import again"
        ]) from exc
    except OSError as exc:
        raise CsvImportError(str(path), [f"cannot read file: {exc.strerror}"]) from exc
    return parse_accounts_csv(text, str(path), districts)


def parse_accounts_csv(text: str, name: str = "<csv>",
                       districts: frozenset[str] | None = None) -> list[Account]:
    """Validate CSV text and group its rows into accounts (pure; see module docstring)."""
    if not text.strip():
        raise CsvImportError(name, ["the file is empty: expected a header line "
                                    f"'{','.join(REQUIRED + OPTIONAL)}' and one row per plate"])
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CsvImportError(name, [
            f"line 1: missing column(s) {', '.join(missing)}; the header must be "
            f"'{','.join(REQUIRED + OPTIONAL)}' (found '{','.join(header)}')"])
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    problems: list[str] = []
    if unknown:
        problems.append(f"line 1: unknown column(s) {', '.join(unknown)}")
    names: dict[str, str] = {}
    reasons: dict[str, str] = {}
    plates: dict[str, list[tuple[str, str]]] = {}
    owner: dict[str, tuple[str, int]] = {}
    rows = 0
    for lineno, row in enumerate(reader, start=2):
        if None in row:
            problems.append(f"line {lineno}: more fields than the header has columns "
                            "(a comma inside a name needs quotes)")
            continue
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        if not any(values.values()):
            continue
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
    return [Account(number, names[number], tuple(c for c, _ in plates[number]),
                    reasons.get(number, ""), tuple(d for _, d in plates[number]))
            for number in plates]
