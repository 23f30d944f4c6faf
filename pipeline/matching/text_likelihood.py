"""The likelihood rule from texts: reads without CTC scores (the stock recogniser).

With the German plate model the matcher scores texts by the model's own frame scores
(``pipeline.matching.likelihood``). Without them it has only the reads' texts, so this module
gives :func:`pipeline.matching.likelihood.judge` the same inputs from a text channel:

- **Channel**: a read ``r`` of a text ``T`` has log P(r | T) = -nats(T, r), the edit distance
  of ``pipeline.matching.distance`` with every edit costing ``edit_nats + nats_per_cost *
  cost`` (cost: 0.3-0.6 for the OCR confusions of its table, 1.0 for any other substitution,
  a lost or a spurious character). ``edit_nats`` is what any misread costs, ``nats_per_cost``
  how much the cost classes tell apart (:func:`channel_nats`).
- **Car**: a car's reads share what the car shows (dirt, a bent plate, a font the
  recogniser gets wrong: an error every read repeats) and add errors of their own. The
  shown text D is the plate itself or the reads' per-character majority (``consensus``): a
  plate T explains the reads by log P = max(-frames(T), -nats(T, car) - frames(car)), with
  frames(D) the sum of nats(D, r) over the reads weighted by their votes. So a confusion
  that every read repeats counts once, as for a lone read, and confusions of single frames
  are outvoted.
- **A dropped glyph**: where the grammar dropped a glyph it took for spurious (a bolt or the
  seals read as I, a glyph read twice: ``spurious``, the text as read), that read costs
  min(``spurious_nats`` + nats(T, shortened text), nats(T, text as read)): the glyph
  spurious, as the grammar took it, or real. Without it an unregistered ``OF-XX 838`` read
  ``DFXX 838`` looked like the registered ``OF-X 838`` with one confusion (the grammar had
  made it ``DF-X 838``); with it, it is the same one confusion from the unregistered plate.
- **Texts scored**: the registered plates near the voted read, the consensus and the texts as
  read (the matcher's index), any read that is itself a registered plate, and as the
  unregistered explanation every grammatical unregistered text among the reads, the consensus
  and the texts as read (with, per edit class, the best one-edit variant of each text as
  read), and of the consensus's one-edit variants (a confusion of the table, a spurious
  character, a lost one, another last digit) the one with the highest prior per edit cost
  (:func:`best_variants`: the channel gives all of a cost the same likelihood). A read that is
  exactly a registered plate (an exact hit) is thus weighed against the unregistered plates
  one edit from it.
- **Prior** (``text_prior``): ``cells`` (default) gives an unregistered text the density of
  the registered plates of its district and shape (1-2 letters, 1-4 digits) per plate
  number of that shape (:class:`PlateCells`): the drive-in's customers are a sample of the
  cars around it, so an unregistered car is as likely to carry a plate of a district and
  shape as a customer; ``flat`` gives every unregistered plate ``1 / plates_around``
  (:func:`pipeline.matching.likelihood.prior_gap`), as the CTC rule does.

:func:`text_case` collects what does not depend on the channel's settings (for the
benchmark's replay), :func:`score_case` scores it and :func:`judge_case` decides.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from pipeline.matching.distance import (
    INDEL_COST,
    OTHER_SUBSTITUTION_COST,
    PAIR_COSTS,
    weighted_edits,
)
from pipeline.matching.likelihood import (
    Judgement,
    Scored,
    grammatical,
    judge,
    plates_of,
    prior_gap,
)
from pipeline.matching.matcher import Spurious

# Characters a read may have lost (the insertion variants of the unregistered explanation).
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"
# Pseudo-count of registered plates in every cell (a district and shape no customer has).
CELL_PSEUDO_COUNT = 0.5
_PARTNERS: dict[str, tuple[tuple[str, float], ...]] = {}
for (_a, _b), _cost in sorted(PAIR_COSTS.items()):
    _PARTNERS[_a] = (*_PARTNERS.get(_a, ()), (_b, _cost))

Cell = tuple[str, int, int]  # district, letters, digits


def cells_of(compact: str) -> tuple[Cell, ...]:
    """The (district, letters, digits) shapes ``compact`` can be read as on a German plate
    (two for ``BNO1234``: B-NO 1234 and BN-O 1234; none when it cannot be a plate)."""
    return tuple((p.district, len(p.letters), len(p.digits)) for p in plates_of(compact))


def cell_size(cell: Cell) -> int:
    """Plate numbers of a shape: 26^letters x 9 x 10^(digits - 1) (no leading zero)."""
    _, letters, digits = cell
    return 26 ** letters * 9 * 10 ** (digits - 1)


class PlateCells:
    """Registered plates per (district, letters, digits) shape, for the ``cells`` prior. A
    plate that can be read two ways counts half in each."""

    def __init__(self, compacts: Iterable[str] = ()) -> None:
        self._n: Counter[Cell] = Counter()
        for compact in compacts:
            self.add(compact)

    def add(self, compact: str, sign: float = 1.0) -> None:
        cells = cells_of(compact)
        for cell in cells:
            self._n[cell] += sign / len(cells)

    def remove(self, compact: str) -> None:
        self.add(compact, -1.0)

    def log_fill(self, compact: str) -> float:
        """log of the registered plates per plate number of ``compact``'s shape(s), summed
        over the ways it can be read (-inf when it cannot be a plate)."""
        fill = sum((max(0.0, self._n.get(c, 0.0)) + CELL_PSEUDO_COUNT) / cell_size(c)
                   for c in cells_of(compact))
        return math.log(fill) if fill > 0 else -math.inf


@lru_cache(maxsize=16)
def _sub_nats(edit_nats: float, nats_per_cost: float) -> dict[tuple[str, str], float]:
    return {k: edit_nats + nats_per_cost * v for k, v in PAIR_COSTS.items()}


@lru_cache(maxsize=1 << 18)
def channel_nats(plate: str, read: str, edit_nats: float, nats_per_cost: float,
                 lost_cost: float = INDEL_COST) -> float:
    """-log P(read | plate) up to the clean read's own: the cheapest edits that turn
    ``plate`` into ``read``, each costing ``edit_nats + nats_per_cost * cost``; a character
    of the plate the read lost costs ``lost_cost``, a spurious one 1.0."""
    if plate == read:
        return 0.0
    return weighted_edits(plate, read, _sub_nats(edit_nats, nats_per_cost),
                          edit_nats + nats_per_cost * OTHER_SUBSTITUTION_COST,
                          edit_nats + nats_per_cost * lost_cost,
                          edit_nats + nats_per_cost * INDEL_COST)


def consensus(evidence: Iterable[tuple[str, float]]) -> str:
    """Per-character weighted majority of the reads of the most-voted length."""
    evidence = tuple(evidence)
    weight: dict[int, float] = {}
    for r, w in evidence:
        weight[len(r)] = weight.get(len(r), 0.0) + w
    length = max(weight, key=lambda n: weight[n])
    same = [(r, w) for r, w in evidence if len(r) == length]
    out = []
    for i in range(length):
        votes: dict[str, float] = {}
        for r, w in same:
            votes[r[i]] = votes.get(r[i], 0.0) + w
        out.append(max(votes, key=lambda c: votes[c]))
    return "".join(out)


LOST = -1.0  # the edit class of a character the read lost (its cost: ``lost_cost``)


def one_edit_texts(text: str) -> Iterable[tuple[str, float]]:
    """Texts one edit from ``text`` (as the plate, ``text`` its read) with that edit's cost:
    each confusion of the cost table, each spurious character (the plate had one fewer),
    each character lost by the read (:data:`LOST`: the plate had one more; only those that
    keep letters among letters and digits among digits), and the last digit read for any
    other."""
    for i, ch in enumerate(text):
        for alt, cost in _PARTNERS.get(ch, ()):
            yield text[:i] + alt + text[i + 1:], cost
        yield text[:i] + text[i + 1:], INDEL_COST
    first_digit = next((i for i, ch in enumerate(text) if ch.isdigit()), len(text))
    for i in range(len(text) + 1):
        if i <= first_digit:
            for ch in _LETTERS:
                yield text[:i] + ch + text[i:], LOST
        if i >= first_digit:
            for ch in _DIGITS:
                yield text[:i] + ch + text[i:], LOST
    yield text + "E", LOST
    yield text + "H", LOST
    if text[-1:].isdigit():  # any other last digit: the plainest unregistered neighbour
        for ch in _DIGITS:
            if ch != text[-1]:
                yield text[:-1] + ch, OTHER_SUBSTITUTION_COST


def best_variants(text: str, log_fill: Callable[[str], float],
                  owner_of: Callable[[str], str | None],
                  taken: Iterable[str] = ()) -> dict[str, float]:
    """Per edit class, the unregistered plate one such edit from ``text`` with the highest
    prior (log fill): with the channel's likelihood the same for all of a class, it is the
    best unregistered explanation of that class."""
    best: dict[float, list[tuple[float, str]]] = {}
    skip = {text, *taken}
    for t, cost in one_edit_texts(text):
        if t in skip or not cells_of(t):
            continue
        best.setdefault(cost, []).append((log_fill(t), t))
    out: dict[str, float] = {}
    for cost, found in best.items():
        for _, t in sorted(found, reverse=True):
            if owner_of(t) is None:
                out.setdefault(t, cost)
                break
    return out


@dataclass(frozen=True)
class TextCase:
    """What the text rule knows of one car, independent of the channel's settings: its
    reads (text, vote), those the grammar shortened by a glyph (``spurious``: compact, text
    as read, vote), the reads' consensus, the registered texts near them with their
    customers, the grammatical unregistered texts among the reads, the consensus and the
    texts as read (``free``, with the best one-edit variants of each text as read), the
    consensus's grammatical unregistered one-edit variants with that edit's cost
    (``variants``), each unregistered text's log fill (``PlateCells``), and the number of
    registered plates."""

    reads: tuple[tuple[str, float], ...]
    car: str
    owner: Mapping[str, str]
    free: tuple[str, ...]
    variants: Mapping[str, float]
    log_fill: Mapping[str, float]
    registered: int
    spurious: Spurious = ()


def text_case(voted: str, evidence: Iterable[tuple[str, float]] | None,
              near: Callable[[str], Mapping[str, str]], owner_of: Callable[[str], str | None],
              log_fill: Callable[[str], float], registered: int,
              spurious: Iterable[tuple[str, str, float]] = ()) -> TextCase:
    """The car's case: ``near(text)``: registered plates near ``text`` with their customers
    (the index); ``owner_of(text)``: the customer of a registered text or None;
    ``spurious``: the reads the grammar shortened by a glyph (compact, as read, vote)."""
    reads = tuple(evidence or ()) or ((voted, 1.0),)
    spurious = tuple(spurious)
    car = consensus(reads)
    as_read = {s for _, s, _ in spurious}
    owner = dict(near(voted))
    for text in {car, *as_read} - {voted}:
        owner |= near(text)
    for text in {r for r, _ in reads} | {car}:
        customer = owner_of(text)
        if customer is not None:
            owner[text] = customer
    free = {t for t in {*(r for r, _ in reads), car, *as_read}
            if t not in owner and grammatical(t)}
    for text in as_read:  # the glyph real, and the read one edit from the plate
        free |= set(best_variants(text, log_fill, owner_of, free)) - owner.keys()
    variants = best_variants(car, log_fill, owner_of, free)
    fills = {t: log_fill(t) for t in (*free, *variants)}
    return TextCase(reads, car, owner, tuple(sorted(free)), variants, fills, registered,
                    spurious)


def score_case(case: TextCase, edit_nats: float, nats_per_cost: float,
               lost_cost: float = INDEL_COST, spurious_nats: float = 0.0) -> list[Scored]:
    """Each text's log-likelihood over the car's reads (see the module docstring)."""
    def nats(plate: str, read: str) -> float:
        return channel_nats(plate, read, edit_nats, nats_per_cost, lost_cost)

    shortened: dict[str, list[tuple[str, float]]] = {}
    for compact, as_read, w in case.spurious:
        shortened.setdefault(compact, []).append((as_read, w))

    def frames(shown: str) -> float:
        total = 0.0
        for r, w in case.reads:
            for as_read, part in shortened.get(r, ()):
                # the glyph spurious (as the grammar took it) or real (as read)
                total += part * min(spurious_nats + nats(shown, r), nats(shown, as_read))
                w -= part
            total += max(0.0, w) * nats(shown, r)
        return total

    via_car = frames(case.car)
    out = [Scored(t, -min(frames(t), nats(t, case.car) + via_car))
           for t in (*case.owner, *case.free)]
    out += [Scored(t, -(edit_nats + nats_per_cost * (lost_cost if cost == LOST else cost))
                   - via_car) for t, cost in case.variants.items()]
    return out


def unregistered_gaps(case: TextCase, unregistered_share: float, plates_around: int,
                      prior: str) -> dict[str, float]:
    """Per unregistered text, log (prior of one registered plate / prior of that text)."""
    if prior == "flat":
        gap = prior_gap(unregistered_share, case.registered, plates_around)
        return dict.fromkeys(case.log_fill, gap)
    odds = math.log((1 - unregistered_share) / unregistered_share)
    return {t: odds - fill for t, fill in case.log_fill.items()}


def judge_case(case: TextCase, edit_nats: float, nats_per_cost: float, lost_cost: float,
               spurious_nats: float, unregistered_share: float, plates_around: int,
               prior: str, margin: float, rival_margin: float, unregistered_margin: float,
               ambiguous: bool) -> Judgement:
    """The likelihood rule (:func:`pipeline.matching.likelihood.judge`) on a text case."""
    return judge(score_case(case, edit_nats, nats_per_cost, lost_cost, spurious_nats),
                 dict(case.owner),
                 unregistered_gaps(case, unregistered_share, plates_around, prior),
                 margin, unregistered_margin, ambiguous, rival_margin)
