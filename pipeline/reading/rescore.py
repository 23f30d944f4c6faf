"""The district by likelihood: of the official codes one edit away from the district as read,
the one the recogniser's frame scores make most likely.

The grammar alone sees only the greedy text: a district read as ``TNL`` (no code) has no
single look-alike for it to take, and ``KON`` read for ``KÜN`` becomes ``KÖN``, the one
umlaut it knows. The frame scores still hold what the model saw (a faint Ü, a likely Ö), so
every nearby official code is scored with the whole plate's CTC likelihood and the best one
is taken. Umlauts count as their base letters here: a lost or misread dot costs nothing, and
the list and the scores decide.
"""

from __future__ import annotations

from functools import lru_cache

from pipeline.plate.grammar import MAX_CHARS, ParseResult, Plate, parse_plate
from pipeline.reading.recognisers import TextRead

_FOLD = str.maketrans("ÄÖÜ", "AOU")
_AZ = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@lru_cache(maxsize=4)
def _by_folded(districts: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """Official codes under their umlaut-free spelling (``DUW`` -> ``DÜW``; ``BO`` -> ``BO``,
    ``BÖ``)."""
    out: dict[str, list[str]] = {}
    for code in districts:
        out.setdefault(code.translate(_FOLD), []).append(code)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def nearby_districts(read: str, districts: frozenset[str]) -> list[str]:
    """Official codes at most one insertion, deletion or substitution from ``read``, umlauts
    counted as their base letters."""
    word = read.translate(_FOLD)
    variants = {word}
    for i in range(len(word) + 1):
        variants.update(word[:i] + c + word[i:] for c in _AZ)
        if i < len(word):
            variants.add(word[:i] + word[i + 1:])
            variants.update(word[:i] + c + word[i + 1:] for c in _AZ)
    index = _by_folded(districts)
    return sorted({code for v in variants if v for code in index.get(v, ())})


def _as_read(raw: str) -> tuple[str, ParseResult] | None:
    """District as read (the text before the seals' ``-``) and the plate it heads, with any
    1-3 letters accepted as the district; None without a seal gap."""
    head, sep, _ = raw.partition("-")
    parsed = parse_plate(raw, None)
    if not sep or parsed is None or parsed.plate.district != head.strip().upper():
        return None
    return parsed.plate.district, parsed


def parse_read(text: TextRead, districts: frozenset[str] | None,
               district_len: int | None = None) -> ParseResult | None:
    """``parse_plate`` on a recogniser's text, then, where the read has frame scores and the
    official list is known, the district replaced by the likeliest official code near the
    one read. A replaced district counts as one more fix. A text whose district is no code
    and has no single look-alike, which the grammar rejects, can become a plate this way if
    the model marked the seals' gap (``-``): the gap says it is a German plate."""
    parsed = parse_plate(text.raw, districts, district_len)
    if text.scores is None or not districts:
        return parsed
    if parsed is not None:
        # the grammar's district and, if the model set the seals apart, the text before them
        head, sep, _ = text.raw.partition("-")
        base, read = parsed, {parsed.plate.district} | ({head.strip().upper()} if sep else set())
    else:
        found = _as_read(text.raw)
        if found is None:
            return None
        base, read = found[1], {found[0]}
    plate = base.plate
    options = sorted({p for r in read for d in nearby_districts(r, districts)
                      if (p := _keeping_glyphs(plate, r, d)) is not None}
                     | ({plate} if parsed else set()), key=lambda p: p.label)
    if not options:
        return parsed
    likelihood = text.scores.log_likelihood([p.label for p in options])
    best = options[int(likelihood.argmax())]
    if not likelihood.max() > -float("inf") or (parsed is not None and best == plate):
        return parsed
    return ParseResult(best, fixes=base.fixes + 1, ambiguous=base.ambiguous, cost=base.cost + 1)


def _keeping_glyphs(plate: Plate, read: str, code: str) -> Plate | None:
    """``plate`` with ``code`` for the district ``read``, or None. A code shorter than the
    district read is only taken as its beginning, the glyphs after it moving to the letters:
    a glyph the model saw is never dropped (``BEG773E``: ``B-EG 773E``, not ``B-G 773E``)."""
    letters = plate.letters
    if len(code) < len(read):
        tail = read[len(code):]
        if (read != plate.district or read[:len(code)].translate(_FOLD) != code.translate(_FOLD)
                or len(tail) + len(letters) > 2):
            return None
        letters = tail + letters
    out = Plate(code, letters, plate.digits, plate.suffix)
    return out if len(out.compact) <= MAX_CHARS else None
