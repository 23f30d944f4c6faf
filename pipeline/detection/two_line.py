"""Two-line plates (motorcycles, two-line car plates): find the two text rows in a crop.

A two-line German plate has the district, the seals and the letters on the top row and the
digits on the bottom row, with a strip of bare plate between them. The share of each pixel
row covered by dark strokes (black-hat, so that a dark car body does not count; the EU
band's side is left out) shows two bands of ink with a clear valley at that strip.
``find_rows`` finds them; the detector uses it to confirm a two-line candidate, the reader
to cut the crop into rows for the recogniser.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# A pixel row is inked when its coverage reaches this share of the crop's highest (a lone
# "1" below a full top row covers a twentieth of it), or at least MIN_INK; gaps of at most
# MERGE_GAP of the crop height inside a row (a glyph's thin middle) do not split it.
INK_LEVEL = 0.04
MERGE_GAP = 0.03
MIN_ROW_FRAC = 0.12  # each row at least this share of the crop height
MAX_ROW_RATIO = 1.8  # the taller row at most this much taller than the other
MAX_GAP = 1.0  # the gap between the rows at most this many (mean) row heights
MIN_ROW_ASPECT = 0.1  # each row at least this share of the crop width high (not a fragment)
MIN_INK = 0.02  # a row's characters cover at least this share of the crop's width
# The top row (district, seals, letters) has ink in at least this share of the columns.
MIN_TOP_COVER = 0.25
# The valley between the rows (its least inked pixel row) holds at most this share of the
# weaker row's peak coverage.
MAX_VALLEY = 0.35
# The left of the crop is left out: the EU band's stars and D are no text.
BAND_FRAC = 0.25
MIN_CONTRAST = 12  # black-hat level (0..255) that counts as ink: below that there is no text


@dataclass(frozen=True)
class Rows:
    """The two text rows of a crop: pixel-row ranges ``[start, end)``, the pixel row to cut
    at (in the least inked stretch between them) and how clear that valley is (0..1, 1: no
    ink at all)."""

    top: tuple[int, int]
    bottom: tuple[int, int]
    split: int
    clarity: float


def _open(mask: np.ndarray, height: int) -> np.ndarray:
    """Keep the parts of ``mask`` at least ``height`` pixels tall (outside the crop: no ink)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (1, height))
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_CONSTANT,
                            borderValue=0)


