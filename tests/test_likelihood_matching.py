"""Likelihood matching (issue 26): the CTC scoring of texts, the rule on small made-up scores,
and the real plate model reading rendered plates against registered neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.domain import Account, Status
from pipeline.matching.fuzzy import FuzzyMatcher, MatchThresholds
from pipeline.matching.likelihood import alternatives, grammatical, history_share, labels_of
from pipeline.matching.store_sync import StoreMatcher
from pipeline.plate.grammar import Plate, plate_from_label
from pipeline.reading.ctc import CharScores, log_likelihood_reads, squeeze_blanks

CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ-"

ACCOUNTS = {
    "10001": Account("10001", "Anna Schmidt", ("OFAB123", "OFAB124")),
    "10002": Account("10002", "Jens Becker", ("OFAB128",)),
    "10003": Account("10003", "Eva Roth", ("OFWQ338",)),
    "10004": Account("10004", "Ole Kern", ("OFHQ338",)),
}


# With 5 registered plates these priors give a registered plate the head start (6.3 nats over
# one unregistered plate) that the defaults give it among 22,000 registered plates.
PRIORS = MatchThresholds(unregistered_share=0.9, plates_around=24_000)


def matcher() -> FuzzyMatcher:
    plates = [(p, a.customer_number) for a in ACCOUNTS.values() for p in a.plates]
    return FuzzyMatcher(plates, ACCOUNTS.get, PRIORS)


def made_up(label: str, doubt: dict[int, dict[str, float]] | None = None) -> CharScores:
    """Scores a CTC model could give for ``label``: one frame per character (``doubt``: its
    distribution at some positions), a clear blank between characters."""
    rows = []
    blank = np.full(len(CHARSET) + 1, 1e-9)
    blank[0] = 1.0
    for i, ch in enumerate(label):
        row = np.full(len(CHARSET) + 1, 1e-9)
        for c, p in (doubt or {}).get(i, {ch: 1.0}).items():
            row[CHARSET.index(c) + 1] = p
        rows += [row / row.sum(), blank / blank.sum(), blank / blank.sum()]
    return CharScores(np.log(np.array(rows)), CHARSET)


def plate(label: str) -> Plate:
    p = plate_from_label(label)
    assert p is not None
    return p


def test_batched_forward_equals_the_one_read_forward_and_blank_runs_change_nothing() -> None:
    rng = np.random.default_rng(3)
    reads = []
    for frames in (30, 41):
        x = rng.normal(0, 2, (frames, len(CHARSET) + 1))
        x[:, 0] += rng.choice([0.0, 14.0], frames, p=[0.4, 0.6])
        reads.append(x - np.logaddexp.reduce(x, 1, keepdims=True))
    texts = ["OF-AB123", "OFAB123", "F-X1", "", "Ö", "A" * 40]
    want = np.array([CharScores(r, CHARSET).log_likelihood(texts) for r in reads])
    got = log_likelihood_reads(reads, CHARSET, texts)
    assert np.array_equal(np.isfinite(want), np.isfinite(got))
    finite = np.isfinite(want)
    assert np.allclose(want[finite], got[finite])
    squeezed = log_likelihood_reads([squeeze_blanks(r) for r in reads], CHARSET, texts)
    assert np.allclose(want[finite], squeezed[finite], atol=0.01)
    assert all(squeeze_blanks(r).shape[0] < r.shape[0] for r in reads)


def test_labels_grammar_and_the_models_alternatives() -> None:
    assert set(labels_of("OFAB123")) == {"OFAB123", "O-FAB123", "OF-AB123", "OFA-B123"}
    assert grammatical("OFAB123") and grammatical("FX1") and grammatical("OFE2345E")
    assert not grammatical("0FAB123") and not grammatical("OFAB0123") and not grammatical("QXAB1")
    alts = alternatives(made_up("OF-WQ338", {3: {"W": 0.6, "H": 0.4}}))
    assert {"OF-WQ338", "OF-HQ338", "OF-Q338", "OF-WQ38"} <= alts


def test_clean_read_checks_in_although_a_neighbour_is_another_customers() -> None:
    # today's text rule sends this to review: OFAB128 is one confusion (3/8) away
    result = matcher().match(plate("OF-AB123"), scores=(made_up("OF-AB123"),))
    assert result.status == Status.MATCHED and result.account is not None
    assert result.account.customer_number == "10001" and result.plate == "OFAB123"
    assert result.candidates[0].log_likelihood is not None


def test_clean_read_of_an_unregistered_neighbour_is_unregistered() -> None:
    result = matcher().match(plate("OF-AB129"), scores=(made_up("OF-AB129"),))
    assert result.status == Status.UNREGISTERED and result.account is None


def test_doubt_between_two_customers_goes_to_review_with_the_likelier_first() -> None:
    doubt = {3: {"W": 0.55, "H": 0.45}}
    result = matcher().match(plate("OF-WQ338"), scores=(made_up("OF-WQ338", doubt),))
    assert result.status == Status.NEEDS_REVIEW and result.account is None
    assert [c.compact for c in result.candidates[:2]] == ["OFWQ338", "OFHQ338"]


def test_frames_that_agree_settle_the_doubt() -> None:
    doubtful = made_up("OF-WQ338", {3: {"W": 0.55, "H": 0.45}})
    clear = made_up("OF-WQ338", {3: {"W": 0.999, "H": 0.001}})
    result = matcher().match(plate("OF-WQ338"), scores=(doubtful, clear, clear))
    assert result.status == Status.MATCHED and result.account is not None
    assert result.account.customer_number == "10003"


def test_doubt_between_a_customer_and_an_unregistered_plate_is_review() -> None:
    # 3 or 9: OFAB123 registered, OFAB129 not; the registered plate's head start is not
    # enough for a check-in, the 9 not enough to call the car unregistered
    doubt = {7: {"3": 0.05, "9": 0.95}}
    result = matcher().match(plate("OF-AB129"), scores=(made_up("OF-AB129", doubt),))
    assert result.status == Status.NEEDS_REVIEW


def test_doubt_between_one_customers_two_cars_checks_that_customer_in() -> None:
    doubt = {7: {"3": 0.5, "4": 0.5}}
    result = matcher().match(plate("OF-AB123"), scores=(made_up("OF-AB123", doubt),))
    assert result.status == Status.MATCHED and result.account is not None
    assert result.account.customer_number == "10001"


def test_ambiguous_never_checks_in_and_no_scores_falls_back_to_the_text_rule() -> None:
    m = matcher()
    assert m.match(plate("OF-AB123"), ambiguous=True,
                   scores=(made_up("OF-AB123"),)).status != Status.MATCHED
    # without scores: the text rule, which sends this read to review (OFAB128 is near)
    assert m.match(plate("OF-AB123")).status == Status.NEEDS_REVIEW


def test_the_prior_comes_from_the_drive_ins_own_history_once_it_has_enough() -> None:
    """history_share: unregistered among decided cars, bounded; StoreMatcher uses it."""
    assert history_share({"matched": 700, "unregistered": 300, "needs_review": 50}, 300) == 0.3
    assert history_share({"matched": 100, "unregistered": 50}, 300) is None
    assert history_share({"matched": 1000}, 10) == 0.01
    assert history_share({"unregistered": 1000}, 10) == 0.9

    class Store:
        counts: dict[str, int] = {}

        def plate_index(self) -> list[tuple[str, str]]:
            return [("OFAB123", "1")]

        def plates_fingerprint(self) -> tuple[int, int]:
            return (1, 1)

        def account(self, customer_number: str) -> Account | None:
            return None

        def status_history(self, since: str) -> dict[str, int]:
            return self.counts

    store = Store()
    matcher = StoreMatcher(store, MatchThresholds(unregistered_share=0.2))
    assert matcher.fuzzy.thresholds.unregistered_share == 0.2  # no history yet
    store.counts = {"matched": 600, "unregistered": 400}
    assert matcher.refresh_prior() == 0.4
    assert matcher.fuzzy.thresholds.unregistered_share == 0.4
    assert matcher.configured.unregistered_share == 0.2  # the setting itself stays
    off = StoreMatcher(store, MatchThresholds(prior_history_days=0))
    assert off.fuzzy.thresholds.unregistered_share == 0.2
    with pytest.raises(ValueError, match="prior_min_arrivals"):
        MatchThresholds(prior_min_arrivals=5)


def test_likelihood_settings_are_validated() -> None:
    for bad in ({"unregistered_share": 0.0}, {"unregistered_share": 0.95},
                {"plates_around": 10}, {"likelihood_margin": -1.0},
                {"unregistered_margin": 60.0}, {"max_scored_reads": 0}):
        with pytest.raises(ValueError):
            MatchThresholds(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("label", ["OF-AB123", "F-X1", "DA-KL4711", "GG-E2345E"])
def test_real_model_reads_of_rendered_plates_match_by_likelihood(plate_reader, label) -> None:
    """The real German model on rendered plates: the registered plate is checked in although
    another customer's plate is one confusion away; the same plate unregistered is reported
    unregistered (its registered neighbour is not named)."""
    from pipeline.detection.types import Box
    from pipeline.synth.augment import detector_crop
    from pipeline.synth.plate_render import render_plate

    if plate_reader.recogniser.name != "kennzeichen_de":
        pytest.skip("the German plate model is not in models/")
    rng = np.random.default_rng(26)
    crop = detector_crop(render_plate(label, rng), rng)
    read = plate_reader.read_box(crop, Box(0, 0, crop.shape[1], crop.shape[0]))
    assert read is not None and read.plate is not None and read.scores is not None
    truth = plate(label).compact
    assert read.plate.compact == truth
    digit = truth[-1] if truth[-1].isdigit() else truth[-2]
    neighbour = truth.replace(digit, "8" if digit != "8" else "3")
    accounts = {"1": Account("1", "Eins", (truth,)), "2": Account("2", "Zwei", (neighbour,))}
    # 22,000 other customers' plates in Mainz, far from these: the defaults' priors
    filler = [(f"MZ{a}{b}{n}", f"F{a}{b}{n}") for a in "ABCDEFGHJK" for b in "LMNPRSTUVW"
              for n in range(1000, 1220)]
    registered = FuzzyMatcher([*filler, (truth, "1"), (neighbour, "2")], accounts.get)
    result = registered.match(read.plate, read.ambiguous, None, (read.scores,))
    assert result.status == Status.MATCHED and result.account is not None
    assert result.account.customer_number == "1"
    unregistered = FuzzyMatcher([*filler, (neighbour, "2")], accounts.get)
    assert unregistered.match(read.plate, read.ambiguous, None,
                              (read.scores,)).status == Status.UNREGISTERED


def test_real_read_benchmark_reads_and_replays_both_rules(tmp_path, recogniser) -> None:
    """match_reads on a few cars: rendered, read by the real model, saved, resumed and
    replayed; every car has one outcome per mode and rule."""
    from pipeline.bench.match_reads import load_reads, read_cars, replay

    if recogniser.name != "kennzeichen_de":
        pytest.skip("the German plate model is not in models/")
    path = tmp_path / "reads.pkl"
    first = read_cars(5002, 2, 2000, progress=False, save=path)
    path.write_bytes(__import__("pickle").dumps(first))
    data = read_cars(5002, 3, 2000, progress=False, save=path)  # resumes after car 2
    assert [c.truth for c in data.cars[:2]] == [c.truth for c in first.cars]
    assert len(data.cars) == 3 and load_reads(path).seed == 5002
    result = replay(data, MatchThresholds())
    for mode in ("car", "lone"):
        for rule in ("text", "likelihood"):
            assert sum(sum(c.values()) for (m, r, _), c in result.counts.items()
                       if m == mode and r == rule) == 3
    assert result.match_cpu_ms


def test_the_tracker_hands_the_most_confident_reads_scores_to_matching() -> None:
    from pipeline.detection.types import Box
    from pipeline.reading.plate_reader import PlateRead
    from pipeline.tracking.passages import KEPT_SCORES, PassageTracker, TrackerConfig

    tracker = PassageTracker(TrackerConfig(agree=99, dedup_s=0.0))
    made = [made_up("OF-AB123") for _ in range(KEPT_SCORES + 3)]
    confidences = [0.5 + 0.04 * i for i in range(len(made))]
    for i, (s, c) in enumerate(zip(made, confidences, strict=True)):
        read = PlateRead(Box(100, 100, 160, 36), "OF-AB123", c, plate("OF-AB123"), scores=s)
        assert tracker.update(0.1 * i, [read]) == []
    tracker.update(0.1 * len(made), [PlateRead(Box(100, 100, 160, 36), "OF-AB123", 0.99,
                                               plate("OF-AB123"))])  # no scores: stock model
    (passage,) = tracker.flush()
    assert list(passage.scores) == made[::-1][:KEPT_SCORES]
