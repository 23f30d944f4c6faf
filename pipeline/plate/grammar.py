"""German plate grammar: raw OCR text -> structured plate, or None when it cannot be one.

A German plate is a district code (1-3 letters, umlauts possible), 1-2 letters (officially
without umlauts, but real plates such as ``M-ÜN 4513`` carry one: read as printed), 1-4
digits (no leading zero) and an optional suffix ``E`` (electric) or ``H`` (historic), at most 8
characters in all. The seals between district and letters are the only thing that tells
``B-NO 1234`` from ``BN-O 1234``; OCR shows them as ``-`` or a space. A hyphen stands only
for the seals (as on the plate and in the plate model's output), a space for either gap. Where
the separator is missing, the official district list decides, and a split that stays
ambiguous is flagged so that the confidence can be lowered instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ"
MAX_CHARS = 8

# Position-aware fixes for characters OCR confuses between the letter and digit shapes: a
# glyph of the wrong kind for its place, with one look-alike of the right kind (a 4 read for
# A, a 7 for T). Glyphs with two (3: B or E) are not guessed, nor A, T and L among the digits:
# they would turn signs (EXIT 3), foreign plates (PP-587-AO) and a spurious edge glyph
# (OF-ZZL 650 as OF-ZZ 1650, another customer's plate) into German plates.
TO_LETTER = {"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z", "6": "G", "4": "A", "7": "T"}
TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "I": "1", "B": "8", "S": "5", "Z": "2", "G": "6"}
# A token boundary (space, hyphen) that a reading does not explain costs more than a fix:
# the seals' gap and the letter/digit gap are what tell B-NO 1234 from BN-O 1234.
BOUNDARY_COST = 1.5
UMLAUT = {"A": "Ä", "O": "Ö", "U": "Ü"}
# Letters that plate OCR reads as one another (narrow FE-Schrift W as H, M as N, worn bars,
# round letters, thin verticals): tried on a district code that is not on the official list.
LOOKALIKE_LETTERS: dict[str, str] = {
    "W": "HMV", "H": "WNM", "M": "NWH", "N": "MH", "E": "F", "F": "E", "O": "DQ", "D": "O",
    "Q": "O", "I": "LJ", "L": "I", "J": "I", "U": "V", "V": "UW", "P": "R", "R": "P",
    "C": "G", "G": "C", "K": "X", "X": "K",
    # the dots survive but the small base letter under them is misread (open U vs round O)
    "Ö": "Ü", "Ü": "Ö",
}

_PLATE_CHARS = "0-9A-ZÄÖÜ"  # a regex character class: what can be on a plate
_SEPARATORS = re.compile(f"[^{_PLATE_CHARS}]+")
_SPLIT = re.compile(f"([^{_PLATE_CHARS}]+)")
_GLYPH = re.compile(f"[{_PLATE_CHARS}]")


@dataclass(frozen=True)
class Plate:
    """A syntactically valid German plate."""

    district: str
    letters: str
    digits: str
    suffix: str = ""

    @property
    def display(self) -> str:
        """Canonical display form, e.g. ``OF-AB 123`` or ``OF-E 2345E``."""
        return f"{self.district}-{self.letters} {self.digits}{self.suffix}"

    @property
    def compact(self) -> str:
        """Separator-free form used as the matching key, e.g. ``OFAB123``."""
        return f"{self.district}{self.letters}{self.digits}{self.suffix}"

    @property
    def label(self) -> str:
        """Form of the shared data sets' labels, e.g. ``OF-AB123``."""
        return f"{self.district}-{self.letters}{self.digits}{self.suffix}"


@dataclass(frozen=True)
class ParseResult:
    """The best plate for a raw text, how many characters were fixed, and whether another
    reading was equally possible (then the plate must not be trusted blindly). ``as_read``:
    when the grammar dropped a glyph as spurious, the plate's compact form with that glyph
    back in its place (``DFXX838`` for ``DF-X 838``: matching weighs that the glyph may have
    been real); empty when it dropped none."""

    plate: Plate
    fixes: int
    ambiguous: bool
    cost: float = 0.0
    as_read: str = ""


def plate_chars(text: str) -> str:
    """The plate characters of a text, upper-cased, separators dropped (``OF-AB 123`` ->
    ``OFAB123``): what evaluations compare and row checks count."""
    return _SEPARATORS.sub("", text.upper())


def _normalise(raw: str) -> list[str]:
    """Upper-case and split into tokens at anything that is not a plate character."""
    text = raw.upper().replace("ß", "SS")
    return [t for t in _SEPARATORS.split(text) if t]