def _long_lines(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Where ``mask`` has a line at least ``size`` (w, h) long, widened by a pixel across it
    so that a line slanted by a pixel or two still counts; boolean."""
    across = np.ones((1, 3) if size[0] == 1 else (3, 1), np.uint8)
    wide = cv2.dilate(mask, across)
    lines = cv2.morphologyEx(wide, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT,
                             size), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return cv2.dilate(lines, across) > 0


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Where the characters are (uint8 0/1), the left quarter cut off.

    Dark strokes on a lighter ground (black-hat, kernel a sixth of the crop height: wider
    than a bold stroke, narrower than a dark car body, which so adds little), thresholded;
    thin horizontal lines and lines taller than a row (the plate's border, a bumper's edges)
    are opened away and the characters closed into solid blocks, so that a row of characters
    covers every pixel row of its height about equally, whatever the glyphs. The left
    quarter (the EU band's stars and D) is left out.
    """
    h, w = gray.shape[:2]
    k = max(3, h // 6) | 1
    blackhat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT,
                                cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)),
                                borderType=cv2.BORDER_REPLICATE)
    level, ink = cv2.threshold(blackhat, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if level < MIN_CONTRAST:
        return np.zeros((h, w - int(w * BAND_FRAC)), np.uint8)
    ink = _open(ink, max(3, h // 40))
    # lines taller than a row and the gap (the plate's sides) or wider than most of the crop
    # (its top and bottom edge, a bumper's), also when perspective slants them a little
    ink[_long_lines(ink, (1, int(h * 0.6))) | _long_lines(ink, (int(w * 0.6), 1))] = 0
    ink = cv2.morphologyEx(ink, cv2.MORPH_CLOSE,
                           cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, h // 6), 1)))
    return ink[:, int(w * BAND_FRAC):]


def _runs(inked: np.ndarray, merge: int) -> list[tuple[int, int]]:
    """Runs ``[start, end)`` of True, runs closer than ``merge`` rows joined."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], inked.astype(np.int8), [0]))))
    runs: list[tuple[int, int]] = []
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if runs and start - runs[-1][1] <= merge:
            runs[-1] = (runs[-1][0], int(end))
        else:
            runs.append((int(start), int(end)))
    return runs


def find_rows(gray: np.ndarray) -> Rows | None:
    """The two text rows of a greyscale crop of a plate, or None when it does not show two
    rows of similar height with a clear, ink-free valley between them (one-line plates,
    walls, signs with one line).

    The rows are the two runs of inked pixel rows with the most ink; the one above is the top
    row. Junk beyond the plate (a bumper edge in a padded crop) is a third, lighter run."""
    if gray.ndim == 3:
        gray = cv2.cvtColor(gray, cv2.COLOR_BGR2GRAY)
    h = gray.shape[0]
    if h < 12 or gray.shape[1] < 8:
        return None
    mask = ink_mask(gray)
    profile = mask.astype(np.float32).mean(axis=1)  # share of each pixel row inked
    highest = float(profile.max())
    if highest < MIN_INK:
        return None
    inked = profile >= max(MIN_INK, INK_LEVEL * highest)
    runs = [r for r in _runs(inked, max(1, int(MERGE_GAP * h))) if r[1] - r[0] >= MIN_ROW_FRAC * h]
    if len(runs) < 2:
        return None
    runs.sort(key=lambda r: float(profile[r[0]:r[1]].sum()), reverse=True)
    (t0, t1), (b0, b1) = sorted(runs[:2])
    weaker = min(float(profile[t0:t1].max()), float(profile[b0:b1].max()))
    gap = profile[t1:b0]
    valley = float(gap.min())
    if weaker < MIN_INK or valley > MAX_VALLEY * weaker:
        return None
    # the cut: the middle of the least inked stretch of the gap, about the crop's middle
    low = np.flatnonzero(gap <= valley + 1e-6)
    split = t1 + int(round((low[0] + low[-1]) / 2))
    if not 0.25 * h <= split <= 0.75 * h:
        return None
    top_h, bottom_h = t1 - t0, b1 - b0
    if max(top_h, bottom_h) > MAX_ROW_RATIO * min(top_h, bottom_h):
        return None
    if b0 - t1 > MAX_GAP * (top_h + bottom_h) / 2:
        return None
    if min(top_h, bottom_h) < MIN_ROW_ASPECT * gray.shape[1]:
        return None
    if mask[t0:t1].any(axis=0).mean() < MIN_TOP_COVER:
        return None  # a few blobs (reflections in a headlamp), not district, seals, letters
    return Rows((t0, t1), (b0, b1), split, 1.0 - valley / weaker)


def split_rows(crop: np.ndarray, margin: float = 0.45,
               core: tuple[int, int, int, int] | None = None
               ) -> tuple[np.ndarray, np.ndarray] | None:
    """Cut a two-line plate crop (BGR or grey, full width) into its top and bottom row, each
    centred in ``margin`` row heights of plate above and below as a one-line plate sits in
    its crop (the recogniser was trained on those): on the outer side the crop goes on, on
    the inner side it stops at the valley and the bare plate there is repeated. The rows are
    looked for in ``core`` (x, y, w, h in the crop: the plate without the margin around it,
    where a car body can look like a row of ink), else in the whole crop. None when
    ``find_rows`` finds no two rows."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    x, y, w, h = core if core is not None else (0, 0, gray.shape[1], gray.shape[0])
    rows = find_rows(gray[y:y + h, x:x + w])
    if rows is None:
        return None
    t0, t1 = rows.top[0] + y, rows.top[1] + y
    b0, b1 = rows.bottom[0] + y, rows.bottom[1] + y
    split = rows.split + y
    above = int(round(margin * (t1 - t0)))
    below = int(round(margin * (b1 - b0)))
    top = crop[max(0, t0 - above):split]
    bottom = crop[split:min(crop.shape[0], b1 + below)]
    fill_top = above - (split - t1)
    fill_bottom = below - (b0 - split)
    if fill_top > 0:
        top = cv2.copyMakeBorder(top, 0, fill_top, 0, 0, cv2.BORDER_REPLICATE)
    if fill_bottom > 0:
        bottom = cv2.copyMakeBorder(bottom, fill_bottom, 0, 0, 0, cv2.BORDER_REPLICATE)
    return top, bottom
