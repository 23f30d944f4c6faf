"""The bound on what any matching rule can do with a one-confusion read (match_bound)."""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import pytest

from pipeline.bench.match_bound import (
    _preimages,
    bound_curve,
    calibration,
    clean_bound,
    confused,
    main,
    plate_probability,
    world_lead,
)
from pipeline.bench.sim_world import CONFUSIONS, PlateSource, build_world
from pipeline.plate.grammar import Plate


@pytest.fixture(scope="module")
def source() -> PlateSource:
    return PlateSource(random.Random(7))


def test_plate_probability_is_the_sources_own_distribution(source: PlateSource) -> None:
    # the share of F plates of a shape, counted on draws, matches the probability summed over
    # every plate of that shape (a few hundred draws each: within 15 %)
    draws = 200_000
    counted = Counter[tuple[int, int]]()
    for _ in range(draws):
        p = source.plate()
        if p.district == "F":
            counted[len(p.letters), len(p.digits)] += 1
    az = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for letters, digits in (((a + b for a in az for b in az), range(1, 10)),
                            (az, range(100, 1000))):
        series = list(letters)
        predicted = sum(plate_probability(source, Plate("F", s, str(n), suffix))
                        for s in series for n in digits for suffix in ("", "E", "H"))
        shape = (len(series[0]), len(str(digits[0])))
        assert counted[shape] / draws == pytest.approx(predicted, rel=0.15), shape


def test_plates_the_source_never_draws_have_probability_zero(source: PlateSource) -> None:
    assert plate_probability(source, Plate("OF", "AB", "123")) > 0
    for never in (Plate("OF", "A8", "123"), Plate("OF", "AB", "023"), Plate("XQ", "AB", "123"),
                  Plate("OF", "AB", "12T"), Plate("OF", "SS", "123"), Plate("OF", "AB", "123", "F"),
                  Plate("OF", "ÄB", "123")):
        assert plate_probability(source, never) == 0.0, never


def test_confused_replaces_one_character_of_the_compact_form() -> None:
    plate = Plate("OF", "AB", "123", "E")
    assert confused(plate, 0, "D") == Plate("DF", "AB", "123", "E")
    assert confused(plate, 3, "8") == Plate("OF", "A8", "123", "E")
    assert confused(plate, 6, "7") == Plate("OF", "AB", "127", "E")
    assert confused(plate, 7, "F") == Plate("OF", "AB", "123", "F")


def test_no_rule_checks_in_nearly_every_confused_read_without_wrong_accounts() -> None:
    rng = random.Random(3)
    source = PlateSource(rng)
    world = build_world(source, 22000)
    curve, facts = bound_curve(source, world, 20_000, rng, path_samples=3_000)
    wrong = [b.wrong for b in curve]
    assert wrong == sorted(wrong)  # checking in more never costs fewer wrong accounts
    at = {b.target: b.wrong for b in curve}
    assert at[0.5] < 1  # half the confusions give text no unregistered car carries
    assert at[0.99] > 10  # the 99 % costs dozens per 100,000 passages
    assert 0.5 < facts["share_at_one_wrong"] < 0.9
    # what the matcher is given: the grammar rejects some reads (never checked in) and its
    # fixes make others an unregistered car's plate, so the bound after it is lower
    assert 0.05 < facts["rejected_by_grammar"] < 0.2
    assert 0.4 < facts["share_at_one_wrong_after_grammar"] < facts["share_at_one_wrong"]
    # every other car whose read is the text competes too: fewer reads stay safe
    assert facts["all_paths_samples"] == 3_000
    assert 0.4 < facts["all_paths_share_at_one_wrong"] < facts["share_at_one_wrong"]
    assert facts["all_paths_share_at_one_wrong_after_grammar"] <= facts[
        "share_at_one_wrong_after_grammar"] + 0.02  # (fewer samples: a little noise)
    # without unregistered cars only other customers' plates compete, and those are rare
    curve, _ = bound_curve(source, world, 20_000, rng, registered_share=1.0, path_samples=0)
    assert all(b.wrong == 0 for b in curve)


