"""German plate grammar: every rule pinned, plus property tests of the parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.plate.districts import district_codes
from pipeline.plate.grammar import MAX_CHARS, Plate, parse_plate, plate_chars, plate_from_label

DISTRICTS = district_codes()


@pytest.mark.parametrize(("raw", "display", "compact"), [
    ("OF-AB 123", "OF-AB 123", "OFAB123"),
    ("F-X 1", "F-X 1", "FX1"),
    ("OF-E 2345E", "OF-E 2345E", "OFE2345E"),
    ("OF AB123", "OF-AB 123", "OFAB123"),         # seals read as a space
    ("of-ab 123", "OF-AB 123", "OFAB123"),        # case
    ("MTK-KW 77H", "MTK-KW 77H", "MTKKW77H"),
])
def test_parses_canonical_forms(raw: str, display: str, compact: str) -> None:
    result = parse_plate(raw, DISTRICTS)
    assert result is not None
    assert result.plate.display == display
    assert result.plate.compact == compact
    assert not result.ambiguous


@pytest.mark.parametrize("raw", ["EXIT3", "EXIT 3", "DRIVE-IN", "", "12345", "OF-AB 12345",
                                 "PP587AO", "ABCDEFGHI1", "XX-AB 1"])
def test_rejects_what_cannot_be_a_german_plate(raw: str) -> None:
    assert parse_plate(raw, DISTRICTS) is None


def test_position_aware_confusions_are_fixed_and_counted() -> None:
    # letters part: 0 -> O, 8 -> B; digits part: O -> 0, I -> 1
    result = parse_plate("OF-A8 I2O", DISTRICTS)
    assert result is not None
    assert result.plate.display == "OF-AB 120"
    assert result.fixes == 3


@pytest.mark.parametrize("raw", ["LOF-AB 123", "OFI AB 123", "OF-AB 123 I", "1 OF AB 123",
                                 "OFL-AB 123"])
def test_a_spurious_thin_glyph_at_an_end_or_the_seals_is_dropped(raw: str) -> None:
    """The plate's edge, a bolt or the seals read as I, 1 or L: one fix, not a lost car."""
    result = parse_plate(raw, DISTRICTS)
    assert result is not None
    assert result.plate.display == "OF-AB 123" and result.fixes == 1
    # and what was read, the glyph in its place, stays for matching to weigh
    assert result.as_read == plate_chars(raw)


@pytest.mark.parametrize("raw", ["OF-AB 11234", "OFF-AB 1234", "OF-ABB 1234"])
def test_a_glyph_read_twice_is_read_once_when_the_text_is_no_plate(raw: str) -> None:
    result = parse_plate(raw, DISTRICTS)
    assert result is not None
    assert result.plate.display == "OF-AB 1234" and result.fixes == 1
    assert result.as_read == plate_chars(raw)


def test_the_text_as_read_is_kept_only_where_a_glyph_was_dropped() -> None:
    """A doubled X dropped (``DF-XX 838`` is no plate as read): ``as_read`` keeps both, so
    matching can weigh an ``OF-XX 838`` with its O read as D."""
    dropped = parse_plate("DFXX 838", DISTRICTS)
    assert dropped is not None and dropped.plate.compact == "DFX838"
    assert dropped.as_read == "DFXX838"
    clean = parse_plate("OF-AB 123", DISTRICTS)
    fixed = parse_plate("0F-AB 123", DISTRICTS)
    assert clean is not None and clean.as_read == ""
    assert fixed is not None and fixed.fixes == 1 and fixed.as_read == ""


def test_a_doubled_glyph_of_a_plate_as_read_is_kept() -> None:
    result = parse_plate("OF-AA 1123", DISTRICTS)
    assert result is not None and result.plate.display == "OF-AA 1123" and result.fixes == 0


def test_a_glyph_that_is_a_fix_or_spurious_is_ambiguous() -> None:
    # OF-AB 12I: the digit 1 read as I, or an edge after OF-AB 12? Not guessed.
    result = parse_plate("OF-AB 12I", DISTRICTS)
    assert result is not None and result.ambiguous
    # a glyph that is the plate's own is never dropped when the text reads as it is
    clean = parse_plate("OF-AB 1231", DISTRICTS)
    assert clean is not None and clean.plate.digits == "1231" and not clean.ambiguous


def test_umlaut_restored_where_only_the_umlaut_district_exists() -> None:
    result = parse_plate("DUW AS870", DISTRICTS)
    assert result is not None
    assert result.plate.display == "DÜW-AS 870"
    assert result.fixes == 1


def test_an_umlaut_among_the_letters_is_read_as_printed() -> None:
    """Officially only district codes have umlauts, but real plates carry them after the
    seals too (a shared real crop shows M-ÜN 4513): the grammar never removes the dots."""
    result = parse_plate("M-ÜN4513", DISTRICTS)
    assert result is not None and result.fixes == 0
    assert result.plate.display == "M-ÜN 4513"
    assert plate_from_label("M-ÜN 4513", DISTRICTS).letters == "ÜN"


