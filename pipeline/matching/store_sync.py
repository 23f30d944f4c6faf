"""The fuzzy matcher kept in step with the account store while ``run`` is running, so an
``accounts import`` from another terminal takes effect without a restart, and with the
drive-in's own share of unregistered cars as the likelihood rule's prior once the store has
enough history."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from pipeline.domain import Account, iso, utc_now
from pipeline.matching.fuzzy import FuzzyMatcher, MatchThresholds
from pipeline.matching.likelihood import history_share
from pipeline.matching.matcher import Evidence, MatchResult, Spurious
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

    def status_history(self, since: str) -> dict[str, int]:
        ...


class StoreMatcher:
    """A FuzzyMatcher over the store's plates, rebuilt when the plates change (checked at
    most every ``check_every_s``), its prior taken from the store's history at start and
    every ``prior_every_s``."""

    def __init__(self, store: AccountSource, thresholds: MatchThresholds | None = None,
                 check_every_s: float = 5.0, prior_every_s: float = 3600.0) -> None:
        self.store = store
        self.configured = thresholds or MatchThresholds()
        self.check_every_s = check_every_s
        self.prior_every_s = prior_every_s
        self._fingerprint = store.plates_fingerprint()
        self._checked = self._prior_checked = time.monotonic()
        self.fuzzy = FuzzyMatcher(store.plate_index(), store.account, self.configured)
        self.refresh_prior()

    def refresh_prior(self) -> float:
        """Set the likelihood rule's ``unregistered_share`` from the last
        ``prior_history_days`` of arrivals when there are enough of them, else the configured
        one; returns the share in use."""
        t = self.configured
        share = None
        if t.prior_history_days:
            since = utc_now() - timedelta(days=t.prior_history_days)
            counts = self.store.status_history(iso(since))
            share = history_share(counts, t.prior_min_arrivals)
        share = t.unregistered_share if share is None else round(share, 4)
        if share != self.fuzzy.thresholds.unregistered_share:
            log.info("matching prior: %.1f %% of arriving cars unregistered (%s)", 100 * share,
                     "configured" if share == t.unregistered_share
                     else f"the last {t.prior_history_days} days' arrivals")
            self.fuzzy.thresholds = replace(self.fuzzy.thresholds, unregistered_share=share)
        return share

    def match(self, plate: Plate, ambiguous: bool = False,
              evidence: Evidence | None = None,
              scores: Sequence[CharScores] = (), spurious: Spurious = ()) -> MatchResult:
        now = time.monotonic()
        if now - self._checked >= self.check_every_s:
            self._checked = now
            fingerprint = self.store.plates_fingerprint()
            if fingerprint != self._fingerprint:
                self._fingerprint = fingerprint
                self.fuzzy.rebuild(self.store.plate_index())
                log.info("accounts changed: matching against %d plates now", len(self.fuzzy))
        if now - self._prior_checked >= self.prior_every_s:
            self._prior_checked = now
            self.refresh_prior()
        return self.fuzzy.match(plate, ambiguous, evidence, scores, spurious)