def _as_letters(chars: str) -> tuple[str, int] | None:
    out, fixes = [], 0
    for c in chars:
        if c in LETTERS:
            out.append(c)
        elif c in TO_LETTER:
            out.append(TO_LETTER[c])
            fixes += 1
        else:
            return None
    return "".join(out), fixes


def _as_digits(chars: str) -> tuple[str, int] | None:
    out, fixes = [], 0
    for c in chars:
        if c.isdigit():
            out.append(c)
        elif c in TO_DIGIT:
            out.append(TO_DIGIT[c])
            fixes += 1
        else:
            return None
    digits = "".join(out)
    if digits.startswith("0"):
        return None
    return digits, fixes


def _district(chars: str, districts: frozenset[str] | None,
              lookalikes: bool = False) -> tuple[str, int] | None:
    """Letters of a district code. A code not on the official list is not a German plate as
    read, so one look-alike is tried: a lost umlaut (DUW -> DÜW: the English recogniser has
    none), else, with ``lookalikes`` and for codes of two or three letters, one look-alike
    letter (DÜH -> DÜW). Only a single valid result is taken; two equally possible codes are
    not guessed between."""
    base = _as_letters(chars)
    if base is None:
        return None
    code, fixes = base
    if districts is None or code in districts:
        return code, fixes
    # one-letter codes are left alone: nearly every letter is one, so a look-alike would turn
    # almost any junk into a plate
    for table in (UMLAUT, LOOKALIKE_LETTERS) if lookalikes and len(code) > 1 else (UMLAUT,):
        options = {code[:i] + alt + code[i + 1:]
                   for i, c in enumerate(code) for alt in table.get(c, "")}
        found = sorted(o for o in options if o in districts)
        if len(found) == 1:
            return found[0], fixes + 1
        if found:
            return None
    return None


def _candidates(compact: str, districts: frozenset[str] | None,
                district_token: int = 0) -> list[tuple[int, Plate]]:
    """Every way to read ``compact`` as district + letters + digits (+ suffix), with the
    number of characters each reading had to fix. ``district_token``: length of the first
    token when the read set it apart (the seals' gap); only a district read as its own token
    may be corrected to a look-alike code."""
    found: list[tuple[int, Plate]] = []
    suffixes = [("", compact)]
    if compact[-1:] in ("E", "H"):
        suffixes.append((compact[-1], compact[:-1]))
    for suffix, body in suffixes:
        for d in (1, 2, 3):
            for n_letters in (1, 2):
                n_digits = len(body) - d - n_letters
                if not 1 <= n_digits <= 4:
                    continue
                dist = _district(body[:d], districts, lookalikes=d == district_token)
                letters = _as_letters(body[d:d + n_letters])
                digits = _as_digits(body[d + n_letters:])
                if dist is None or letters is None or digits is None:
                    continue
                plate = Plate(dist[0], letters[0], digits[0], suffix)
                if len(plate.compact) <= MAX_CHARS:
                    found.append((dist[1] + letters[1] + digits[1], plate))
    return found


def _boundaries(text: str) -> tuple[list[str], set[int], set[int]]:
    """Tokens of ``text`` and the positions (in the joined tokens) of every gap between them,
    and of the gaps that contain a hyphen."""
    tokens: list[str] = []
    gaps: set[int] = set()
    hyphens: set[int] = set()
    cut = 0
    for i, part in enumerate(_SPLIT.split(text)):
        if i % 2:  # a run of separators
            if tokens and cut:
                gaps.add(cut)
                if "-" in part:
                    hyphens.add(cut)
        elif part:
            tokens.append(part)
            cut += len(part)
    return tokens, gaps - {cut}, hyphens - {cut}