def test_a_text_counts_every_plate_it_can_be(source: PlateSource) -> None:
    from pipeline.bench.match_bound import text_probability

    one = plate_probability(source, Plate("OF", "A", "8123"))
    assert text_probability(source, "OFA8123") == pytest.approx(one)
    assert text_probability(source, "BNO1234") == pytest.approx(
        plate_probability(source, Plate("B", "NO", "1234"))
        + plate_probability(source, Plate("BN", "O", "1234")))
    assert text_probability(source, "OF0B123") == 0.0


def test_clean_reads_too_are_another_cars_misread_now_and_then() -> None:
    rng = random.Random(3)
    source = PlateSource(rng)
    world = build_world(source, 22000)
    facts = clean_bound(source, world, 5_000, rng)
    # most clean texts are no likely misread of anything, but not all of them
    assert 0.95 < facts["clean_share_at_one_wrong"] < 1.0
    assert facts["clean_all_wrong_at_least"] > 1
    assert facts["clean_registered_per_passages"] == pytest.approx(44_000)
    # every preimage differs in one place and reads back as the plate
    plate = Plate("OF", "AB", "123")
    pre = _preimages(plate)
    assert pre and all(sum(a != b for a, b in zip(p.compact, plate.compact, strict=True)) == 1
                       for p, _ in pre)
    assert all(0 < w <= 1 for _, w in pre)


