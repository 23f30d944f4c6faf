"""The detector's learned plate/no-plate classifier: the shipped weights load offline and
rank the plate first in varied scenes it was not trained on; training and the product compute
the same scores; without the weights the hand-set ranking still works; the varied scenes
are reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.detection.classifier import MODEL_NAME, PlateClassifier, default_classifier
from pipeline.detection.morphology import MorphologyConfig, MorphologyDetector
from pipeline.detection.types import Box
from pipeline.domain import SOURCE_MODELS_DIR
from pipeline.synth import plate_render as pr
from pipeline.synth.scenes import foreign_plate, variety_frame
from pipeline.training.plate_classifier import Candidates, scores, train

fonts = pytest.mark.skipif(
    not (pr.FONT_DIN.exists() and pr.FONT_DEJAVU.exists()),
    reason="rendering fonts (fonts-opendin, fonts-dejavu-core) not installed")


def test_the_shipped_classifier_loads_offline_and_is_small() -> None:
    path = SOURCE_MODELS_DIR / MODEL_NAME
    assert path.stat().st_size < 2_000_000
    model = default_classifier()
    assert model is not None and 0.0 <= model.threshold < 1.0
    assert MorphologyDetector().classifier is model


def test_training_and_the_product_compute_the_same_scores(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 30)).astype(np.float32)
    y = x[:, 0] + 0.3 * rng.normal(size=200) > 0
    data = Candidates(x, y, y.astype(np.float32), np.arange(200), np.zeros(200, bool),
                      np.array(["variety"] * 200), np.ones(200, bool))
    model = train(data, hidden=8, decay=1e-3, epochs=300)
    np.savez(tmp_path / "m.npz", threshold=np.array(0.3), **model)
    loaded = PlateClassifier.load(tmp_path / "m.npz")
    assert np.allclose(loaded.scores(x), scores(model, x), atol=1e-5)
    assert loaded.threshold == pytest.approx(0.3)
    accuracy = float(((loaded.scores(x) >= 0.5) == y).mean())
    assert accuracy > 0.8  # it learned the one informative feature


@fonts
def test_the_plate_comes_first_in_varied_scenes_not_trained_on() -> None:
    # seed 9800: outside the training (5600-5649) and validation (5700-5749) seeds
    rng = np.random.default_rng(9800)
    detector = MorphologyDetector()
    plates = first = 0
    while plates < 20:
        image, box, _ = variety_frame(rng, empty_share=0.0)
        assert box is not None
        found = detector.detect(image)
        plates += 1
        first += bool(found) and found[0].box.iou(Box(*box)) >= 0.5
    assert first >= 16, f"plate first in {first}/20 varied scenes"


@fonts
def test_without_the_weights_the_hand_set_ranking_finds_the_plate() -> None:
    rng = np.random.default_rng(3)
    image, box, _ = variety_frame(rng, german_share=1.0, empty_share=0.0)
    detector = MorphologyDetector(MorphologyConfig(learned=False))
    assert detector.classifier is None
    assert any(d.box.iou(Box(*box)) >= 0.5 for d in detector.detect(image))


@fonts
def test_varied_frames_are_reproducible_and_their_boxes_inside() -> None:
    a = variety_frame(np.random.default_rng(7))
    b = variety_frame(np.random.default_rng(7))
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    rng = np.random.default_rng(8)
    for _ in range(10):
        image, box, kind = variety_frame(rng)
        h, w = image.shape[:2]
        assert (box is None) == (kind == "none")
        if box is not None:
            x, y, bw, bh = box
            assert x >= 0 and y >= 0 and x + bw <= w and y + bh <= h and bw >= 30
    plate = foreign_plate(np.random.default_rng(1))
    assert plate.dtype == np.float32 and 2.0 <= plate.shape[1] / plate.shape[0] <= 5.0
