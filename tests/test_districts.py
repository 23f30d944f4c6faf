"""Tests for the German district code (Unterscheidungszeichen) table."""

import csv
import re
from importlib import resources

import pytest

from pipeline.plate.districts import district_codes, load_districts

STATES = {
    "BW",
    "BY",
    "BE",
    "BB",
    "HB",
    "HH",
    "HE",
    "MV",
    "NI",
    "NW",
    "RP",
    "SL",
    "SN",
    "ST",
    "SH",
    "TH",
}


def _rows() -> list[dict[str, str]]:
    data = resources.files("pipeline.plate") / "data" / "districts_de.csv"
    with data.open("r", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_count_is_plausible() -> None:
    assert 650 <= len(load_districts()) <= 730


def test_codes_are_well_formed() -> None:
    pattern = re.compile(r"^[A-ZÄÖÜ]{1,3}$")
    bad = [code for code in district_codes() if not pattern.fullmatch(code)]
    assert bad == []


def test_csv_has_header_no_duplicates_sorted_and_valid_states() -> None:
    rows = _rows()
    assert list(rows[0].keys()) == ["code", "name", "state"]
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes)
    assert {row["state"] for row in rows} <= STATES
    assert all(row["name"].strip() for row in rows)


KNOWN = [
    "OF",
    "F",
    "DA",
    "GG",
    "HU",
    "MTK",
    "AB",
    "B",
    "M",
    "HH",
    "DÜW",
    "TÜ",
    "BÜS",
    "WÜ",
    "AÖ",
    "ÜB",
]


@pytest.mark.parametrize("code", KNOWN)
def test_known_codes_present(code: str) -> None:
    assert code in district_codes()


@pytest.mark.parametrize("code", ["GN", "SLÜ", "BÜD", "WAN", "WAT", "DI", "HMÜ", "BOH", "ECK"])
def test_reintroduced_old_codes_present(code: str) -> None:
    assert code in district_codes()


@pytest.mark.parametrize("code", ["XX", "Q", "Y", "X", "BD", "BP", "THW", "0", "HÖX", "NRW"])
def test_non_district_codes_absent(code: str) -> None:
    assert code not in district_codes()


def test_names_and_states() -> None:
    districts = load_districts()
    assert districts["F"] == "Frankfurt am Main"
    assert districts["B"] == "Berlin"
    assert "Offenbach" in districts["OF"]
    states = {row["code"]: row["state"] for row in _rows()}
    assert states["OF"] == "HE"
    assert states["M"] == "BY"
    assert states["DÜW"] == "RP"
    assert states["HB"] == "HB"


def test_load_is_cached() -> None:
    assert load_districts() is load_districts()
