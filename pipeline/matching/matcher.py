"""Plate -> customer account. Exact on the compact form for now; never a guessed account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pipeline.plate.grammar import Plate
from pipeline.store.accounts_csv import Account

MATCHED = "matched"
UNREGISTERED = "unregistered"


class PlateLookup(Protocol):
    """The one thing the matcher needs from a store."""

    def account_for_plate(self, compact: str) -> Account | None:
        ...


@dataclass(frozen=True)
class MatchResult:
    status: str
    account: Account | None = None


class ExactMatcher:
    """Matches a plate when its compact form is registered, else reports it unregistered."""

    def __init__(self, lookup: PlateLookup) -> None:
        self.lookup = lookup

    def match(self, plate: Plate) -> MatchResult:
        account = self.lookup.account_for_plate(plate.compact)
        if account is None:
            return MatchResult(UNREGISTERED)
        return MatchResult(MATCHED, account)
