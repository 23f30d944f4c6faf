"""District scoring: the CTC likelihood of nearby official codes picks the district, with the
recogniser's frame scores kept next to its text."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.plate.districts import district_codes
from pipeline.plate.grammar import parse_plate
from pipeline.reading.ctc import CharScores
from pipeline.reading.recognisers import PlateModelRecogniser, Recogniser, TextRead
from pipeline.reading.rescore import nearby_districts, parse_read

CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ-"
DISTRICTS = district_codes()


def frames(*columns: dict[str, float]) -> CharScores:
    """Scores with one frame per dict ({character: probability}, the rest to the blank),
    each followed by a blank frame, as a CTC model emits a plate."""
    rows = []
    for col in columns:
        row = np.full(len(CHARSET) + 1, 1e-6)
        for c, p in col.items():
            row[CHARSET.index(c) + 1] = p
        row[0] = max(1e-6, 1 - sum(col.values()))
        rows += [row, np.eye(len(CHARSET) + 1)[0] + 1e-6]
    return CharScores(np.log(np.array(rows) / np.sum(rows, axis=1, keepdims=True)), CHARSET)


def read_of(text: str, **doubt: dict[str, float]) -> TextRead:
    """A read of ``text`` whose characters are sure, except at the positions named
    ``at<i>`` where the given probabilities stand."""
    cols = [doubt.get(f"at{i}", {c: 0.98}) for i, c in enumerate(text)]
    return TextRead(text, 0.9, frames(*cols))


def test_ctc_likelihood_is_torchs() -> None:
    torch = pytest.importorskip("torch")
    f = torch.nn.functional
    rng = np.random.default_rng(3)
    log_probs = torch.log_softmax(torch.tensor(rng.normal(size=(48, 41)) * 3), 1)
    texts = ["OF-AB123", "AA", "ÄÖÜ-A1", "F-X1", "OF-E2345E", "B-NO1234"]
    ours = CharScores(log_probs.numpy(), CHARSET).log_likelihood(texts)
    for text, got in zip(texts, ours, strict=True):
        target = torch.tensor([[CHARSET.index(c) + 1 for c in text]])
        want = -f.ctc_loss(log_probs.unsqueeze(1), target, torch.tensor([48]),
                           torch.tensor([len(text)]), reduction="sum")
        assert got == pytest.approx(float(want), rel=1e-9)


def test_impossible_texts_have_no_likelihood() -> None:
    scores = frames({"A": 0.9}, {"B": 0.9})
    got = scores.log_likelihood(["AB", "a", "", "ABABABA"])
    assert got[0] > np.log(0.5)
    assert np.all(np.isneginf(got[1:]))


def test_nearby_districts_fold_umlauts() -> None:
    assert "DÜW" in nearby_districts("DUH", DISTRICTS)  # lost dots and W read as H
    assert {"KÖN", "KÜN"} <= set(nearby_districts("KON", DISTRICTS))
    assert {"BO", "BÖ"} <= set(nearby_districts("BO", DISTRICTS))
    assert "TÖL" in nearby_districts("TNL", DISTRICTS)
    assert all(d in DISTRICTS for d in nearby_districts("OF", DISTRICTS))


def test_scores_pick_the_umlaut_the_model_saw() -> None:
    # greedy says O; the grammar's only umlaut for KON is KÖN, but the model saw Ü more
    # likely than Ö
    read = read_of("KON-WJ82", at1={"O": 0.4, "Ü": 0.35, "Ö": 0.2})
    assert parse_plate(read.raw, DISTRICTS).plate.district == "KÖN"
    result = parse_read(read, DISTRICTS)
    assert result is not None and result.plate.display == "KÜN-WJ 82"
    assert result.fixes == parse_plate(read.raw, DISTRICTS).fixes + 1


def test_a_district_with_no_single_look_alike_is_scored() -> None:
    read = read_of("TNL-ZQ32", at1={"N": 0.5, "Ö": 0.3, "O": 0.1})
    assert parse_plate(read.raw, DISTRICTS) is None
    result = parse_read(read, DISTRICTS)
    assert result is not None and result.plate.display == "TÖL-ZQ 32"


def test_a_clean_read_is_left_alone() -> None:
    read = read_of("OF-AB123")
    assert parse_read(read, DISTRICTS) == parse_plate(read.raw, DISTRICTS)
    # without scores or without the list, it is the grammar alone
    assert parse_read(TextRead("KON-WJ82", 0.9), DISTRICTS) == parse_plate("KON-WJ82", DISTRICTS)
    assert parse_read(read_of("KON-WJ82"), None) == parse_plate("KON-WJ82", None)


def test_scoring_never_drops_a_glyph_the_model_saw() -> None:
    # a real scene of B-EG 773E read BEG773E with a faint E: the nearby code B must take the
    # E into the letters (B-EG), never drop it (B-G 773E); the split stays ambiguous
    read = read_of("BEG773E", at1={"E": 0.5})
    grammar = parse_plate(read.raw, DISTRICTS)
    assert grammar is not None and grammar.ambiguous
    result = parse_read(read, DISTRICTS)
    assert result is not None and result.plate.compact == "BEG773E" and result.ambiguous
    assert result.plate.display in ("B-EG 773E", "BE-G 773E")


def test_no_seal_gap_no_made_up_plate() -> None:
    # the grammar rejects it and nothing marks it as a German plate: it stays rejected
    assert parse_read(read_of("TNLZQ32", at1={"N": 0.5, "Ö": 0.3}), DISTRICTS) is None
    assert parse_read(read_of("EXIT-3"), DISTRICTS) is None


@pytest.mark.real
def test_plate_model_reads_as_easyocr_recognize(recogniser: Recogniser) -> None:
    from pipeline.training.synth_data import TEST, sample

    if not isinstance(recogniser, PlateModelRecogniser):
        pytest.skip("the German plate model is not loaded")
    reader = recogniser._reader
    for i in range(20):
        _, crop = sample(TEST, 100_200 + i)
        ours = recogniser.recognise(crop)
        gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        h, w = gray.shape
        (_, text, conf), = reader.recognize(gray, horizontal_list=[[0, w, 0, h]],
                                            free_list=[], detail=1)
        assert ours is not None and ours.raw == text.strip()
        assert ours.confidence == pytest.approx(conf, abs=1e-5)
        assert ours.scores is not None and ours.scores.log_likelihood([ours.raw])[0] < 0


@pytest.mark.real
def test_scoring_reads_more_umlaut_districts(recogniser: Recogniser) -> None:
    """On synthetic plates whose district has an umlaut (indices no evaluation uses), the
    scored district is right at least as often as the grammar's alone, and nine times in ten."""
    from pipeline.training.synth_data import VAL_UMLAUT, sample

    if not isinstance(recogniser, PlateModelRecogniser):
        pytest.skip("the German plate model is not loaded")
    grammar = scored = n = 0
    for i in range(100_000, 100_120):
        label, crop = sample(VAL_UMLAUT, i)
        district = label.split("-")[0]
        if district not in DISTRICTS:
            continue
        n += 1
        read = recogniser.recognise(crop)
        if read is None:
            continue
        by_grammar, by_scores = parse_plate(read.raw, DISTRICTS), parse_read(read, DISTRICTS)
        grammar += by_grammar is not None and by_grammar.plate.district == district
        scored += by_scores is not None and by_scores.plate.district == district
    assert n >= 60
    assert scored >= grammar and scored >= 0.9 * n, (scored, grammar, n)