def parse_plate(raw: str, districts: frozenset[str] | None = None,
                district_len: int | None = None) -> ParseResult | None:
    """Parse OCR text into a German plate.

    ``districts`` is the set of valid district codes (``pipeline.plate.districts``); without it
    any 1-3 letters are accepted as a district. Returns None for text that cannot be a German
    plate (a sign, a foreign plate, noise). Readings are ranked by the characters they had to
    fix and the separators they ignore; a tie between different plates is ``ambiguous``,
    unless ``district_len`` (how many glyphs the rectifier saw before the seals) picks
    exactly one of them. It only breaks ties: it never outweighs what the text says.
    A thin glyph at either end or just before the seals' gap may be spurious (``SPURIOUS``:
    the plate's edge, a bolt or the seals read as I, 1 or L), and of two equal glyphs in a
    row one may be read twice: when the text without it is a plate as read, that is another
    reading, as dear as one fix.
    """
    text = raw.upper().replace("ß", "SS")
    as_read = _parse(text, districts, district_len)
    if as_read is not None and as_read.cost == 0:
        return as_read  # nothing to fix: no reading without a glyph can be as cheap
    readings = [(as_read.cost, as_read.fixes, as_read)] if as_read else []
    # only a plate as read once the glyph is gone: a drop on top of fixes makes junk a plate
    for i, shorter in _without_spurious(text):
        r = _parse(shorter, districts, district_len)
        if r and r.cost == 0:
            at = len(_GLYPH.findall(text[:i]))  # the dropped glyph's place in the compact form
            compact = r.plate.compact
            readings.append((1.0, 1, replace(r, as_read=compact[:at] + text[i] + compact[at:])))
    if not readings:
        return None
    cost = min(c for c, _, _ in readings)
    best = [(fixes, r) for c, fixes, r in readings if c == cost]
    fixes, first = best[0]
    ambiguous = first.ambiguous or len({r.plate for _, r in best}) > 1
    return ParseResult(first.plate, fixes, ambiguous, cost, first.as_read)


SPURIOUS = "I1L"


def _without_spurious(text: str) -> list[tuple[int, str]]:
    """``text`` without one thin glyph at its start, its end or just before its first gap, or
    without one of two equal glyphs in a row (a glyph the recogniser read twice): each such
    text with the dropped glyph's index in ``text``."""
    spots = [m.start() for m in _GLYPH.finditer(text)]
    if not spots:
        return []
    pairs = list(zip(spots, spots[1:], strict=False))
    places = {i for i in {spots[0], spots[-1]} if text[i] in SPURIOUS}
    seals = next((a for a, b in pairs if b > a + 1), None)
    if seals is not None and text[seals] in SPURIOUS:
        places.add(seals)
    places |= {a for a, b in pairs if b == a + 1 and text[a] == text[b]}
    return [(i, text[:i] + text[i + 1:]) for i in sorted(places)]


def _parse(text: str, districts: frozenset[str] | None,
           district_len: int | None) -> ParseResult | None:
    """``parse_plate`` of upper-case text as read, nothing dropped."""
    tokens, seen, hyphens = _boundaries(text)
    compact = "".join(tokens)
    if not 3 <= len(compact) <= MAX_CHARS:
        return None
    scored: list[tuple[float, int, Plate]] = []
    first = len(tokens[0]) if len(tokens) > 1 else 0
    for fixes, plate in _candidates(compact, districts, first):
        d, n = len(plate.district), len(plate.letters)
        own = {d, d + n} | ({len(compact) - 1} if plate.suffix else set())
        # a hyphen is the seals' gap: read as the letters/digits gap it is unexplained too
        unexplained = (seen - own) | (hyphens - {d})
        cost = fixes + BOUNDARY_COST * len(unexplained)
        scored.append((cost, fixes, plate))
    if not scored:
        return None
    best_cost = min(c for c, _, _ in scored)
    best = [(f, p) for c, f, p in scored if c == best_cost]
    # Among equally cheap readings prefer no suffix (a real E/H is rarer than a misread),
    # then a two-letter district (the most common length); but flag the tie.
    best.sort(key=lambda fp: (fp[1].suffix != "", abs(len(fp[1].district) - 2), fp[1].compact))
    seen_split = [fp for fp in best if len(fp[1].district) == district_len]
    if len({p for _, p in best}) > 1 and len({p for _, p in seen_split}) == 1:
        best = seen_split
    fixes, plate = best[0]
    distinct = {p for _, p in best}
    return ParseResult(plate=plate, fixes=fixes, ambiguous=len(distinct) > 1, cost=best_cost)


def plate_from_label(label: str, districts: frozenset[str] | None = None) -> Plate:
    """Parse a trusted label (CSV import, operator input, ground truth); raise ValueError with a
    helpful message when it is not a German plate."""
    result = parse_plate(label, districts)
    if result is None or result.fixes:
        raise ValueError(
            f"{label!r} is not a German plate: expected district-letters digits, "
            "e.g. 'OF-AB 123' or 'F-X 1' (1-3 letter district, 1-2 letters, 1-4 digits, "
            "optional E/H, at most 8 characters)")
    if result.ambiguous and len(_normalise(label)) < 2:
        raise ValueError(
            f"{label!r} is ambiguous without a separator: write the district with a hyphen, "
            f"e.g. '{result.plate.display}'")
    return result.plate
