"""Fuzzy matching: the confusion-aware distance, the never-guess rule, and a small simulation."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.bench.match_simulation import run, simulate_passages, summarise
from pipeline.bench.sim_world import PlateSource, build_world
from pipeline.domain import Account, Status
from pipeline.matching.distance import PAIR_COSTS, canonical, plate_distance
from pipeline.matching.fuzzy import (
    FuzzyMatcher,
    MatchThresholds,
    consensus,
    evidence_cost,
    supported,
)
from pipeline.matching.matcher import ExactMatcher, lone_spurious
from pipeline.plate.edits import levenshtein
from pipeline.plate.grammar import Plate, plate_from_label

plates = st.text(alphabet="ABDEFGHIOQSWZ0125689ÄÖÜ", min_size=1, max_size=9)

ACCOUNTS = {
    "10001": Account("10001", "Anna Schmidt", ("OFAB123", "OFAB124")),
    "10002": Account("10002", "Jens Becker", ("FX1",)),
    "10003": Account("10003", "Eva Roth", ("OFWQ338",)),
    "10004": Account("10004", "Ole Kern", ("OFHQ338",)),
    "10005": Account("10005", "Ina Vogt", ("DAKL4711",)),
}


# The cost rule (text_rule = "cost"): the text rule before the text likelihood, kept as an
# option; most tests below pin it. The text likelihood rule's tests are further down.
COST = MatchThresholds(text_rule="cost")


def _plate(label: str) -> Plate:
    return plate_from_label(label)


@pytest.fixture
def matcher() -> FuzzyMatcher:
    pairs = [(p, a.customer_number) for a in ACCOUNTS.values() for p in a.plates]
    return FuzzyMatcher(pairs, ACCOUNTS.get, COST)


# --- distance ---------------------------------------------------------------------------

def test_distance_zero_only_for_equal() -> None:
    assert plate_distance("OFAB123", "OFAB123") == 0.0
    assert plate_distance("OFAB123", "OFAB124") > 0.0


def test_confusable_substitution_cheaper_than_other() -> None:
    assert plate_distance("OFAB123", "0FAB123") < plate_distance("OFAB123", "KFAB123")
    for a, b in ("O0", "D0", "I1", "B8", "S5", "Z2", "G6"):
        assert plate_distance(f"X{a}1", f"X{b}1") <= 0.5 < plate_distance(f"X{a}1", "XY1")


def test_insertion_and_deletion_cost_one() -> None:
    assert plate_distance("OFAB123", "OFAB12") == 1.0
    assert plate_distance("OFAB12", "OFAB123") == 1.0
    assert plate_distance("", "ABC") == 3.0


def test_costs_add_exactly() -> None:
    assert plate_distance("OFAB123", "0FA8123") == 0.6


@given(plates, plates)
@settings(max_examples=200, deadline=None)
def test_distance_symmetric_and_bounded(a: str, b: str) -> None:
    d = plate_distance(a, b)
    assert d == plate_distance(b, a)
    assert (d == 0.0) == (a == b)
    assert d <= max(len(a), len(b))


@given(plates, plates)
@settings(max_examples=200, deadline=None)
def test_distance_between_a_third_and_all_of_the_edit_count(a: str, b: str) -> None:
    """Every edit costs 0.3-1.0. (Not a metric, and need not be: OCR reads D as 0 and 0 as
    Ö more often than D as Ö, so D-0-Ö is cheaper than D-Ö.)"""
    edits = levenshtein(a, b)
    assert 0.3 * edits - 1e-9 <= plate_distance(a, b) <= edits + 1e-9


def test_pair_costs_symmetric_and_canonical_classes_cover_them() -> None:
    for (a, b), cost in PAIR_COSTS.items():
        assert PAIR_COSTS[(b, a)] == cost
        assert canonical(a) == canonical(b)


# --- matching rule ----------------------------------------------------------------------

def test_exact_match(matcher: FuzzyMatcher) -> None:
    result = matcher.match(_plate("F-X 1"))
    assert result.status == Status.MATCHED
    assert result.account is not None and result.account.customer_number == "10002"
    assert result.cost == 0.0 and result.plate == "FX1"


def test_lone_read_with_one_confusion_goes_to_review_with_the_plate_first(
        matcher: FuzzyMatcher) -> None:
    result = matcher.match(Plate("DA", "KI", "4711"))  # L read as I, and nothing else seen
    assert result.status == Status.NEEDS_REVIEW and result.account is None
    assert result.candidates[0].compact == "DAKL4711"
    assert result.candidates[0].customer_number == "10005"
    assert 0 < result.candidates[0].cost <= 0.4


# --- evidence: all reads of the car --------------------------------------------------------

def test_confusion_outvoted_character_by_character_matches(matcher: FuzzyMatcher) -> None:
    # the plurality read is DAKI4711, but most reads have the L, and each of Ina's other
    # characters too: the car showed Ina's plate
    evidence = (("DAKI4711", 1.0), ("DAKL4717", 0.8), ("DAKL1711", 0.7))
    result = matcher.match(Plate("DA", "KI", "4711"), evidence=evidence)
    assert result.status == Status.MATCHED and result.plate == "DAKL4711"
    assert consensus(evidence) == "DAKL4711"
    # I/L 0.4 + 7/1 0.5 + 1/4 (no confusion) 1.0, each times its read's confidence
    assert evidence_cost("DAKL4711", evidence) == pytest.approx(0.4 + 0.8 * 0.5 + 0.7 * 1.0)


def test_plate_most_reads_contradict_goes_to_review(matcher: FuzzyMatcher) -> None:
    # exact hit on Jens's plate, but far more weight read another last character: FX7 (not
    # registered) explains the reads 1.05 better than FX1, more than the slack
    evidence = (("FX1", 0.6), ("FX7", 2.7))
    assert matcher.match(_plate("F-X 1"), evidence=evidence).status == Status.NEEDS_REVIEW
    # a minority the slack covers: still Jens
    assert matcher.match(_plate("F-X 1"), evidence=(("FX1", 1.9), ("FX7", 0.8))).status \
        == Status.MATCHED


def test_support_needs_every_character_read_at_its_place() -> None:
    evidence = (("DAKI4711", 1.0), ("DAKL4717", 0.8))
    assert supported("DAKL4711", evidence)
    assert not supported("DAKL4712", evidence)  # no read had the 2
    # no read of the plate's length: the length itself was never seen
    assert not supported("FX1", (("FXI1", 0.9), ("FX11", 0.9)))


def test_confusion_every_read_repeats_goes_to_review(matcher: FuzzyMatcher) -> None:
    """Every read says DAKI4711: as likely an unregistered car as Ina's plate misread."""
    result = matcher.match(Plate("DA", "KI", "4711"), evidence=(("DAKI4711", 2.9),))
    assert result.status == Status.NEEDS_REVIEW and result.account is None
    assert result.candidates and result.candidates[0].compact == "DAKL4711"
    # some reads saw the L: Ina's plate is backed, and explains the reads within the slack
    backed = matcher.match(Plate("DA", "KI", "4711"),
                           evidence=(("DAKI4711", 1.5), ("DAKL4711", 1.2)))
    assert backed.status == Status.MATCHED and backed.plate == "DAKL4711"
    # one read in four: the unregistered DA-KI 4711 explains them too well
    assert matcher.match(Plate("DA", "KI", "4711"), evidence=(
        ("DAKI4711", 2.7), ("DAKL4711", 0.9))).status == Status.NEEDS_REVIEW