def test_district_off_the_list_takes_its_one_look_alike_on_it() -> None:
    """FE-Schrift's narrow W read as H: DÜH is no district, DÜW is the only look-alike."""
    parsed = parse_plate("DÜH-AS 870", DISTRICTS)
    assert parsed is not None and parsed.plate.display == "DÜW-AS 870" and parsed.fixes == 1


def test_district_with_two_look_alikes_on_the_list_is_not_guessed() -> None:
    # BW is no district; BH and BM both are: no reading with a guessed district
    parsed = parse_plate("BW-AB 12", DISTRICTS)
    assert parsed is None or parsed.plate.district not in ("BH", "BM")
    # a one-letter code is never made up from a look-alike (X -> K would turn junk into K)
    assert parse_plate("X-AB 12", DISTRICTS) is None


def test_separator_decides_the_district() -> None:
    a = parse_plate("B-NO 1234", DISTRICTS)
    b = parse_plate("BN-O 1234", DISTRICTS)
    assert a is not None and b is not None
    assert (a.plate.district, a.plate.letters) == ("B", "NO")
    assert (b.plate.district, b.plate.letters) == ("BN", "O")


def test_missing_separator_with_two_valid_splits_is_flagged_ambiguous() -> None:
    # B-NO 1234 and BN-O 1234 are both valid German plates
    result = parse_plate("BNO1234", DISTRICTS)
    assert result is not None
    assert result.ambiguous


def test_at_most_eight_characters() -> None:
    assert parse_plate("MTK-AB 1234", DISTRICTS) is None  # 9 characters
    assert parse_plate("MTK-A 1234", DISTRICTS) is not None


def test_label_rejects_non_german_plate_with_a_helpful_message() -> None:
    with pytest.raises(ValueError, match="not a German plate"):
        plate_from_label("EXIT 3", DISTRICTS)
    with pytest.raises(ValueError, match="not a German plate"):
        plate_from_label("OF-AB 0123", DISTRICTS)  # leading zero


letters = st.text(alphabet="ABCDEFGHIJKLMNOPRSTUVWXYZ", min_size=1, max_size=2)
digits = st.integers(min_value=1, max_value=9999).map(str)


@given(st.sampled_from(sorted(DISTRICTS)), letters, digits, st.sampled_from(["", "E", "H"]))
def test_display_form_round_trips(district: str, lets: str, digs: str, suffix: str) -> None:
    plate = Plate(district, lets, digs, suffix)
    result = parse_plate(plate.display, DISTRICTS)
    if len(plate.compact) > MAX_CHARS:
        # never that plate; at most another one, read without a spurious thin glyph
        assert result is None or (result.fixes >= 1
                                  and len(result.plate.compact) == len(plate.compact) - 1)
    else:
        assert result is not None
        assert result.plate == plate
        assert result.fixes == 0


@given(st.text(max_size=12))
def test_parser_never_crashes_and_only_returns_valid_plates(raw: str) -> None:
    result = parse_plate(raw, DISTRICTS)
    if result is not None:
        p = result.plate
        assert p.district in DISTRICTS
        assert 1 <= len(p.letters) <= 2 and p.letters.isalpha()
        assert p.digits.isdigit() and not p.digits.startswith("0") and len(p.digits) <= 4
        assert p.suffix in ("", "E", "H")
        assert len(p.compact) <= MAX_CHARS


def test_a_hyphen_is_the_seals_gap_not_the_digit_gap() -> None:
    """KUN-I5: the plate model's hyphen marks the seals, so the district is KÜN (its lost
    umlaut), not KU with the hyphen taken for the letters/digits gap (KU-N 15)."""
    parsed = parse_plate("KUN-I5", DISTRICTS)
    assert parsed is not None and parsed.plate.display == "KÜN-I 5"
    # a space may still be either gap
    spaced = parse_plate("OF AB 123", DISTRICTS)
    assert spaced is not None and spaced.plate.display == "OF-AB 123"


@pytest.mark.parametrize(("raw", "display"), [
    ("FÖ-SX52", "FÜ-SX 52"),      # FÖ is no district; Fürth's FÜ is its one look-alike
    ("TÜL-NU79", "TÖL-NU 79"),
])
def test_umlaut_with_the_wrong_base_letter_takes_the_one_code_on_the_list(
        raw: str, display: str) -> None:
    parsed = parse_plate(raw, DISTRICTS)
    assert parsed is not None and parsed.plate.display == display


def test_the_seals_seen_by_the_rectifier_break_a_tie_but_never_overrule_the_text() -> None:
    tied = parse_plate("BNO1234", DISTRICTS, district_len=1)
    assert tied is not None and not tied.ambiguous and tied.plate.display == "B-NO 1234"
    other = parse_plate("BNO1234", DISTRICTS, district_len=2)
    assert other is not None and not other.ambiguous and other.plate.display == "BN-O 1234"
    # the text's own hyphen decides; a hint that disagrees changes nothing
    said = parse_plate("BN-O1234", DISTRICTS, district_len=1)
    assert said is not None and said.plate.display == "BN-O 1234"
    # a hint that fits no reading leaves the tie flagged
    unknown = parse_plate("BNO1234", DISTRICTS, district_len=3)
    assert unknown is not None and unknown.ambiguous
