"""A learned plate/no-plate score for a candidate: HOG of its crop plus the evidence.

The hand-weighted ``evidence.plate_score`` was set on drive-in scenes with German plates; a
real photo also shows foreign and band-less plates, signs, stickers and grilles. This scores
a candidate with a small network (one hidden layer, numpy only) trained by
``pipeline.training.plate_classifier`` on candidates the detector proposes in the project's
own synthetic scenes (``models/plate_classifier.npz``, its card
``models/MODEL_CARD_plate_classifier.md``).
The features are computed here and nowhere else, so training and the product see the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from pipeline.detection.types import MERGED, WHOLE_IMAGE, Detection, Evidence
from pipeline.domain import INSTALLED_MODELS_DIR, SOURCE_MODELS_DIR

log = logging.getLogger(__name__)

FEATURE_VERSION = 1
MODEL_NAME = "plate_classifier.npz"
SCALARS = 15  # the features before the HOG cells
HOG_SIZE = (128, 32)  # width, height the crop is scaled to for its HOG
_HOG = cv2.HOGDescriptor(HOG_SIZE, (16, 16), (8, 8), (8, 8), 9)


def candidate_features(image: np.ndarray, crop: np.ndarray, det: Detection,
                       ev: Evidence) -> np.ndarray:
    """The feature vector of ``det``: scalars from the morphology and the evidence ``ev``
    measured on ``crop`` (the candidate's padded crop at the evidence's height, BGR or
    grey), then the HOG of ``crop``."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    height, width = image.shape[:2]
    scalars = np.array([
        det.score, min(ev.glyphs, 8) / 8, ev.glyph_height, min(1.0, ev.band / 0.35),
        float(np.log(gray.shape[1] / max(1, gray.shape[0]))),
        det.box.w / width, det.box.h / height,
        det.source == MERGED, det.source == WHOLE_IMAGE, det.lines == 2, abs(det.angle) / 30,
        float(gray.std()) / 128, float(gray.mean()) / 255, ev.span, ev.spread,
    ], np.float32)
    assert len(scalars) == SCALARS
    hog = _HOG.compute(cv2.resize(gray, HOG_SIZE, interpolation=cv2.INTER_AREA)).ravel()
    return np.concatenate([scalars, hog])


@dataclass(frozen=True)
class PlateClassifier:
    """Standardised features through dense layers (ReLU between, a logistic at the end);
    ``threshold``: candidates scoring under it are dropped (set on synthetic validation)."""

    mean: np.ndarray
    std: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    threshold: float

    @classmethod
    def load(cls, path: Path) -> PlateClassifier:
        with np.load(path, allow_pickle=False) as data:
            version = int(data["feature_version"])
            if version != FEATURE_VERSION:
                raise ValueError(f"{path}: features v{version}, this code computes "
                                 f"v{FEATURE_VERSION}")
            count = int(data["layer_count"])
            layers = tuple((data[f"w{i}"].astype(np.float32), data[f"b{i}"].astype(np.float32))
                           for i in range(count))
            return cls(data["mean"].astype(np.float32), data["std"].astype(np.float32), layers,
                       float(data["threshold"]))

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Plate probabilities, 0..1, of the rows of ``features``."""
        x = (np.atleast_2d(features) - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return 1.0 / (1.0 + np.exp(-x[:, 0]))


@lru_cache(maxsize=1)
def default_classifier() -> PlateClassifier | None:
    """The shipped classifier from the checkout's ``models/`` or the installed copy; None
    (with a warning: ranking falls back to the hand-set evidence weights) when missing."""
    for folder in (SOURCE_MODELS_DIR, INSTALLED_MODELS_DIR):
        if (folder / MODEL_NAME).is_file():
            return PlateClassifier.load(folder / MODEL_NAME)
    log.warning("plate classifier %s not found; candidates ranked by hand-set weights",
                MODEL_NAME)
    return None