def test_exact_plate_checks_in_whatever_the_evidence(matcher: FuzzyMatcher) -> None:
    result = matcher.match(_plate("F-X 1"), evidence=(("FX1", 2.7), ("FX7", 0.4)))
    assert result.status == Status.MATCHED and result.plate == "FX1"


def test_a_read_that_was_another_customers_plate_sends_the_car_to_review(
        matcher: FuzzyMatcher) -> None:
    # voted: Eva's plate exactly; but one read of the car was Ole's plate exactly
    evidence = (("OFWQ338", 1.9), ("OFHQ338", 0.9))
    result = matcher.match(_plate("OF-WQ 338"), evidence=evidence)
    assert result.status == Status.NEEDS_REVIEW
    # far from every plate, but one read was Jens's: review, not "unregistered"
    far = matcher.match(_plate("F-XY 1"), evidence=(("FXY1", 1.8), ("FX1", 0.6)))
    assert far.status == Status.NEEDS_REVIEW


def test_second_car_of_customer_is_no_rival(matcher: FuzzyMatcher) -> None:
    result = matcher.match(_plate("OF-AB 124"))
    assert result.status == Status.MATCHED and result.plate == "OFAB124"
    assert result.account is not None and result.account.customer_number == "10001"
    # one character off both of Anna's cars: still Anna, whichever car it is
    near = matcher.match(_plate("OF-AB 128"))
    assert near.status != Status.MATCHED or (
        near.account and near.account.customer_number == "10001")


