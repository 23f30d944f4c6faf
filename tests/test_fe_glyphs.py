"""The FE-Schrift glyph bank for the renderer: cleaning, the fixed train/validation split of
its instances, the clear error without it, and plates composed from it (real bank from
``../shared/train/fe_glyphs``; those tests skip without it)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.synth import fe_glyphs
from pipeline.synth.plate_render import FONT_DEJAVU, FONT_DIN, render_plate

needs_bank = pytest.mark.skipif(
    not (fe_glyphs.bank_dir() / fe_glyphs.BOXES).is_file(),
    reason="../shared/train/fe_glyphs is not beside the checkout")
needs_fonts = pytest.mark.skipif(not (FONT_DIN.exists() and FONT_DEJAVU.exists()),
                                 reason="rendering fonts not installed")


def _staircase_l(h: int = 44, w: int = 27) -> np.ndarray:
    """A 1-bit 'L' (black on white) with a loose speck, as cut from the sheet."""
    img = np.full((h + 6, w + 6), 255, np.uint8)
    img[3:3 + h, 3:10] = 0
    img[3 + h - 7:3 + h, 3:3 + w] = 0
    img[0, w + 5] = 0  # a speck from the neighbouring glyph
    return img


def test_clean_glyph_is_smooth_cropped_and_speck_free() -> None:
    mask = fe_glyphs.clean_glyph(_staircase_l())
    assert mask is not None and mask.dtype == np.float32
    assert mask.shape[0] == fe_glyphs.MASK_HEIGHT
    assert mask.min() >= 0.0 and mask.max() <= 1.0
    # cropped to the L: its width follows the 27 x 44 proportions, the speck is gone
    assert abs(mask.shape[1] / mask.shape[0] - 27 / 44) < 0.05
    # anti-aliased: intermediate values on the edges, not a 1-bit staircase
    assert ((mask > 0.1) & (mask < 0.9)).sum() > 100
    assert fe_glyphs.clean_glyph(np.full((40, 20), 255, np.uint8)) is None


def test_a_single_bitmap_serves_both_parts() -> None:
    assert fe_glyphs.split_indices(1, "Q") == {"train": [0], "val": [0]}


def test_vary_keeps_the_glyph_but_changes_its_print() -> None:
    mask = fe_glyphs.clean_glyph(_staircase_l())
    a = fe_glyphs.vary(mask, np.random.default_rng(1))
    b = fe_glyphs.vary(mask, np.random.default_rng(2))
    assert a.shape != b.shape or np.abs(a - b).mean() > 0.01
    for v in (a, b):  # still the same L: height kept, width within the tolerances
        assert abs(v.shape[0] - mask.shape[0]) <= 0.05 * mask.shape[0]
        assert 0.85 < v.shape[1] / mask.shape[1] < 1.2


def test_split_is_fixed_disjoint_and_complete() -> None:
    a, b = fe_glyphs.split_indices(40, "W"), fe_glyphs.split_indices(40, "W")
    assert a == b
    assert not set(a["train"]) & set(a["val"])
    assert sorted(a["train"] + a["val"]) == list(range(40))
    assert len(a["val"]) == 10
    assert fe_glyphs.split_indices(40, "M") != a  # each character its own draw


def test_missing_bank_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=fe_glyphs.BANK_ENV):
        fe_glyphs.load_bank("train", tmp_path / "nowhere")


@needs_bank
def test_bank_has_every_character_once_per_distinct_bitmap() -> None:
    train, val = fe_glyphs.load_bank("train"), fe_glyphs.load_bank("val")
    for c in fe_glyphs.CHARS:
        assert train.glyphs[c] and val.glyphs[c], c
        distinct = {m.tobytes() for m in train.glyphs[c]}
        assert len(distinct) == len(train.glyphs[c]), c  # repeats merged
        if len(distinct) > 1:  # with something to hold out, nothing is shared
            assert not any(m.tobytes() in distinct for m in val.glyphs[c]), c


@needs_bank
@needs_fonts
def test_plate_from_the_bank_uses_its_glyphs() -> None:
    bank = fe_glyphs.load_bank("val")
    rng = np.random.default_rng(5)
    plate = render_plate("DÜW-AS870", rng, glyphs=bank)
    fonts = render_plate("DÜW-AS870", np.random.default_rng(5))
    assert plate.shape == fonts.shape == (110, 520, 3)
    # the same rng with and without a bank: the glyphs differ, the layout does not break
    assert np.abs(plate.astype(int) - fonts.astype(int)).mean() > 3
    ink = cv2.cvtColor(plate, cv2.COLOR_BGR2GRAY) < 100
    assert ink[:, 60:].mean() > 0.1  # characters were drawn right of the band


@needs_bank
@needs_fonts
def test_validation_and_test_samples_come_from_validation_instances() -> None:
    from pipeline.training import synth_data as sd

    rng = np.random.default_rng(0)
    assert sd.glyphs_for(sd.VAL_FE, rng).part == "val"
    assert sd.glyphs_for(sd.TEST_FE, rng).part == "val"
    parts = {getattr(sd.glyphs_for(sd.TRAIN_FE, rng), "part", None) for _ in range(200)}
    assert parts == {"train", None}  # training plates: bank's training instances or fonts
    label, crop = sd.sample(sd.VAL_FE, 3)
    assert crop.ndim == 3 and label == sd.sample(sd.VAL_FE, 3)[0]


@needs_bank
@needs_fonts
def test_two_line_rows_are_labelled_with_what_the_row_holds() -> None:
    """A row sample is one row of a two-line plate as the reader cuts it: the top holds
    ``DISTRICT-LETTERS``, the bottom digits (and E/H); wide and short like a one-line crop."""
    from pipeline.synth.plate_render import parse_label
    from pipeline.training import synth_data as sd

    assert sd.glyphs_for(sd.VAL_ROWS, np.random.default_rng(0)).part == "val"
    tops = bottoms = 0
    for i in range(30):
        row = sd.two_line_row(sd.TRAIN_ROWS, np.random.default_rng([sd.SEED_BASE, 10, i]))
        if row is None:
            continue
        label, crop = row
        assert crop.shape[1] > crop.shape[0]
        if "-" in label:
            tops += 1
            parse_label(label + "1")  # a district and letters: valid with any digits
        else:
            bottoms += 1
            assert label[0].isdigit() and len(label) <= 5
    assert tops and bottoms


@needs_bank
@needs_fonts
def test_free_plates_hold_any_layout_and_are_labelled_by_their_characters() -> None:
    """Plates in no German layout: 5-8 letters and digits, digits before letters too, labelled
    without separators; validation ones from the bank's validation part or the fonts."""
    from pipeline.synth.plate_render import render_free_plate
    from pipeline.training import synth_data as sd

    labels = [sd.sample(sd.TRAIN_FREE, i)[0] for i in range(40)]
    assert all(label.isalnum() and 5 <= len(label) <= 8 for label in labels)
    assert any(label[0].isdigit() for label in labels)
    assert any(label[-1].isalpha() and any(c.isdigit() for c in label) for label in labels)
    parts = {getattr(sd.glyphs_for(sd.VAL_FREE, np.random.default_rng(i)), "part", None)
             for i in range(50)}
    assert parts == {"val", None}
    plate = render_free_plate(["RK", "892AE"], np.random.default_rng(1))
    assert plate.shape == (110, 520, 3)
