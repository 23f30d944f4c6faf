"""Plate -> customer account. Exact on the compact form for now; never a guessed account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pipeline.domain import Account, Status
from pipeline.plate.grammar import Plate
from pipeline.reading.ctc import CharScores


class PlateLookup(Protocol):
    """The one thing the matcher needs from a store."""

    def account_for_plate(self, compact: str) -> Account | None:
        ...


@dataclass(frozen=True)
class Candidate:
    """A registered plate near a read: compact plate, its customer, the weighted cost and,
    when the reads had scores, its log-likelihood over the car's reads."""

    compact: str
    customer_number: str
    cost: float
    log_likelihood: float | None = None


@dataclass(frozen=True)
class MatchResult:
    """The match outcome. ``cost``/``plate``: the accepted (or nearest) registered plate's
    distance and compact form; ``candidates``: the nearest plates, for the review queue."""

    status: str
    account: Account | None = None
    cost: float | None = None
    plate: str | None = None
    candidates: tuple[Candidate, ...] = ()


# A passage's reads: each distinct plate (compact) with its confidence-weighted vote.
Evidence = tuple[tuple[str, float], ...]
# Its reads the grammar shortened by a glyph it took for spurious: (compact, the text as read
# with that glyph, vote); their votes are part of their compact's in the evidence.
Spurious = tuple[tuple[str, str, float], ...]


def lone_spurious(compact: str, as_read: str) -> Spurious:
    """``spurious`` of a car read once as ``compact``; ``as_read``: the grammar's
    ``ParseResult.as_read`` (empty when it dropped no glyph)."""
    return ((compact, as_read, 1.0),) if as_read else ()


class Matcher(Protocol):
    """Plate -> match outcome; ``ambiguous`` reads (two equally good plate readings) must
    never check a customer in; ``evidence`` is every plate the car was read as, with its
    vote (None: a lone read); ``scores``: the reads' CTC scores, where the model gave them;
    ``spurious``: the reads whose glyph the grammar dropped, as read."""

    def match(self, plate: Plate, ambiguous: bool = False,
              evidence: Evidence | None = None,
              scores: Sequence[CharScores] = (), spurious: Spurious = ()) -> MatchResult:
        ...


class ExactMatcher:
    """Matches a plate when its compact form is registered, else reports it unregistered."""

    def __init__(self, lookup: PlateLookup) -> None:
        self.lookup = lookup

    def match(self, plate: Plate, ambiguous: bool = False,
              evidence: Evidence | None = None,
              scores: Sequence[CharScores] = (), spurious: Spurious = ()) -> MatchResult:
        account = self.lookup.account_for_plate(plate.compact)
        if account is None:
            return MatchResult(Status.UNREGISTERED)
        if ambiguous:
            return MatchResult(Status.NEEDS_REVIEW, plate=plate.compact)
        return MatchResult(Status.MATCHED, account, cost=0.0, plate=plate.compact)