def test_near_tie_goes_to_review(matcher: FuzzyMatcher) -> None:
    # W/H: OF-MQ 338 is 0.5 from both OF-WQ 338 (Eva) and OF-HQ 338 (Ole)
    result = matcher.match(_plate("OF-MQ 338"))
    assert result.status == Status.NEEDS_REVIEW and result.account is None
    assert {c.customer_number for c in result.candidates} >= {"10003", "10004"}
    # even an exact read is not trusted when another customer's plate is one confusion away
    exact = matcher.match(_plate("OF-WQ 338"))
    assert exact.status == Status.NEEDS_REVIEW and exact.account is None


def test_far_read_is_unregistered(matcher: FuzzyMatcher) -> None:
    result = matcher.match(_plate("WI-KT 9876"))
    assert result.status == Status.UNREGISTERED and result.account is None and not result.candidates


def test_ambiguous_parse_goes_to_review(matcher: FuzzyMatcher) -> None:
    result = matcher.match(_plate("F-X 1"), ambiguous=True)
    assert result.status == Status.NEEDS_REVIEW and result.account is None
    assert result.candidates[0].compact == "FX1"


def test_dropped_character_goes_to_review_not_to_account(matcher: FuzzyMatcher) -> None:
    result = matcher.match(_plate("DA-KL 471"))
    assert result.status == Status.NEEDS_REVIEW and result.account is None


def test_exact_hit_that_may_be_a_dropped_character_goes_to_review(
        matcher: FuzzyMatcher) -> None:
    matcher.add("DAKL471", "10002")  # Ina's DA-KL 4711 with its last digit dropped
    assert matcher.match(_plate("DA-KL 471")).status == Status.NEEDS_REVIEW
    lenient = FuzzyMatcher([("DAKL471", "10002"), ("DAKL4711", "10005")], ACCOUNTS.get,
                           MatchThresholds(text_rule="cost", dropped_rival_cost=1.0))
    assert lenient.match(_plate("DA-KL 471")).status == Status.MATCHED


def test_add_remove_and_rebuild(matcher: FuzzyMatcher) -> None:
    matcher.add("WIKT9876", "10002")
    assert matcher.match(_plate("WI-KT 9876")).status == Status.MATCHED
    assert matcher.remove("WIKT9876") and not matcher.remove("WIKT9876")
    assert matcher.match(_plate("WI-KT 9876")).status == Status.UNREGISTERED
    matcher.rebuild([("FX1", "10002")])
    assert len(matcher) == 1
    assert matcher.match(_plate("DA-KL 4711")).status == Status.UNREGISTERED


def test_account_missing_from_store_is_never_guessed() -> None:
    m = FuzzyMatcher([("FX1", "99999")], lambda _: None)
    assert m.match(_plate("F-X 1")).status == Status.NEEDS_REVIEW