def test_calibration_measures_a_rules_leads_against_the_worlds_odds() -> None:
    rng = random.Random(3)
    source = PlateSource(rng)
    world = build_world(source, 22000)
    reads = []  # each plate with its last confusable character read as its first look-alike
    for plate in list(world.plates.values())[:400]:
        text = plate.compact
        i = max(k for k, c in enumerate(text) if c in CONFUSIONS)
        reads.append((text, text[:i] + CONFUSIONS[text[i]][0][0] + text[i + 1:]))
    first = calibration(source, world, [(t, r, 0.0, False) for t, r in reads], 100_000)
    assert first.reads == len(reads) and first.rule_checked_in == 0
    assert 0 < first.oracle_checked_in < len(reads)  # some reads are too likely a rival's

    def lead(truth: str, read: str) -> float:
        value = world_lead(source, world, truth, read)
        assert value is not None
        return value

    # a rule whose leads are the world's shifted by 3 nats, checking in the better half
    leads = sorted(lead(t, r) for t, r in reads)
    median = leads[len(leads) // 2]
    shifted = [(t, r, lead(t, r) - 3.0, lead(t, r) >= median) for t, r in reads]
    c = calibration(source, world, shifted, 100_000)
    assert c.lead_error_mean == pytest.approx(-3.0) and c.lead_error_sd == pytest.approx(0.0)
    # both check in the best odds first: the smaller set of picks lies within the larger
    assert c.rule_within_oracle == min(c.rule_checked_in, c.oracle_checked_in) > 0
    assert c.oracle_checked_in == first.oracle_checked_in


def test_cli_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--plates", "2000", "--samples", "2000", "--path-samples", "500", "--seed",
                 "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["registered_share"] == 0.8
    assert out["all_paths_samples"] == out["joint_samples"] == 500
    assert 0 < out["joint_one_confusion"] <= out["joint_registered"] <= 1
    assert [b["target"] for b in out["bound"]] == [0.5, 0.8, 0.9, 0.95, 0.99]
    assert out["one_confusion_per_passages"] == pytest.approx(12_000)
    assert 0 < out["clean_share_at_one_wrong"] <= 1


def test_rivals_are_every_other_car_whose_read_is_the_text() -> None:
    from pipeline.bench.match_bound import Rivals, text_probability
    from pipeline.bench.sim_world import ERROR_MIX, REGISTERED_SHARE

    rng = random.Random(3)
    source = PlateSource(rng)
    world = build_world(source, 22000)
    rivals = Rivals(source, world)
    plate = next(p.compact for p in world.plates.values()
                 if len(p.compact) == 7 and p.digits[-1] != p.digits[-2])
    owner = world.owner[plate]
    p_car = REGISTERED_SHARE / len(world.plates)
    # the plate itself read right is no rival of its own customer, but is of anyone else
    assert rivals.paths(plate, owner)["clean"] == 0.0
    assert rivals.paths(plate, None)["clean"] == pytest.approx(ERROR_MIX["clean"] * p_car)
    # its read with the last digit lost: at least that car, losing that one of 7 characters
    lost = rivals.paths(plate[:-1], None)
    assert lost["dropped"] >= ERROR_MIX["dropped"] * p_car / 7 * (1 - 1e-9)
    # a text no plate has read right is still some car read with a look-alike
    text = "OF0B123"
    assert text_probability(source, text) == 0.0
    paths = rivals.paths(text, None)
    assert paths["clean"] == 0.0 and paths["one_confusion"] > 0
    assert rivals.total(text, None) == pytest.approx(sum(paths.values()))


def test_the_joint_bound_shares_one_budget_between_every_class() -> None:
    from pipeline.bench.match_bound import joint_bound

    rng = random.Random(3)
    source = PlateSource(rng)
    world = build_world(source, 22000)
    facts = joint_bound(source, world, 4_000, rng)
    assert facts["joint_samples"] == 4_000
    assert facts["joint_clean"] == 1.0  # a plate read exactly costs no wrong beyond exact hits
    # one-confusion reads spend the budget with every other misread: fewer stay safe than
    # when they had it alone (about 60 % after the grammar)
    assert 0.3 < facts["joint_one_confusion"] < 0.62
    assert facts["joint_dropped"] < facts["joint_one_confusion"] < facts["joint_extra"]
    assert 0.6 < facts["joint_registered"] < 0.95


def test_odds_against_a_customer_weigh_every_other_car() -> None:
    from pipeline.bench.match_bound import Rivals, odds_against

    rng = random.Random(3)
    source = PlateSource(rng)
    world = build_world(source, 22000)
    rivals = Rivals(source, world)
    plates = iter(world.plates.values())
    mine, theirs = next(plates), next(plates)
    owner = world.owner[mine.compact]
    assert odds_against(rivals, mine.compact, owner) == 0.0  # right, or an exact hit
    if world.owner[theirs.compact] != owner:
        assert odds_against(rivals, theirs.compact, owner) == math.inf
    text = mine.compact
    i = next(k for k, c in enumerate(text) if c in CONFUSIONS)
    misread = text[:i] + CONFUSIONS[text[i]][0][0] + text[i + 1:]
    if misread not in world.owner:
        assert 0 < odds_against(rivals, misread, owner) < math.inf


def test_the_model_check_replays_the_rules_check_ins_at_lower_margins() -> None:
    from pipeline.bench.match_simulation import (
        MODEL_CHECK_MARGINS,
        model_check,
        run,
        simulate_passages,
    )
    from pipeline.matching.fuzzy import MatchThresholds

    rng = random.Random(4)
    source = PlateSource(rng)
    world = build_world(source, 22000)
    passages = simulate_passages(source, world, 1500)
    thresholds = MatchThresholds()
    result = run(world, passages, thresholds, keep_candidates=True, progress=False)
    rows = model_check(result.wide, thresholds, source, world, passages)
    assert [r["margin"] for r in rows] == [thresholds.text_margin, *MODEL_CHECK_MARGINS]
    # a lower margin checks in at least as much, and is expected to cost at least as much
    for a, b in zip(rows, rows[1:], strict=False):
        assert b["one_confusion"] >= a["one_confusion"] > 0
        assert b["expected_wrong"] >= a["expected_wrong"] >= 0
        assert b["observed_wrong"] >= a["observed_wrong"]


def test_a_plates_read_probability_is_the_rivals_model_from_the_plates_side() -> None:
    from pipeline.bench.match_bound import Rivals, read_probability

    rng = random.Random(3)
    source = PlateSource(rng)
    world = build_world(source, 22000)
    rivals = Rivals(source, world)
    for plate in list(world.plates)[:40]:
        owner = world.owner[plate]
        mine = [p for p, c in world.owner.items() if c == owner]
        i = next(k for k, c in enumerate(plate) if c in CONFUSIONS)
        for text in (plate, plate[:i] + CONFUSIONS[plate[i]][0][0] + plate[i + 1:],
                     plate[:-1], plate + plate[-1], "I" + plate):
            own = rivals.total(text, owner, "own")
            assert own == pytest.approx(
                rivals.p_registered_car * sum(read_probability(p, text) for p in mine),
                rel=1e-9, abs=1e-18), (plate, text)
    assert read_probability("OFAB123", "OFAB123") == pytest.approx(0.55)
    assert read_probability("OFAB123", "OFAB12") > 0
    assert read_probability("OFAB123", "XYZ") == 0.0
