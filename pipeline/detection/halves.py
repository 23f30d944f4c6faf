"""Plates split at the seals' gap joined again: the morphology sees the district and the
rest of a large plate as two blobs, level or rolled (a photo held askew)."""

from __future__ import annotations

import numpy as np

from pipeline.detection.crop import rolled_box, unrolled_size
from pipeline.detection.types import MERGED, Box, Detection

# A rolled blob is the glyph row: its plate is a little longer and much higher.
ROW_TO_PLATE = (1.15, 1 / 0.75)


def merge_halves(seeds: list[Detection], short: list[Detection], gap_rows: float,
                 aspect: tuple[float, float]) -> list[Detection]:
    """A plate-shaped blob (of ``seeds``) and a blob beside it at the same height (of
    ``seeds`` or ``short``: the district's half may be one glyph), a gap of at most
    ``gap_rows`` heights between them and plate-shaped together, are one plate split at the
    seals' gap: they are replaced by one ``merged`` candidate."""
    long = {id(d) for d in seeds}
    level = sorted((d for d in seeds + short if not d.angle and d.lines == 1),
                   key=lambda d: d.box.x)
    used: set[int] = set()
    merged: list[Detection] = []
    for i, a in enumerate(level):
        for b in level[i + 1:]:
            if id(a) in used or id(b) in used or not ({id(a), id(b)} & long):
                continue
            ha, hb = a.box.h, b.box.h
            gap = b.box.x - (a.box.x + a.box.w)
            overlap = min(a.box.y + ha, b.box.y + hb) - max(a.box.y, b.box.y)
            if not (-0.2 * max(ha, hb) <= gap <= gap_rows * max(ha, hb)
                    and min(ha, hb) >= 0.75 * max(ha, hb) and overlap >= 0.8 * min(ha, hb)):
                continue
            x0, y0 = a.box.x, min(a.box.y, b.box.y)
            x1 = max(a.box.x + a.box.w, b.box.x + b.box.w)
            y1 = max(a.box.y + ha, b.box.y + hb)
            if not aspect[0] <= (x1 - x0) / (y1 - y0) <= aspect[1]:
                continue
            used |= {id(a), id(b)}
            merged.append(Detection(Box(x0, y0, x1 - x0, y1 - y0), max(a.score, b.score),
                                    source=MERGED))
    return [d for d in seeds if id(d) not in used] + merged


def merge_rolled(seeds: list[Detection], short: list[Detection], gap_rows: float,
                 aspect: tuple[float, float], width: int, height: int) -> list[Detection]:
    """``merge_halves`` for a rolled plate: a rolled plate-shaped blob (of ``seeds``) and a
    blob that lies on its axis beyond either end (the district's half, rolled or too short
    to show its roll), at most ``gap_rows`` row heights away, are one plate split at the
    seals' gap: the rolled candidate is grown along its axis over both, as ``merged``."""
    others = [d for d in seeds + short if d.lines == 1]
    rolled = [d for d in seeds if d.angle and d.lines == 1]
    out: list[Detection] = []
    for a in seeds:
        # a piece of a rolled plate found whole already stays as it is
        if a not in rolled or any(_inside(a, c) for c in rolled if c is not a):
            out.append(a)
            continue
        centre, u, n, half, row = _axis(a)
        lo, hi = -half, half
        for b in others:
            if b is a or (b.angle and abs(b.angle - a.angle) > 8):
                continue
            corners = _row_corners(b) - centre
            along, across = corners @ u, corners @ n
            beyond = along.min() - half if along.mean() > 0 else -half - along.max()
            if (-0.2 * row <= beyond <= gap_rows * row
                    and abs(across.mean()) <= 0.35 * row and np.ptp(across) <= 1.5 * row):
                lo, hi = min(lo, float(along.min())), max(hi, float(along.max()))
        if (lo, hi) == (-half, half) or not aspect[0] <= (hi - lo) / row <= aspect[1]:
            out.append(a)
            continue
        cx, cy = centre + u * (lo + hi) / 2
        out.append(Detection(rolled_box(cx, cy, (hi - lo) * ROW_TO_PLATE[0],
                                        row * ROW_TO_PLATE[1], a.angle, width, height),
                             a.score, angle=a.angle, source=MERGED))
    return out


def _axis(d: Detection) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """A rolled candidate's glyph row: centre, unit vectors along and across it, half its
    length and its height."""
    centre = np.array(d.box.center, dtype=float)
    ends = _row_corners(d) - centre
    u = np.array([np.cos(np.radians(d.angle)), np.sin(np.radians(d.angle))])
    n = np.array([-u[1], u[0]])
    return centre, u, n, float((ends @ u).max()), float(np.ptp(ends @ n))


def _inside(a: Detection, c: Detection) -> bool:
    """``a``'s glyph row lies within the longer rolled candidate ``c``'s (a piece of it)."""
    if abs(a.angle - c.angle) > 8:
        return False
    centre, u, n, half, row = _axis(c)
    corners = _row_corners(a) - centre
    along, across = corners @ u, corners @ n
    return (np.ptp(along) < 2 * half and bool(np.all(np.abs(along) <= half + 0.2 * row))
            and bool(np.all(np.abs(across) <= row)))


def _row_corners(d: Detection) -> np.ndarray:
    """The four corners (4 x 2) of a candidate's glyph row: a level blob's box, or a rolled
    candidate's rectangle without the plate's margin ``ROW_TO_PLATE``."""
    if not d.angle:
        x0, y0, x1, y1 = d.box.x, d.box.y, d.box.x + d.box.w, d.box.y + d.box.h
        return np.array([(x0, y0), (x1, y0), (x0, y1), (x1, y1)], dtype=float)
    length, tall = unrolled_size(d.box.w, d.box.h, d.angle)
    a = np.radians(d.angle)
    u = np.array([np.cos(a), np.sin(a)]) * length / ROW_TO_PLATE[0] / 2
    n = np.array([-np.sin(a), np.cos(a)]) * tall / ROW_TO_PLATE[1] / 2
    return np.array([d.box.center + su * u + sn * n for su in (-1, 1) for sn in (-1, 1)])