def test_thresholds_validated() -> None:
    with pytest.raises(ValueError):
        MatchThresholds(max_cost=1.5, review_cost=1.0)
    with pytest.raises(ValueError):
        MatchThresholds(review_cost=2.0)
    with pytest.raises(ValueError):
        MatchThresholds(margin=-0.1)
    with pytest.raises(ValueError):
        MatchThresholds(dropped_rival_cost=1.5)
    with pytest.raises(ValueError):
        MatchThresholds(slack=-0.1)


def test_exact_matcher_unchanged() -> None:
    class Lookup:
        def account_for_plate(self, compact: str) -> Account | None:
            return ACCOUNTS["10002"] if compact == "FX1" else None

    assert ExactMatcher(Lookup()).match(_plate("F-X 1")).status == Status.MATCHED
    assert ExactMatcher(Lookup()).match(_plate("F-X 2")).status == Status.UNREGISTERED


def test_index_finds_everything_brute_force_finds() -> None:
    rng = random.Random(7)
    source = PlateSource(rng)
    world = build_world(source, 500)
    m = FuzzyMatcher(world.owner.items(), world.accounts.get,
                     MatchThresholds(max_cost=0.0, review_cost=1.9))
    for p in simulate_passages(source, world, 200):
        compact = "".join(c for c in p.raw if c not in " -")
        found = {c.compact for c in m.candidates(compact)}
        brute = {q for q in world.owner if plate_distance(compact, q) <= 1.9}
        assert found == brute


# --- simulation -------------------------------------------------------------------------

def simulated(seed: int, cars: int, thresholds: MatchThresholds, run_seed: int = 0,
              **reads: Any) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    """A small simulation (2,000 registered plates, ``cars`` passages drawn with ``seed``):
    its totals, and its rows by (error, car)."""
    source = PlateSource(random.Random(seed))
    world = build_world(source, 2000)
    passages = simulate_passages(source, world, cars, **reads)
    summary = summarise(run(world, passages, thresholds, progress=False, seed=run_seed))
    rows = {(r["error"], r["car"]): r for r in summary["rows"]}  # type: ignore[union-attr]
    return summary["totals"], rows  # type: ignore[return-value]


def test_small_simulation_checks_in_no_wrong_account() -> None:
    totals, rows = simulated(11, 5000, COST)
    assert totals["wrong_account"] == 0
    assert rows[("clean", "registered")]["correct_share"] > 0.97


def test_small_multi_frame_simulation_checks_in_no_wrong_account() -> None:
    """Each car read 3-10 times through the product's tracker, matched with its reads."""
    totals, rows = simulated(12, 3000, COST, run_seed=12, frames=(3, 10))
    assert totals["wrong_account"] == 0
    assert rows[("voted right", "registered")]["correct_share"] > 0.9
    # a confusion every read repeats is never turned into a check-in
    repeated = rows[("voted 1 subst, in all", "registered")]
    assert repeated["passages"] > 0 and repeated["correct"] == 0


def test_small_simulation_with_a_confusion_in_every_read_checks_in_no_wrong_account() -> None:
    """Every read of every car (registered or not) has a confusion of its own: weighing all
    reads checks most registered cars in (88 % on this seed), and no car in as someone else."""
    totals, rows = simulated(13, 2000, COST, run_seed=13, frames=(3, 10), per_read=True)
    assert totals["wrong_account"] == 0
    assert rows[("confusion_each_read", "registered")]["correct_share"] > 0.85
    assert rows[("confusion_each_read", "unregistered")]["correct_share"] > 0.85


