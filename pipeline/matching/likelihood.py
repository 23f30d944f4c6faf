"""Likelihood matching: which registered plate, if any, did the model see in a car's reads?

The greedy text of a read throws away what the recogniser was unsure about (a W that could
have been an N, or a clean N). With the per-frame CTC scores of each read (``CharScores``) the
matcher asks the model directly: for every plausible text T, log P(T | read), summed over the
car's reads (:func:`car_scores`). The texts scored are the registered plates near the voted
read (from the matcher's index) and the model's own alternatives (:func:`alternatives`: each
read's best path, its likeliest single substitutions and deletions), among which the
registered ones are rivals and the grammatical unregistered ones the other explanation.

The rule (:func:`judge`), with ``u`` the share of unregistered cars, ``N`` the registered
plates and ``C`` the plates around the drive-in (so an unregistered car is one given plate with
prior ``u / C``, a registered one ``(1 - u) / N``):

- check in the best registered plate P when it beats every other customer's plate by
  ``likelihood_margin`` nats and the best unregistered plate, priors included, by as much;
- report ``unregistered`` when the best unregistered plate beats every registered plate,
  priors included, by ``unregistered_margin`` nats (or no registered plate is plausible);
- otherwise ``needs_review``, with the registered plates most likely first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pipeline.domain import Status
from pipeline.plate.districts import district_codes
from pipeline.plate.grammar import Plate
from pipeline.reading.ctc import BLANK, CharScores, log_likelihood_reads, squeeze_blanks

SEAL = "-"  # the plate model's mark for the seals' gap
# Registered plates scored at most (nearest by text first), and alternatives per position.
MAX_REGISTERED = 16
ALTERNATIVES_PER_CHAR = 2
# A registered plate less likely than the best text by more than this (nats) is no candidate
# for the operator either.
PLAUSIBLE_NATS = 30.0

_REST = re.compile(r"([A-Z]{1,2})([1-9][0-9]{0,3})([EH]?)")  # after the district


@lru_cache(maxsize=1)
def _districts() -> frozenset[str]:
    return district_codes()


@lru_cache(maxsize=1 << 18)
def plates_of(compact: str) -> tuple[Plate, ...]:
    """Every way ``compact`` can be on a German car: an official district, 1-2 letters, 1-4
    digits without a leading zero, an optional E/H, at most 8 characters (two for
    ``BNO1234``: B-NO 1234 and BN-O 1234; none when it cannot be a plate)."""
    if len(compact) > 8:
        return ()
    return tuple(Plate(compact[:d], m[1], m[2], m[3]) for d in (1, 2, 3)
                 if compact[:d] in _districts() and (m := _REST.fullmatch(compact[d:])))


def grammatical(compact: str) -> bool:
    """Could ``compact`` be on a German car (:func:`plates_of`)?"""
    return bool(plates_of(compact))


def labels_of(compact: str, seals: frozenset[int] | None = None) -> tuple[str, ...]:
    """How the plate model may write ``compact``: the seals' mark after a 1-3 letter
    district (each split that leaves letters after it), or no mark at all. ``seals``: only
    the splits at these places, where the car's reads put the mark (the rest are far less
    likely, and scoring them is most of a match's time), or all when none of them fits."""
    splits = [d for d in (1, 2, 3) if len(compact) > d + 1 and compact[:d + 1].isalpha()]
    if seals is not None and any(d in seals for d in splits):
        return tuple(compact[:d] + SEAL + compact[d:] for d in splits if d in seals)
    return (compact, *(compact[:d] + SEAL + compact[d:] for d in splits))


def seal_places(texts: Iterable[str]) -> frozenset[int]:
    """Where the reads' texts put the seals' mark (characters before it)."""
    return frozenset(t.index(SEAL) for t in texts if SEAL in t)


def compact_of(text: str) -> str:
    return text.replace(SEAL, "").replace(" ", "")


def alternatives(scores: CharScores) -> set[str]:
    """The model's own nearby texts for one read: its best path, every single substitution
    by one of the ``ALTERNATIVES_PER_CHAR`` characters it found likeliest where it read that
    character, and every single deletion."""
    lp = scores.log_probs
    best = lp.argmax(1)
    spans: list[tuple[int, int, int]] = []  # (class, first frame, last frame)
    for t, k in enumerate(best):
        if k == BLANK:
            continue
        if spans and spans[-1][0] == k and spans[-1][2] == t - 1:
            spans[-1] = (k, spans[-1][1], t)
        else:
            spans.append((int(k), t, t))
    chars = [scores.charset[k - 1] for k, _, _ in spans]
    out = {"".join(chars)}
    for j, (k, a, b) in enumerate(spans):
        if chars[j] == SEAL:
            continue
        seen = lp[a:b + 1].max(0)
        seen[[BLANK, k]] = -np.inf
        for alt in np.argsort(seen)[::-1][:ALTERNATIVES_PER_CHAR]:
            out.add("".join(chars[:j] + [scores.charset[alt - 1]] + chars[j + 1:]))
        out.add("".join(chars[:j] + chars[j + 1:]))
    return {t for t in out if t}


