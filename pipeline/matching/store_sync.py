"""The fuzzy matcher kept in step with the account store while ``run`` is running, so an
``accounts import`` from another terminal takes effect without a restart."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Protocol

from pipeline.domain import Account
from pipeline.matching.fuzzy import FuzzyMatcher, MatchThresholds
from pipeline.matching.matcher import Evidence, MatchResult
from pipeline.plate.grammar import Plate
from pipeline.reading.ctc import CharScores

log = logging.getLogger(__name__)


class AccountSource(Protocol):
    def plate_index(self) -> list[tuple[str, str]]:
        ...

    def plates_fingerprint(self) -> tuple[int, int]:
        ...

    def account(self, customer_number: str) -> Account | None:
        ...


class StoreMatcher:
    """A FuzzyMatcher over the store's plates, rebuilt when the plates change (checked at
    most every ``check_every_s``)."""

    def __init__(self, store: AccountSource, thresholds: MatchThresholds | None = None,
                 check_every_s: float = 5.0) -> None:
        self.store = store
        self.check_every_s = check_every_s
        self._fingerprint = store.plates_fingerprint()
        self._checked = time.monotonic()
        self.fuzzy = FuzzyMatcher(store.plate_index(), store.account, thresholds)

    def match(self, plate: Plate, ambiguous: bool = False,
              evidence: Evidence | None = None,
              scores: Sequence[CharScores] = ()) -> MatchResult:
        now = time.monotonic()
        if now - self._checked >= self.check_every_s:
            self._checked = now
            fingerprint = self.store.plates_fingerprint()
            if fingerprint != self._fingerprint:
                self._fingerprint = fingerprint
                self.fuzzy.rebuild(self.store.plate_index())
                log.info("accounts changed: matching against %d plates now", len(self.fuzzy))
        return self.fuzzy.match(plate, ambiguous, evidence, scores)
