"""Synthetic training/validation samples: label + detector-like crop, deterministic per seed.

Each sample is drawn from its own generator ``default_rng([SEED_BASE, split, index])``, so
the splits (train, validation, held-out test) never share a sample and any sample can be
regenerated on its own.
"""

from __future__ import annotations

import numpy as np

from pipeline.synth.augment import detector_crop
from pipeline.synth.plate_render import FALLBACK_DISTRICTS, random_plate, render_plate

CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ-"
SEED_BASE = 20261125
TRAIN, VAL, TEST = 1, 2, 3  # split ids; TEST is the held-out range for final figures
UMLAUT_DISTRICTS = tuple(d for d in FALLBACK_DISTRICTS if any(c in d for c in "ÄÖÜ"))
_AZ = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def random_district(rng: np.random.Generator) -> str:
    """District for a training plate: 10 % real umlaut codes, 5 % random codes with an umlaut,
    35 % real codes, 50 % random 1-3 letters (so the model learns no district prior).

    Uses the built-in code list only, so the data does not change when the official
    district list changes.
    """
    u = rng.random()
    if u < 0.10:
        return UMLAUT_DISTRICTS[int(rng.integers(len(UMLAUT_DISTRICTS)))]
    if u < 0.50:
        chars = [_AZ[int(i)] for i in rng.integers(0, 26, int(rng.integers(1, 4)))]
        if u < 0.15:
            chars[int(rng.integers(len(chars)))] = "ÄÖÜ"[int(rng.integers(3))]
        return "".join(chars)
    return FALLBACK_DISTRICTS[int(rng.integers(len(FALLBACK_DISTRICTS)))]


def sample(split: int, index: int) -> tuple[str, np.ndarray]:
    """(label, BGR uint8 crop) number ``index`` of ``split``."""
    rng = np.random.default_rng([SEED_BASE, split, index])
    label = random_plate(rng, random_district(rng))
    return label, detector_crop(render_plate(label, rng), rng)
