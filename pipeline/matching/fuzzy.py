"""Fuzzy plate -> account matching that never guesses.

A read is compared with every registered plate through an OCR-confusion-aware weighted edit
distance (``pipeline.matching.distance``): substituting characters that OCR confuses
(``O``/``0``, ``W``/``H``, ...) costs less than an arbitrary substitution. The costs act as
negative log-likelihoods of a misread, so all reads of a car (``evidence``) are weighed together:
:func:`evidence_cost` sums each read's cost to a plate, weighted by its confidence. A registered
plate is checked in only when it is near the voted read, every one of its characters was read
by some read of the car (:func:`supported`), it explains the reads nearly as well as the best
explanation by *any* plate (the reads themselves or their per-character majority, ``slack``),
and clearly better than any other customer's plate (``margin``). So confusions that different
reads make at different places are outvoted, while a confusion that every read repeats, which
looks exactly like an unregistered car one confusion away from a customer, is never turned
into a check-in. A near read that is not clear enough goes to the operator as
``needs_review`` with its candidates; a read with nothing near is ``unregistered``.

That is the cost rule (``text_rule = "cost"``). By default (``text_rule = "likelihood"``)
reads without CTC scores are decided by the likelihood rule of
``pipeline.matching.likelihood`` instead, with the costs as the channel and the registered
plates' density by district and shape as the prior (``pipeline.matching.text_likelihood``);
reads with scores always are.

The index keeps only one dict, canonical form -> registered plates, where the canonical form
maps every character to its confusion class (``O``, ``0``, ``D``, ``Q``, ``Ö`` -> one symbol).
Every plate whose cost is below :data:`INDEX_RADIUS` differs from the read by class-internal
substitutions plus at most one other edit, so it is found by looking up the read's canonical
form and its one-edit variants (a few hundred dict probes, independent of the number of
registered plates).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from pipeline.domain import Account, Status
from pipeline.matching.distance import (
    COST_UNIT,
    INDEL_COST,
    INDEX_RADIUS,
    INF,
    canonical,
    distance_units,
    one_edit_variants,
    plate_distance,
)
from pipeline.matching.likelihood import (
    MAX_REGISTERED,
    Judgement,
    alternatives,
    car_scores,
    compact_of,
    grammatical,
    judge,
    labels_of,
    prior_gap,
    seal_places,
)
from pipeline.matching.matcher import Candidate, Evidence, MatchResult, Spurious
from pipeline.matching.text_likelihood import (
    PlateCells,
    TextCase,
    consensus,
    judge_case,
    text_case,
)
from pipeline.plate.grammar import Plate
from pipeline.reading.ctc import CharScores, best_path

TEXT_RULES = ("likelihood", "cost")
TEXT_PRIORS = ("cells", "flat")


@dataclass(frozen=True)
class MatchThresholds:
    """When a fuzzy read may check a customer in (config section ``[matching]``).

    Evidence costs below are sums over the car's reads of confidence x weighted edit distance
    (a lone read counts 1.0, so for it they are plain costs).

    ``max_cost`` (default 1.0): the accepted plate is at most this far from the voted read.
    ``review_cost`` (default 1.0): registered plates within this cost of the voted read are
    candidates; if none can be accepted the car goes to the operator as ``needs_review`` with
    them; with none the car is ``unregistered``. Must stay below 2.0.
    ``slack`` (default 0.3): the accepted plate may explain the reads at most this much worse
    than the best explanation by any plate, registered or not (about one read's worth of
    one confusion). Above it the reads look more like an unregistered car near a customer.
    ``margin`` (default 0.8): the nearest plate of any *other* customer must be at least this
    much farther, both from the car's reads taken as one (their per-character majority: an
    error every read repeats could have made that rival look like this plate) and in
    evidence cost over all reads. A customer's own second car is no rival.
    ``dropped_rival_cost`` (default 0.7): in the margin checks, a rival one character longer
    than a read counts the dropped character as this, not 1.0: OCR loses characters, and a
    read with one dropped is often exactly some other registered plate. 1.0 turns it off.
    Always, besides: every character of the accepted plate was read by some read of the car,
    and no read of the car was another customer's exact plate.
    Likelihood rule (reads with CTC scores, ``pipeline.matching.likelihood``):
    ``unregistered_share`` (default 0.2, 0.01-0.9): the share of arriving cars that are not
    registered; ``plates_around`` (default 3,000,000, 10,000-100,000,000): the plates an
    unregistered car may carry (the catchment's cars), so one unregistered plate has prior
    ``unregistered_share / plates_around`` against ``(1 - unregistered_share) / registered``
    for a registered one. ``likelihood_margin`` (nats, 0-50): the lead the checked-in plate
    needs over every other customer's plate and over the best unregistered plate (priors
    included); ``unregistered_margin`` (nats, 0-50): the lead an unregistered plate needs
    over every registered one for ``unregistered`` instead of ``needs_review``;
    ``prior_history_days`` (0-365, default 14): once the drive-in has its own history (at
    least ``prior_min_arrivals``, 10-1,000,000, default 300, cars decided as checked in or
    unregistered in that many days), ``unregistered_share`` is taken from it
    (:func:`pipeline.matching.likelihood.history_share`); 0 keeps the configured share.
    ``max_scored_reads`` (1-20, default 4: p95 4.5 ms CPU per car, 6 reads 5.0 ms): a car's
    reads that are scored (the tracker keeps the most confident first). Tuned with
    ``python -m pipeline.bench.match_reads match --sweep`` on
    tuning seed 5001 (800 cars): no margin checked in a wrong account there, so the margin is
    the smallest whose checked-in cars would hold at most one wrong account per 100,000
    passages if the likelihoods were calibrated (they looked so on that seed), with room to
    spare: 3 gives 0.55 per 100,000, 6 gives 0.15 (lone reads 4.1), 8 gives 0.03 (lone 1.0)
    for 0.15 (lone 5) points fewer check-ins. ``unregistered_margin`` 1.0: 0 and 1 report
    as many unregistered cars as unregistered (99.4 % of lone reads), 2 fewer (98.7 %).
    Reads without scores (stock model), ``text_rule`` (default ``likelihood``): the
    likelihood rule from the reads' texts (``pipeline.matching.text_likelihood``): a read
    of a text costs ``text_edit_nats`` (0-20, default 2) per misread character plus
    ``text_nats_per_cost`` (0-20, default 10) times its cost above (0.3-0.6 for OCR
    confusions, 1.0 otherwise, a lost character ``dropped_rival_cost``), so a 0.3 confusion
    costs 5 nats, a lost character 9, any other edit 12; an unregistered plate's prior is
    the registered plates' density in its district and shape (``text_prior = "cells"``) or
    one of ``plates_around`` (``"flat"``). A customer is checked in when their plate leads
    the best unregistered plate, priors included, by ``text_margin`` nats (0-50, default 6.5)
    and every other customer's by ``text_rival_margin`` (0-50, default 10); the car is
    reported unregistered when an unregistered plate leads by ``text_unregistered_margin``
    (0-50, default 2); a read of the car that was exactly another customer's plate still
    stops it, as in the cost rule. A read whose glyph the grammar dropped as spurious costs
    ``text_spurious_nats`` (0-20, default 4) for the drop, or counts with the glyph as real
    (``Passage.spurious``, ``pipeline.matching.text_likelihood``). ``text_rule = "cost"``:
    the cost rule (max_cost .. dropped_rival_cost, :func:`decide`). The text likelihood's
    settings were chosen with ``python -m pipeline.bench.match_simulation --seed 1 --frames 1
    --sweep`` (tuning seed 1; the multi-frame modes checked there and on seed 3, see that
    module): with one lone read per car, margin 6.5 checks in 48.7 % of the one-confusion
    reads the grammar parses (the cost rule 37.0 %) for 8 wrong accounts, 7 of them exact
    hits (the cost rule: the same 7); channels (2, 6), (1, 12), (3, 8) came within half a
    point of (2, 10); a rival margin below 10 lets plates one lost character away (9 nats)
    through, 11 more exact hits; an unregistered margin of 2 reports 98.9 % of clean
    unregistered cars unregistered (0: 99.7 %, but twice as many misread registered cars
    reported unregistered instead of sent to review). History of the margin: 7 on seed 1,
    then 7.5 because seed 3, the second look, checked in one wrong account more with errors
    every read repeats (a lead of 7.2). That car, and one more of seed 2's default mode
    (reporting seed), were texts the grammar had fixed by dropping a glyph: an unregistered
    ``OF-XX 838`` read ``DFXX 838`` became ``DFX838`` (then ``OF-X 838``), a ``DI-ES 8494``
    read without its D lost its I as a spurious glyph (``ES8494``, then ``FS8494``). Since
    2026-12-02 the rule also weighs the glyph as real (``text_spurious_nats``); 4 nats is
    the least of 2-6 that stops seed 3's car at 6.5 (replayed on seeds 1 and 3), and the
    check-ins hardly depend on it (seed 1: registered cars checked in within 0.05 points
    from 2 to 5). With it, 6.5 is the least margin (half-nat steps, ``--sweep``) with at
    most one wrong account beyond exact hits in every mode of both tuning seeds: lone reads
    1 and 1 (6.0: 2 on seed 1), errors every read repeats 0 and 0, a confusion of each
    read's own 0 and 1 (the same car at 7.5).
    Reported on seed 2 with
    ``python -m pipeline.bench.match_simulation --seed 2 --frames 1`` (``--rule cost`` for
    the cost rule): one-confusion reads 45.2 % checked in (cost rule 33.9 %; 62.3 % of
    ``match_bound``'s 72.5 %, 75.2 % of its 60.1 % after the grammar, 84.4 % of its joint
    bound, 53.5 %, where every class of read shares the one wrong account; 90.5 % of the
    49.9 % the simulation's own model checks in as the rule at one wrong account,
    ``--calibration --oracle``), clean registered 96.66 % (the same), clean unregistered
    reported unregistered 98.82 % (91.79 %), 7 wrong accounts of which 6 the cost rule's
    exact hits (6), CPU p95 1.2 ms; without ``--frames 1`` 2 wrong accounts (1 exact hit;
    cost rule 3), with ``--each-read`` see that module. Seed 4 (never used for a choice):
    44.0 %, 89.8 % of the model rule's 49.0 %, no wrong account beyond exact hits.
    The cost rule's thresholds were tuned with
    ``python -m pipeline.bench.match_simulation --seed 1 --sweep --rule cost`` (see there):
    on the tuning seed slack 0.45 and more checked in wrong accounts when every read carries a
    confusion of its own; the margin on the reads taken as one removed 8 of 12 wrong accounts
    when every read repeats the car's error.
    """

    max_cost: float = 1.0
    margin: float = 0.8
    review_cost: float = 1.0
    slack: float = 0.3
    dropped_rival_cost: float = 0.7
    max_candidates: int = 5
    # Likelihood rule (reads with CTC scores; see pipeline.matching.likelihood)
    unregistered_share: float = 0.2
    plates_around: int = 3_000_000
    likelihood_margin: float = 6.0
    unregistered_margin: float = 1.0
    max_scored_reads: int = 4
    prior_history_days: int = 14
    prior_min_arrivals: int = 300
    # Reads without scores (stock model): the likelihood rule from texts, or the costs above
    text_rule: str = "likelihood"
    text_edit_nats: float = 2.0
    text_nats_per_cost: float = 10.0
    text_margin: float = 6.5
    text_rival_margin: float = 10.0
    text_unregistered_margin: float = 2.0
    text_prior: str = "cells"
    text_spurious_nats: float = 4.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_cost <= self.review_cost < INDEX_RADIUS:
            raise ValueError("matching thresholds need 0 <= max_cost <= review_cost < 2.0")
        if not 0.0 <= self.dropped_rival_cost <= INDEL_COST:
            raise ValueError("dropped_rival_cost must be between 0 and 1.0")
        if self.margin < 0 or self.slack < 0:
            raise ValueError("matching margin and slack must not be negative")
        if self.max_candidates < 1:
            raise ValueError("max_candidates must be at least 1")
        if not 0.01 <= self.unregistered_share <= 0.9:
            raise ValueError("unregistered_share must be between 0.01 and 0.9")
        if not 10_000 <= self.plates_around <= 100_000_000:
            raise ValueError("plates_around must be between 10,000 and 100,000,000")
        if not 0.0 <= self.likelihood_margin <= 50.0 or not 0.0 <= self.unregistered_margin <= 50.0:
            raise ValueError("likelihood_margin and unregistered_margin must be 0 to 50 nats")
        if not 1 <= self.max_scored_reads <= 20:
            raise ValueError("max_scored_reads must be between 1 and 20")
        if not 0 <= self.prior_history_days <= 365:
            raise ValueError("prior_history_days must be between 0 and 365")
        if not 10 <= self.prior_min_arrivals <= 1_000_000:
            raise ValueError("prior_min_arrivals must be between 10 and 1,000,000")
        if self.text_rule not in TEXT_RULES:
            raise ValueError(f"text_rule must be one of {', '.join(TEXT_RULES)}")
        if self.text_prior not in TEXT_PRIORS:
            raise ValueError(f"text_prior must be one of {', '.join(TEXT_PRIORS)}")
        if not all(0.0 <= n <= 20.0 for n in (self.text_edit_nats, self.text_nats_per_cost,
                                               self.text_spurious_nats)):
            raise ValueError("text_edit_nats, text_nats_per_cost and text_spurious_nats "
                             "must be 0 to 20 nats")
        if not all(0.0 <= m <= 50.0 for m in (self.text_margin, self.text_rival_margin,
                                               self.text_unregistered_margin)):
            raise ValueError("text_margin, text_rival_margin and text_unregistered_margin "
                             "must be 0 to 50 nats")


def evidence_cost(plate: str, evidence: Evidence, dropped_cost: float = INDEL_COST) -> float:
    """How badly ``plate`` explains the car's reads: the confidence-weighted sum of each
    read's distance to it. ``dropped_cost``: a read one character shorter than ``plate``
    pays this instead of 1.0 for the missing character."""
    discount = INDEL_COST - dropped_cost
    return sum(w * (plate_distance(r, plate) - (discount if len(plate) == len(r) + 1 else 0.0))
               for r, w in evidence)


def supported(plate: str, evidence: Evidence) -> bool:
    """Was every character of ``plate`` read, at its place, by some read of its length?"""
    same = [r for r, _ in evidence if len(r) == len(plate)]
    return bool(same) and all(any(r[i] == ch for r in same) for i, ch in enumerate(plate))


def decide(read: str, candidates: list[Candidate], thresholds: MatchThresholds,
           ambiguous: bool = False, evidence: Evidence | None = None,
           other_owners: frozenset[str] = frozenset()) -> tuple[str, Candidate | None]:
    """The matching rule for ``read`` on its candidates sorted by cost: (status, accepted
    candidate or None). ``evidence``: the passage's reads (None: ``read`` alone);
    ``other_owners``: customers whose registered plate is exactly one of the *other* reads
    of the car. Pure, so the benchmark can replay thresholds without searching."""
    near = [c for c in candidates if c.cost <= thresholds.review_cost]
    if not near:
        return (Status.NEEDS_REVIEW, None) if other_owners else (Status.UNREGISTERED, None)
    evidence = evidence or ((read, 1.0),)
    costs = {c.compact: evidence_cost(c.compact, evidence) for c in near}
    best = min(near, key=lambda c: (costs[c.compact], c.cost))
    best_cost = costs[best.compact]
    rivals = [c.compact for c in near if c.customer_number != best.customer_number]
    drc = thresholds.dropped_rival_cost
    # the reads as one: a rival this near it could be the car under an error every read makes
    car = consensus(evidence)
    rival_read = min((evidence_cost(r, ((car, 1.0),), drc) for r in rivals), default=INF)
    rival_evidence = min((evidence_cost(r, evidence, drc) for r in rivals), default=INF)
    free = min(evidence_cost(text, evidence) for text in {car, *(r for r, _ in evidence)})
    if (not ambiguous and best.cost <= thresholds.max_cost
            and supported(best.compact, evidence)
            and best_cost - free <= thresholds.slack + 1e-9
            and rival_read - plate_distance(car, best.compact) >= thresholds.margin - 1e-9
            and rival_evidence - best_cost >= thresholds.margin - 1e-9
            and not other_owners - {best.customer_number}):
        return Status.MATCHED, best
    return Status.NEEDS_REVIEW, None


def guarded(verdict: Judgement, owner: Mapping[str, str],
            other_owners: frozenset[str]) -> str:
    """The text likelihood rule's status after the text rule's guard that no likelihood
    captures: when a read of the car (other than the voted one) was exactly another
    customer's plate, nobody else is checked in and the car is not called unregistered."""
    if verdict.status == Status.MATCHED and verdict.best is not None \
            and other_owners - {owner[verdict.best]}:
        return Status.NEEDS_REVIEW
    if verdict.status == Status.UNREGISTERED and other_owners:
        return Status.NEEDS_REVIEW
    return verdict.status