def test_simulation_cli_sweeps_the_slack(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from pipeline.bench.match_simulation import main

    assert main(["--plates", "300", "--passages", "150", "--seed", "5", "--sweep",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["thresholds"]["slack"] == MatchThresholds().slack
    assert {s["slack"] for s in summary["sweep"]} >= {0.2, 0.3, 0.45}
    # a larger slack only ever accepts more: review never grows with it
    for max_cost in {s["max_cost"] for s in summary["sweep"]}:
        for margin in {s["margin"] for s in summary["sweep"]}:
            row = sorted((s["slack"], s["needs_review"]) for s in summary["sweep"]
                         if s["max_cost"] == max_cost and s["margin"] == margin)
            assert [r for _, r in row] == sorted((r for _, r in row), reverse=True)


# --- the text likelihood rule (text_rule = "likelihood", the default) ------------------------

LIKELIHOOD = MatchThresholds()


def _likelihood(plates: dict[str, str], **settings: object) -> FuzzyMatcher:
    accounts = {c: Account(c, f"Kunde {c}", tuple(p for p, o in plates.items() if o == c))
                for c in set(plates.values())}
    return FuzzyMatcher(plates.items(), accounts.get, MatchThresholds(**settings))  # type: ignore[arg-type]


def test_text_likelihood_is_the_default_and_the_cost_rule_stays_available() -> None:
    assert LIKELIHOOD.text_rule == "likelihood" and LIKELIHOOD.text_prior == "cells"
    plates = {"DAKL4711": "10005"}
    read = Plate("DA", "KI", "4711")  # L read as I (cost 0.4), nothing else seen
    assert _likelihood(plates).match(read).status == Status.MATCHED
    assert _likelihood(plates, text_rule="cost").match(read).status == Status.NEEDS_REVIEW


def test_text_channel_charges_every_misread_and_its_cost_class() -> None:
    from pipeline.matching.text_likelihood import channel_nats

    e, k = LIKELIHOOD.text_edit_nats, LIKELIHOOD.text_nats_per_cost
    assert channel_nats("OFAB123", "OFAB123", e, k) == 0.0
    assert channel_nats("OFAB123", "0FAB123", e, k) == pytest.approx(e + 0.3 * k)
    assert channel_nats("OFAB123", "OFAB127", e, k) == pytest.approx(e + 1.0 * k)
    assert channel_nats("OFAB123", "0FA8123", e, k) == pytest.approx(2 * (e + 0.3 * k))
    # a character the read lost costs dropped_rival_cost, a spurious one 1.0
    assert channel_nats("OFAB123", "OFAB12", e, k, 0.7) == pytest.approx(e + 0.7 * k)
    assert channel_nats("OFAB12", "OFAB123", e, k, 0.7) == pytest.approx(e + 1.0 * k)


def test_one_confusion_read_checks_in_when_the_prior_favours_the_customer() -> None:
    """DA-KI 4711 read, Ina's DA-KL 4711 one confusion (I/L) away: with few customers of
    that district and shape, an unregistered car with exactly that plate is far less likely
    than Ina's read with one confusion; among thousands, it is not."""
    read = Plate("DA", "KI", "4711")
    sparse = _likelihood({"DAKL4711": "10005"})
    result = sparse.match(read)
    assert result.status == Status.MATCHED and result.plate == "DAKL4711"
    assert result.account is not None and result.account.customer_number == "10005"
    crowded = {f"DAZZ{n}": f"2{n}" for n in range(1000, 7000)} | {"DAKL4711": "10005"}
    assert _likelihood(crowded).match(read).status == Status.NEEDS_REVIEW
    # the flat prior (one of plates_around) is the other way to set it
    assert _likelihood({"DAKL4711": "10005"}, text_prior="flat",
                       plates_around=10_000).match(read).status == Status.NEEDS_REVIEW


def test_clean_unregistered_read_next_to_a_customer_is_reported_unregistered() -> None:
    """F-X 7 read right, Jens's F-X 1 one confusion (1/7) away: short plates are nearly
    all taken, so the read is another car's plate, not Jens's misread."""
    short = {f"F{a}{n}": f"3{a}{n}" for a in "ABCDEGHJ" for n in "12345"}
    m = _likelihood(short | {"FX1": "10002"})
    result = m.match(Plate("F", "X", "7"))
    assert result.status == Status.UNREGISTERED and result.account is None
    # and Jens's own plate read right checks him in
    assert m.match(Plate("F", "X", "1")).status == Status.MATCHED


def test_clean_read_with_another_customer_one_cheap_confusion_away() -> None:
    """OF-WQ 338 read right, Ole's OF-HQ 338 one W/H away: a misread of Ole's plate gives
    exactly this text, 6 nats less likely than Eva's read right; the tuned rival margin (10)
    sends it to review as the cost rule does (lower margins checked in more wrong accounts
    on the tuning seed, mostly plates one lost character away), a margin below 6 checks
    Eva in. A rival only an arbitrary substitution away (12 nats) never stops her."""
    plates = {"OFWQ338": "10003", "OFHQ338": "10004"}
    read = Plate("OF", "WQ", "338")
    assert _likelihood(plates).match(read).status == Status.NEEDS_REVIEW
    lenient = _likelihood(plates, text_rival_margin=5.0).match(read)
    assert lenient.status == Status.MATCHED and lenient.plate == "OFWQ338"
    far = _likelihood({"OFWQ338": "10003", "OFWQ378": "10004"}).match(read)
    assert far.status == Status.MATCHED and far.plate == "OFWQ338"


def test_text_likelihood_never_checks_in_an_ambiguous_read_or_past_another_customers_read(
        ) -> None:
    plates = {"DAKL4711": "10005", "FX1": "10002"}
    m = _likelihood(plates)
    assert m.match(_plate("DA-KL 4711")).status == Status.MATCHED
    assert m.match(_plate("DA-KL 4711"), ambiguous=True).status == Status.NEEDS_REVIEW
    assert m.match(Plate("DA", "KI", "4711"), ambiguous=True).status == Status.NEEDS_REVIEW
    # one read of the car was Jens's plate exactly: nobody else is checked in, and the car
    # is not called unregistered either
    evidence = (("DAKL4711", 2.5), ("FX1", 0.7))
    assert m.match(_plate("DA-KL 4711"), evidence=evidence).status == Status.NEEDS_REVIEW
    assert m.match(_plate("WI-KT 9876"), evidence=(("WIKT9876", 2.0), ("FX1", 0.6))).status \
        == Status.NEEDS_REVIEW


def test_text_likelihood_weighs_the_cars_reads() -> None:
    """Confusions different reads make at different places are outvoted; one that every read
    repeats counts once, as for a lone read; the candidates come most likely first."""
    plates = {"OFAB123": "10001", "OFAB128": "10002"}
    m = _likelihood(plates)
    spread = (("OFAB123", 2.4), ("0FAB123", 0.8), ("OFA8123", 0.7))
    result = m.match(_plate("OF-AB 123"), evidence=spread)
    assert result.status == Status.NEEDS_REVIEW  # OFAB128 is one 3/8 away: 8 nats < 10
    assert [c.compact for c in result.candidates] == ["OFAB123", "OFAB128"]
    assert result.candidates[0].log_likelihood is not None
    m2 = _likelihood({"DAKL4711": "10005"})
    assert m2.match(Plate("DA", "KI", "4711"), evidence=(("DAKI4711", 2.9),)).status \
        == m2.match(Plate("DA", "KI", "4711")).status == Status.MATCHED
    assert m2.match(Plate("DA", "KI", "4711"), evidence=(
        ("DAKI4711", 1.0), ("DAKL4711", 1.8))).status == Status.MATCHED


def test_text_settings_are_validated() -> None:
    for bad in ({"text_rule": "fuzzy"}, {"text_prior": "uniform"}, {"text_edit_nats": -1.0},
                {"text_nats_per_cost": 30.0}, {"text_margin": -0.5},
                {"text_rival_margin": 51.0}, {"text_unregistered_margin": -1.0}):
        with pytest.raises(ValueError):
            MatchThresholds(**bad)  # type: ignore[arg-type]


def test_index_upkeep_keeps_the_plates_per_shape() -> None:
    m = _likelihood({"DAKL4711": "10005"})
    before = m._cells.log_fill("DAKI4711")
    m.add("DAKX4711", "10006")
    assert m._cells.log_fill("DAKI4711") > before
    assert m.remove("DAKX4711")
    assert m._cells.log_fill("DAKI4711") == pytest.approx(before)
    m.rebuild([("FX1", "10002")])
    assert m._cells.log_fill("DAKI4711") < before


def test_small_simulations_with_the_text_likelihood_check_in_no_wrong_account() -> None:
    totals, rows = simulated(11, 3000, LIKELIHOOD)
    assert totals["wrong_account"] == 0
    assert rows[("clean", "unregistered")]["correct_share"] > 0.97
    totals, rows = simulated(13, 1500, LIKELIHOOD, run_seed=13, frames=(3, 10), per_read=True)
    assert totals["wrong_account"] == 0
    assert rows[("confusion_each_read", "registered")]["correct_share"] > 0.85


def test_simulation_cli_reports_lone_reads_against_the_bound_and_sweeps_the_text_rule(
        capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from pipeline.bench.match_simulation import main

    assert main(["--plates", "400", "--passages", "300", "--seed", "5", "--frames", "1",
                 "--bound-samples", "2000", "--sweep", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["thresholds"]["text_rule"] == "likelihood"
    lone = summary["lone"]
    assert 0 < lone["clean_registered"] <= 1 and 0 < lone["clean_unregistered"] <= 1
    assert lone["one_confusion_of_bound"] == pytest.approx(
        lone["one_confusion"] / lone["bound_one_confusion"])
    assert lone["bound_one_confusion_after_grammar"] <= lone["bound_one_confusion"]
    sweep = summary["text_sweep"]
    assert {s["text_margin"] for s in sweep} >= {6.0, 7.0}
    # a larger margin only ever checks in fewer cars
    for channel in {(s["text_edit_nats"], s["text_nats_per_cost"]) for s in sweep}:
        rows = sorted((s["text_margin"], s["registered_correct"]) for s in sweep
                      if (s["text_edit_nats"], s["text_nats_per_cost"]) == channel
                      and s["text_rival_margin"] == 10.0
                      and s["text_unregistered_margin"] == 2.0)
        assert [r for _, r in rows] == sorted((r for _, r in rows), reverse=True)


def test_a_glyph_the_grammar_dropped_is_also_weighed_as_real() -> None:
    """``DFXX 838``: the grammar drops one X as read twice (``DF-X 838``), one D/O
    confusion from Ina's ``OF-X 838``. Told the read (``spurious``), the text rule also
    weighs an unregistered ``OF-XX 838`` read with that one confusion and no drop, so Ina
    is not checked in; on the shortened text alone she would be."""
    from pipeline.plate.districts import district_codes
    from pipeline.plate.grammar import parse_plate

    parsed = parse_plate("DFXX 838", district_codes())
    assert parsed is not None and parsed.as_read == "DFXX838"
    crowded = {f"OFZ{a}{n}": f"9{a}{n}" for a in "ABCDEFGHJKLMNPRSTUVW" for n in range(100, 125)}
    m = _likelihood(crowded | {"OFX838": "10005"})
    assert m.match(parsed.plate).status == Status.MATCHED
    told = m.match(parsed.plate, spurious=lone_spurious(parsed.plate.compact, parsed.as_read))
    assert told.status == Status.NEEDS_REVIEW and told.candidates[0].compact == "OFX838"
    # a bolt read as I before her plate read right still checks her in
    bolt = parse_plate("I OF-X 838", district_codes())
    assert bolt is not None and bolt.as_read == "IOFX838"
    result = m.match(bolt.plate, spurious=lone_spurious(bolt.plate.compact, bolt.as_read))
    assert result.status == Status.MATCHED and result.plate == "OFX838"
