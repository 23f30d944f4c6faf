"""Synthetic training/validation samples: label + detector-like crop, deterministic per seed.

Each sample is drawn from its own generator ``default_rng([SEED_BASE, split, index])``, so
the splits (train, validation, held-out test) never share a sample and any sample can be
regenerated on its own.
"""

from __future__ import annotations

import numpy as np

from pipeline.detection.two_line import split_rows
from pipeline.synth.augment import detector_crop
from pipeline.synth.fe_glyphs import GlyphBank, load_bank
from pipeline.synth.plate_render import (
    FALLBACK_DISTRICTS,
    MAX_CHARS,
    parse_label,
    random_plate,
    render_free_plate,
    render_plate,
    render_two_line_plate,
)

CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ-"
SEED_BASE = 20261125
TRAIN, VAL, TEST = 1, 2, 3  # split ids; TEST is the held-out range for final figures
TRAIN_CONFUSABLE = 4  # extra training split rich in W/M/H/N/V (real W was read as H)
TRAIN_UMLAUT, VAL_UMLAUT = 5, 6  # every district has an umlaut (small crops lost the dots)
# Plates from the real FE-Schrift glyph bank (pipeline.synth.fe_glyphs): training plates from
# its training instances (FE_SHARE of them; the rest in the fonts, for variety), validation
# and test plates only from its validation instances and all in the real glyphs.
TRAIN_FE, VAL_FE, TEST_FE = 7, 8, 9
FE_SHARE = 0.8
# One row of a two-line plate, cut as the reader cuts it (``split_rows``), labelled with what
# that row holds: ``DI-YC`` on top, ``3845`` below. Glyphs as in the FE splits.
TRAIN_ROWS, VAL_ROWS = 10, 11
# Plates that follow no German rule (other European layouts and random ones), labelled with
# their characters only: the model learns to read what is printed, letters after digits
# included, instead of what a German plate would hold. Glyphs: half bank, half fonts.
TRAIN_FREE, VAL_FREE = 12, 13
# Every district has an umlaut, glyphs as in TRAIN_FE: the FE-Schrift counterpart of
# TRAIN_UMLAUT, for the small crops whose dots the model still loses.
TRAIN_FE_UMLAUT = 14
FREE_BANK_SHARE = 0.5
# L = letter, D = digit, space = gap: Slovak, Polish, Norwegian, British, Czech, French, ...
FREE_LAYOUTS = ("LL DDDLL", "LL DDDDD", "LLL DDDD", "LLL DDLL", "LLDD LLL", "DLD DDDD",
                "LL DDD LL", "L DDDDDD", "DDD LLL")
CONFUSABLE = "WWWMMHHNVUKÜ"
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
        return random_code(rng, umlaut=u < 0.15)
    return FALLBACK_DISTRICTS[int(rng.integers(len(FALLBACK_DISTRICTS)))]


def random_code(rng: np.random.Generator, umlaut: bool) -> str:
    """Random 1-3 letters, one of them replaced by Ä, Ö or Ü when ``umlaut``."""
    chars = [_AZ[int(i)] for i in rng.integers(0, 26, int(rng.integers(1, 4)))]
    if umlaut:
        chars[int(rng.integers(len(chars)))] = "ÄÖÜ"[int(rng.integers(3))]
    return "".join(chars)


def umlaut_district(rng: np.random.Generator) -> str:
    """District with an umlaut: 70 % real umlaut codes, 30 % random 1-3 letters with one."""
    if rng.random() < 0.7:
        return UMLAUT_DISTRICTS[int(rng.integers(len(UMLAUT_DISTRICTS)))]
    return random_code(rng, umlaut=True)


