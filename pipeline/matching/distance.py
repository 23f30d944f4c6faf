"""The OCR-confusion-aware distance between plates, and the canonical form that indexes it.

Substituting characters that OCR confuses (``O``/``0``, ``W``/``H``, ...) costs less than an
arbitrary substitution; the costs act as negative log-likelihoods of a misread. The canonical
form maps every character to its confusion class, so every plate within :data:`INDEX_RADIUS`
of a read is found among the read's canonical form and its one-edit variants.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

# Costs are kept in tenths (integers) so that sums compare exactly: 0.3 + 0.3 == 0.6.
COST_UNIT = 10
INDEL_COST = 1.0
OTHER_SUBSTITUTION_COST = 1.0

# Confusable substitutions and their cost. Why each pair is here:
#  0.3  letter/digit shapes that are the same glyph at plate resolution (named in issue 6:
#       O/0, D/0, I/1, B/8, S/5, Z/2, G/6), O/D/Q (round letters, blur: seen in the
#       fine-tune trial, shared/notes/recogniser-fine-tune.md) and lost umlaut dots
#       (A/Ä, O/Ö, U/Ü: tiny marks, and the stock english_g2 recogniser has no umlauts).
#  0.4  I/L/J/1 (thin verticals; seen in the trial on blurry crops) and W/H (FE-Schrift's
#       narrow W read as H in 4 of the trial's 5 remaining errors).
#  0.5  E/F (lower bar lost), M with W/H/N, H/N, P/R, C/G, K/X, U/V, A/4, T/7, 1/7: common in
#       OCR on worn or skewed plates but less systematic.
#  0.6  digit/digit blur (3/8): plausible, but the digit space is dense, so it stays above the
#       default max_cost on its own and sends the read to review rather than to an account.
_CONFUSABLE: dict[float, tuple[str, ...]] = {
    0.3: ("O0", "D0", "OD", "OQ", "Q0", "I1", "B8", "S5", "Z2", "G6", "AÄ", "OÖ", "UÜ"),
    0.4: ("IL", "IJ", "L1", "J1", "DQ", "WH"),
    0.5: ("EF", "MW", "MH", "MN", "HN", "PR", "CG", "KX", "UV", "A4", "T7", "17", "QÖ", "0Ö"),
    0.6: ("38",),
}
PAIR_COSTS: dict[tuple[str, str], float] = {
    (pair[0], pair[1]): cost for cost, pairs in _CONFUSABLE.items() for pair in pairs
} | {(pair[1], pair[0]): cost for cost, pairs in _CONFUSABLE.items() for pair in pairs}
_PAIR_UNITS: dict[tuple[str, str], int] = {k: round(v * COST_UNIT) for k, v in PAIR_COSTS.items()}
_INDEL = round(INDEL_COST * COST_UNIT)
_OTHER = round(OTHER_SUBSTITUTION_COST * COST_UNIT)

# Plates at a cost below this are guaranteed to be found by the index (two edits outside the
# confusion classes cost at least 2.0); review_cost must stay below it.
INDEX_RADIUS = 2.0
INF = float("inf")


def substitution_cost(a: str, b: str) -> float:
    """Cost of reading ``b`` where the plate has ``a`` (symmetric)."""
    if a == b:
        return 0.0
    return PAIR_COSTS.get((a, b), OTHER_SUBSTITUTION_COST)


Cost = TypeVar("Cost", int, float)


def weighted_edits(plate: str, read: str, pair: Mapping[tuple[str, str], Cost], other: Cost,
                   lost: Cost, spurious: Cost) -> Cost:
    """The cheapest edits that turn ``plate`` into ``read``: reading ``b`` for ``a`` costs
    ``pair[a, b]`` (``other`` for a pair not in it), a character of the plate the read lost
    ``lost``, a spurious one ``spurious``. The one dynamic programme behind
    :func:`plate_distance` (integer tenths) and the text rule's channel (nats)."""
    prev = [j * spurious for j in range(len(read) + 1)]
    for i, a in enumerate(plate, 1):
        cur = [i * lost]
        for j, b in enumerate(read, 1):
            sub = prev[j - 1] if a == b else prev[j - 1] + pair.get((a, b), other)
            cur.append(min(sub, prev[j] + lost, cur[j - 1] + spurious))
        prev = cur
    return prev[-1]


def distance_units(a: str, b: str) -> int:
    """:func:`plate_distance` in integer tenths (sums compare exactly)."""
    return weighted_edits(a, b, _PAIR_UNITS, _OTHER, _INDEL, _INDEL)


def plate_distance(a: str, b: str) -> float:
    """Weighted edit distance between two compact plates (``OFAB123``): confusable
    substitutions cost 0.3-0.6 (see ``PAIR_COSTS``), other substitutions and insertions or
    deletions 1.0. Symmetric, zero only for equal plates."""
    if a == b:
        return 0.0
    return distance_units(a, b) / COST_UNIT


def _confusion_classes() -> dict[str, str]:
    """Character -> representative of its connected component in the confusion graph."""
    parent: dict[str, str] = {}

    def find(c: str) -> str:
        parent.setdefault(c, c)
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for a, b in PAIR_COSTS:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {c: find(c) for c in parent}


_CLASS = _confusion_classes()
_CANON_TABLE = str.maketrans(_CLASS)
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ0123456789"
CANONICAL_SYMBOLS: tuple[str, ...] = tuple(sorted({_CLASS.get(c, c) for c in _ALPHABET}))


def canonical(compact: str) -> str:
    """The plate with every character replaced by its confusion class representative."""
    return compact.translate(_CANON_TABLE)


def one_edit_variants(key: str) -> set[str]:
    """``key`` and every string one insertion, deletion or substitution away from it, over the
    canonical alphabet."""
    out = {key}
    for i in range(len(key) + 1):
        head, tail = key[:i], key[i:]
        if tail:
            out.add(head + tail[1:])
            for s in CANONICAL_SYMBOLS:
                out.add(head + s + tail[1:])
        for s in CANONICAL_SYMBOLS:
            out.add(head + s + tail)
    return out