@dataclass(frozen=True)
class Scored:
    """A compact plate and its log-likelihood summed over the car's reads."""

    compact: str
    log_likelihood: float


def car_scores(reads: Sequence[CharScores], labels: dict[str, set[str]]) -> list[Scored]:
    """Each compact text's log-likelihood summed over ``reads``; ``labels``: the ways the
    model may write it (``labels_of``, or the read's own text), each read taking the best."""
    if not reads or not labels:
        return []
    compacts = list(labels)
    texts: list[str] = []
    owner: list[int] = []
    for i, c in enumerate(compacts):
        for label in sorted(labels[c]):
            texts.append(label)
            owner.append(i)
    squeezed = [squeeze_blanks(r.log_probs) for r in reads]
    per_read = log_likelihood_reads(squeezed, reads[0].charset, texts)  # reads x texts
    best = np.full((len(compacts), len(reads)), -np.inf)
    np.maximum.at(best, np.array(owner), per_read.T)
    total = best.sum(1)
    return [Scored(c, float(v)) for c, v in zip(compacts, total, strict=True)]


@dataclass(frozen=True)
class Judgement:
    """The likelihood rule's outcome: status, the accepted (or likeliest) registered plate,
    its lead in nats over the best unregistered plate (priors included) and over the best
    other customer's plate, and the registered plates most likely first."""

    status: str
    best: str | None
    over_unregistered: float
    over_rival: float
    ranked: tuple[Scored, ...]


def prior_gap(unregistered_share: float, registered: int, plates_around: int) -> float:
    """log of (prior of one registered plate) / (prior of one unregistered plate)."""
    return (math.log((1 - unregistered_share) / max(1, registered))
            - math.log(unregistered_share / max(1, plates_around)))


def history_share(counts: Mapping[str, int], minimum: int) -> float | None:
    """The share of unregistered cars among a drive-in's decided arrivals (``counts``: reads
    by status), within the bounds ``unregistered_share`` allows; None below ``minimum``
    decided cars. Cars still for review and dismissed reads (no car) are not counted; a
    misread registered car reported unregistered counts as unregistered, which the rule's
    0 wrong accounts keep rare."""
    unregistered = counts.get(Status.UNREGISTERED, 0)
    decided = unregistered + counts.get(Status.MATCHED, 0)
    if decided < minimum:
        return None
    return min(0.9, max(0.01, unregistered / decided))


def lead_status(over_unregistered: float, over_rival: float, margin: float,
                rival_margin: float, unregistered_margin: float, ambiguous: bool = False) -> str:
    """The decision from the likeliest customer's leads (nats, -inf when there is none):
    checked in when it leads the best unregistered plate by ``margin`` and every other
    customer by ``rival_margin`` (never when the read is ambiguous), unregistered when an
    unregistered plate leads by ``unregistered_margin``, else review."""
    if not ambiguous and over_unregistered >= margin and over_rival >= rival_margin:
        return Status.MATCHED
    if over_unregistered <= -unregistered_margin:
        return Status.UNREGISTERED
    return Status.NEEDS_REVIEW


def judge(scored: Sequence[Scored], owner: dict[str, str], prior: float | Mapping[str, float],
          likelihood_margin: float, unregistered_margin: float,
          ambiguous: bool = False, rival_margin: float | None = None) -> Judgement:
    """The rule on scored texts (pure, for replay): ``owner`` maps each registered compact
    among them to its customer, ``prior`` is :func:`prior_gap`, or per unregistered compact
    its own gap (the text rule's prior by district and shape; a text without one does not
    count). Unregistered texts count only when :func:`grammatical`. ``rival_margin``: the
    lead needed over other customers' plates when it differs from ``likelihood_margin``."""
    registered = sorted((s for s in scored if s.compact in owner),
                        key=lambda s: -s.log_likelihood)
    unowned = [s for s in scored if s.compact not in owner and grammatical(s.compact)]
    if isinstance(prior, Mapping):
        unowned = [s for s in unowned if s.compact in prior]
        # the best unregistered text with its own prior, put on the flat prior's scale (0)
        free_with_prior = max((s.log_likelihood - prior[s.compact] for s in unowned),
                              default=-math.inf)
        gap = 0.0
    else:
        free_with_prior = max((s.log_likelihood for s in unowned), default=-math.inf)
        gap = prior
    free = max((s.log_likelihood for s in unowned), default=-math.inf)
    top = max([free, *(s.log_likelihood for s in registered)], default=-math.inf)
    ranked = tuple(s for s in registered if s.log_likelihood > top - PLAUSIBLE_NATS
                   and s.log_likelihood > -math.inf)
    if not ranked:
        return Judgement(Status.UNREGISTERED, None, -math.inf, -math.inf, ())
    best = ranked[0]
    rival = max((s.log_likelihood for s in ranked
                 if owner[s.compact] != owner[best.compact]), default=-math.inf)
    over_unregistered = best.log_likelihood + gap - free_with_prior
    over_rival = best.log_likelihood - rival
    status = lead_status(over_unregistered, over_rival, likelihood_margin,
                         likelihood_margin if rival_margin is None else rival_margin,
                         unregistered_margin, ambiguous)
    return Judgement(status, best.compact, over_unregistered, over_rival, ranked)