def judge_text(case: TextCase, t: MatchThresholds, ambiguous: bool = False) -> Judgement:
    """The likelihood rule on a car's texts (no scores) with the text settings of ``t``,
    before the guards of :meth:`FuzzyMatcher._match_text` (:func:`guarded`)."""
    return judge_case(case, t.text_edit_nats, t.text_nats_per_cost, t.dropped_rival_cost,
                      t.text_spurious_nats, t.unregistered_share, t.plates_around,
                      t.text_prior, t.text_margin, t.text_rival_margin,
                      t.text_unregistered_margin, ambiguous)


class FuzzyMatcher:
    """Matches reads against the registered plates; see the module docstring for the rule.

    ``account_lookup`` maps a customer number to its account (e.g. ``SqliteStore.account``).
    ``add``/``remove``/``rebuild`` keep the index in step with account imports; they are
    thread-safe against concurrent ``match`` calls."""

    def __init__(self, plates: Iterable[tuple[str, str]],
                 account_lookup: Callable[[str], Account | None],
                 thresholds: MatchThresholds | None = None) -> None:
        self.account_lookup = account_lookup
        self.thresholds = thresholds or MatchThresholds()
        self._lock = threading.Lock()
        self._owner: dict[str, str] = {}
        self._index: dict[str, list[str]] = {}
        self.rebuild(plates)

    def __len__(self) -> int:
        return len(self._owner)

    def rebuild(self, plates: Iterable[tuple[str, str]]) -> None:
        """Replace the whole index (after ``accounts import --replace``)."""
        owner: dict[str, str] = {}
        index: dict[str, list[str]] = {}
        for compact, customer in plates:
            if compact in owner:
                index[canonical(compact)].remove(compact)
            owner[compact] = customer
            index.setdefault(canonical(compact), []).append(compact)
        cells = PlateCells(owner)
        with self._lock:
            self._owner, self._index, self._cells = owner, index, cells

    def add(self, compact: str, customer_number: str) -> None:
        """Register (or re-assign) one plate."""
        with self._lock:
            if compact not in self._owner:
                self._index.setdefault(canonical(compact), []).append(compact)
                self._cells.add(compact)
            self._owner[compact] = customer_number

    def remove(self, compact: str) -> bool:
        """Forget one plate; False when it was not registered."""
        with self._lock:
            if self._owner.pop(compact, None) is None:
                return False
            self._cells.remove(compact)
            key = canonical(compact)
            bucket = self._index[key]
            bucket.remove(compact)
            if not bucket:
                del self._index[key]
            return True

    def candidates(self, compact: str, within: float | None = None) -> list[Candidate]:
        """Registered plates within ``within`` (default ``review_cost``; below 2.0) of
        ``compact``, nearest first."""
        limit = round((self.thresholds.review_cost if within is None else within) * COST_UNIT)
        variants = one_edit_variants(canonical(compact))
        seen: set[str] = set()
        out: list[tuple[int, str]] = []
        with self._lock:
            index, owner = self._index, self._owner
            for variant in variants:
                bucket = index.get(variant)
                if not bucket:
                    continue
                for plate in bucket:
                    if plate in seen:
                        continue
                    seen.add(plate)
                    cost = 0 if plate == compact else distance_units(compact, plate)
                    if cost <= limit:
                        out.append((cost, plate))
            out.sort()
            return [Candidate(p, owner[p], c / COST_UNIT) for c, p in out]

    def owners(self, compacts: Iterable[str]) -> frozenset[str]:
        """Customers whose registered plate is exactly one of ``compacts``."""
        with self._lock:
            return frozenset(self._owner[c] for c in compacts if c in self._owner)

    def match(self, plate: Plate, ambiguous: bool = False,
              evidence: Evidence | None = None,
              scores: Sequence[CharScores] = (), spurious: Spurious = ()) -> MatchResult:
        """Match a passage's voted plate; ``ambiguous`` (the grammar found two readings) never
        checks in; ``evidence`` (all the car's reads) lets the rule see which characters
        the reads agreed on, and which other registered plates some read was. With the
        reads' CTC ``scores`` the likelihood rule decides (``pipeline.matching.likelihood``);
        without (stock recogniser) the text rule: by default the likelihood rule on the
        texts (``pipeline.matching.text_likelihood``, which also weighs the reads whose glyph
        the grammar dropped as they were read, ``spurious``), with ``text_rule = "cost"`` the
        cost rule of this module."""
        if scores:
            return self._match_likelihood(plate, ambiguous, scores)
        if self.thresholds.text_rule == "likelihood":
            return self._match_text(plate, ambiguous, evidence, spurious)
        cands = self.candidates(plate.compact)
        others = self.owners(r for r, _ in evidence or () if r != plate.compact)
        status, best = decide(plate.compact, cands, self.thresholds, ambiguous, evidence,
                              others)
        listed = tuple(cands[:self.thresholds.max_candidates])
        if best is not None:
            return self._result(status, best.compact, best.cost, listed)
        return self._result(status, None, cands[0].cost if cands else None, listed)

    def judge(self, plate: Plate, scores: Sequence[CharScores],
              ambiguous: bool = False) -> tuple[Judgement, dict[str, str]]:
        """The likelihood rule on a car's reads: its judgement and the registered plates it
        scored with their customers (for the benchmark's replay)."""
        t = self.thresholds
        reads = list(scores[:t.max_scored_reads])
        labels: dict[str, set[str]] = {}
        for s in reads:
            for text in alternatives(s):
                labels.setdefault(compact_of(text), set()).add(text)
        seals = seal_places(best_path(s.log_probs, s.charset) for s in reads)
        near = self.candidates(plate.compact, INDEX_RADIUS - 0.1)[:MAX_REGISTERED]
        with self._lock:
            owner = {c: self._owner[c] for c in labels if c in self._owner}
            registered = len(self._owner)
        owner |= {c.compact: c.customer_number for c in near}
        labels = {c: v for c, v in labels.items() if c in owner or grammatical(c)}
        for c in {*owner, plate.compact}:
            labels.setdefault(c, set()).update(labels_of(c, seals))
        scored = car_scores(reads, labels)
        prior = prior_gap(t.unregistered_share, registered, t.plates_around)
        return judge(scored, owner, prior, t.likelihood_margin, t.unregistered_margin,
                     ambiguous), owner

    def text_case(self, plate: Plate, evidence: Evidence | None = None,
                  spurious: Spurious = ()) -> TextCase:
        """What the text likelihood rule scores for a car (``text_likelihood.text_case``)."""
        def near(text: str) -> dict[str, str]:
            return {c.compact: c.customer_number
                    for c in self.candidates(text, INDEX_RADIUS - 0.1)[:MAX_REGISTERED]}

        with self._lock:
            owner, cells, registered = self._owner, self._cells, len(self._owner)
        return text_case(plate.compact, evidence, near, owner.get, cells.log_fill, registered,
                         spurious)

    def _match_text(self, plate: Plate, ambiguous: bool, evidence: Evidence | None,
                    spurious: Spurious) -> MatchResult:
        case = self.text_case(plate, evidence, spurious)
        verdict = judge_text(case, self.thresholds, ambiguous)
        others = self.owners(r for r, _ in evidence or () if r != plate.compact)
        return self._judged(plate, guarded(verdict, case.owner, others), verdict, case.owner)

    def _match_likelihood(self, plate: Plate, ambiguous: bool,
                          scores: Sequence[CharScores]) -> MatchResult:
        verdict, owner = self.judge(plate, scores, ambiguous)
        return self._judged(plate, verdict.status, verdict, owner)

    def _judged(self, plate: Plate, status: str, verdict: Judgement,
                owner: Mapping[str, str]) -> MatchResult:
        """A likelihood verdict (CTC or text) as a result: the likeliest customers listed."""
        listed = tuple(Candidate(s.compact, owner[s.compact],
                                 plate_distance(plate.compact, s.compact), s.log_likelihood)
                       for s in verdict.ranked[:self.thresholds.max_candidates])
        cost = listed[0].cost if listed else None
        return self._result(status, verdict.best, cost, listed)

    def _result(self, status: str, best: str | None, cost: float | None,
                listed: tuple[Candidate, ...]) -> MatchResult:
        if status == Status.MATCHED and best is not None:
            with self._lock:
                customer = self._owner.get(best)
            account = self.account_lookup(customer) if customer is not None else None
            if account is not None:
                return MatchResult(Status.MATCHED, account, cost=cost, plate=best,
                                   candidates=listed)
            # The index is ahead of the store (account just removed): let a person decide.
            status = Status.NEEDS_REVIEW
        if status == Status.NEEDS_REVIEW:
            return MatchResult(Status.NEEDS_REVIEW, None, cost=cost, candidates=listed)
        return MatchResult(Status.UNREGISTERED)