def confusable_plate(rng: np.random.Generator) -> str:
    """A valid plate whose district and letters are mostly W, M, H, N, V, U, K, Ü."""

    def letters(n: int) -> str:
        return "".join(CONFUSABLE[int(rng.integers(len(CONFUSABLE)))] if rng.random() < 0.6
                       else _AZ[int(rng.integers(26))] for _ in range(n))

    district, rest = letters(int(rng.integers(1, 4))), letters(int(rng.integers(1, 3)))
    n_digits = int(rng.integers(1, min(4, MAX_CHARS - len(district) - len(rest)) + 1))
    digits = str(int(rng.integers(1, 10))) + "".join(
        str(int(d)) for d in rng.integers(0, 10, n_digits - 1))
    label = f"{district}-{rest}{digits}"
    parse_label(label)  # raises ValueError if the construction were ever invalid
    return label


def glyphs_for(split: int, rng: np.random.Generator) -> GlyphBank | None:
    """The glyph bank part a sample of ``split`` is drawn from, or ``None`` for the fonts."""
    if split in (TRAIN_FE, TRAIN_ROWS, TRAIN_FE_UMLAUT):
        return load_bank("train") if rng.random() < FE_SHARE else None
    if split in (VAL_FE, TEST_FE, VAL_ROWS):
        return load_bank("val")
    if split in (TRAIN_FREE, VAL_FREE) and rng.random() < FREE_BANK_SHARE:
        return load_bank("train" if split == TRAIN_FREE else "val")
    return None


def free_layout(rng: np.random.Generator) -> list[str]:
    """Groups of a plate in no German layout: 70 % a common European layout, 30 % 5-8
    random letters and digits in one to three groups."""
    if rng.random() < 0.7:
        layout = FREE_LAYOUTS[int(rng.integers(len(FREE_LAYOUTS)))]
    else:
        kinds = "".join("LD"[int(k)] for k in rng.integers(0, 2, int(rng.integers(5, 9))))
        cuts = sorted(int(c) for c in rng.choice(np.arange(1, len(kinds)),
                                                 int(rng.integers(0, 3)), replace=False))
        layout = " ".join(kinds[a:b] for a, b in zip([0, *cuts], [*cuts, len(kinds)], strict=True))
    return ["".join(_AZ[int(rng.integers(26))] if k == "L" else str(int(rng.integers(10)))
                    for k in group) for group in layout.split()]


def sample(split: int, index: int) -> tuple[str, np.ndarray]:
    """(label, BGR uint8 crop) number ``index`` of ``split``."""
    rng = np.random.default_rng([SEED_BASE, split, index])
    if split in (TRAIN_ROWS, VAL_ROWS):
        row = two_line_row(split, rng)
        if row is not None:
            return row
    if split in (TRAIN_FREE, VAL_FREE):
        groups = free_layout(rng)
        plate = render_free_plate(groups, rng, glyphs=glyphs_for(split, rng))
        return "".join(groups), detector_crop(plate, rng)
    if split == TRAIN_CONFUSABLE:
        label = confusable_plate(rng)
    elif split in (TRAIN_UMLAUT, VAL_UMLAUT, TRAIN_FE_UMLAUT):
        label = random_plate(rng, umlaut_district(rng))
    else:
        label = random_plate(rng, random_district(rng))
    plate = render_plate(label, rng, glyphs=glyphs_for(split, rng))
    return label, detector_crop(plate, rng)


def two_line_row(split: int, rng: np.random.Generator) -> tuple[str, np.ndarray] | None:
    """(row label, BGR crop) of one row of a rendered two-line plate, cut by the reader's
    ``split_rows``; ``None`` when it finds no two rows (the caller draws a one-line plate)."""
    label = random_plate(rng, random_district(rng))
    plate = render_two_line_plate(label, rng, glyphs=glyphs_for(split, rng))
    rows = split_rows(detector_crop(plate, rng))
    if rows is None:
        return None
    district, letters, digits, suffix = parse_label(label)
    if rng.random() < 0.5:
        return f"{district}-{letters}", rows[0]
    return digits + suffix, rows[1]
