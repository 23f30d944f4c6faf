"""Where the characters and the seals stand in a plate crop: connected dark blobs on the
light plate field, filtered by the geometry of a plate's glyphs (DIN 74069: 75 mm glyphs on a
110 mm plate, seals about half a glyph high, stacked in the gap after the district)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Blob:
    """A dark connected region of the crop, in crop pixels."""

    x: int
    y: int
    w: int
    h: int

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def dark_blobs(gray: np.ndarray) -> list[Blob]:
    """Connected regions darker than the plate field (Otsu), not touching the top or bottom."""
    _, mask = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    h = gray.shape[0]
    return [Blob(int(x), int(y), int(w), int(bh)) for x, y, w, bh, _ in stats[1:count]
            if y > 0 and y + bh < h]


def characters(blobs: list[Blob], crop_w: int, crop_h: int) -> list[Blob]:
    """The blobs that are glyphs of one text row, left to right: glyph-shaped, and of the
    height most of them share (the row), so dirt, bolts, the band and the seals drop out."""
    glyphs = [b for b in blobs
              if 0.25 * crop_h <= b.h <= 0.95 * crop_h and 1.0 <= b.h / max(1, b.w) <= 8.0
              and b.w <= 0.2 * crop_w]
    if len(glyphs) < 3:
        return []
    height = float(np.median([b.h for b in glyphs]))
    row = [b for b in glyphs if abs(b.h - height) <= 0.25 * height]
    return sorted(row, key=lambda b: b.x) if len(row) >= 3 else []


def row_angle(chars: list[Blob]) -> float | None:
    """The slope of the text row in degrees (positive: falling to the right), as the median of
    the slopes between glyph centres (Theil-Sen: a misplaced blob cannot tilt it)."""
    if len(chars) < 3:
        return None
    slopes = [(b.cy - a.cy) / (b.cx - a.cx)
              for i, a in enumerate(chars) for b in chars[i + 1:]
              if b.cx - a.cx >= a.w]
    if not slopes:
        return None
    return float(np.degrees(np.arctan(np.median(slopes))))


def seals_gap(blobs: list[Blob], chars: list[Blob]) -> int | None:
    """How many glyphs stand before the seals (the district's length): the one wide gap
    between two glyphs of the row that holds a seal-sized round blob (the gap between letters
    and digits is wide too, but empty). None when no gap, or more than one, looks like that."""
    if len(chars) < 3:
        return None
    height = float(np.median([c.h for c in chars]))
    width = float(np.median([c.w for c in chars]))
    top, bottom = min(c.y for c in chars), max(c.y + c.h for c in chars)
    seals = [b for b in blobs if b not in chars and 0.25 * height <= b.h <= 0.6 * height
             and 0.6 <= b.w / max(1, b.h) <= 1.6 and top - 2 <= b.y and b.y + b.h <= bottom + 2]
    found = [i for i, (a, b) in enumerate(zip(chars, chars[1:], strict=False), 1)
             if b.x - (a.x + a.w) >= 0.6 * width
             and any(a.x + a.w <= s.cx <= b.x for s in seals)]
    return found[0] if len(found) == 1 and 1 <= found[0] <= 3 else None
