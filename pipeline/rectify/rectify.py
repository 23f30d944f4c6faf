"""Plate crop -> the crop the recogniser reads best, plus what its geometry tells the grammar.

The plate model was trained on detector crops as they come (band in, rotation mostly within
+-2 degrees, margins -5..+25 %), so a crop that already looks like that is passed on
untouched: rectifying it would only move it away from what the model knows. A crop outside
that is brought back into it:

- a sloping text row (a plate seen from the side of the lane) is sheared level from the
  slope of its glyph centres, then cut to the plate's height around the glyphs;
- a flat, low-contrast crop (dusk, fog, IR) is stretched to the full grey range;
- the seals between district and letters, when seen, give the district's length: the one
  thing that tells ``B-NO 1234`` from ``BN-O 1234`` when the recogniser leaves out the gap.

The EU band is kept for the plate model (cutting it made its reads worse in the trial run,
``shared/notes``); the stock English model cuts it itself. EasyOCR scales every crop to its
64-pixel input height, so no upscaling happens here.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.detection.characters import characters, dark_blobs, row_angle, seals_gap

GLYPH_SHARE = 75 / 110  # glyph height / plate height (DIN 74069)


@dataclass(frozen=True)
class RectifierConfig:
    """When to change a crop (fixed defaults: only ``[reading] rectify`` is in the config)."""

    min_angle_deg: float = 3.0  # within this the model was trained: leave the crop as it is
    max_angle_deg: float = 25.0  # beyond this the "row" is more likely noise than a plate
    low_contrast: int = 70  # grey levels between the 2nd and 98th percentile
    margin: float = 0.1  # above and below the plate after levelling, of the plate's height


@dataclass(frozen=True)
class Rectified:
    """The crop to read, what was done to it, and the district's length if the seals say it."""

    image: np.ndarray
    angle_deg: float = 0.0  # rotation removed; 0.0: left as it was
    stretched: bool = False
    district_len: int | None = None


def _gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def level(crop: np.ndarray, angle_deg: float) -> np.ndarray:
    """Shear ``crop`` vertically so that a row sloping by ``angle_deg`` becomes level while
    vertical strokes stay vertical: a plate seen from the side of the lane (yaw) slopes
    that way, and rotating it instead would slant every glyph (same size, edges repeated so
    that no black corner looks like a glyph). The result is taller by the slope's rise, so
    that nothing of a tight crop is sheared out of it."""
    h, w = crop.shape[:2]
    t = float(np.tan(np.radians(angle_deg)))
    rise = abs(t) * w
    m = np.float32([[1, 0, 0], [-t, 1, max(0.0, t) * w]])
    return cv2.warpAffine(crop, m, (w, h + int(np.ceil(rise))), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REPLICATE)


def stretch(crop: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map grey level ``lo`` to 0 and ``hi`` to 255 (every channel alike)."""
    alpha = 255.0 / max(1.0, hi - lo)
    return cv2.convertScaleAbs(crop, alpha=alpha, beta=-lo * alpha)


def district_len(image: np.ndarray) -> int | None:
    """The district's length from where the seals stand in a plate row, or None: the tie
    breaker for ``MEIB 97`` (MEI-B or ME-IB) when the recogniser leaves out the seals' gap."""
    gray = _gray(image)
    blobs = dark_blobs(gray)
    return seals_gap(blobs, characters(blobs, gray.shape[1], gray.shape[0]))


def rectify(crop: np.ndarray, config: RectifierConfig | None = None) -> Rectified:
    """The crop to hand the recogniser (see the module docstring for what changes when)."""
    cfg = config or RectifierConfig()
    if crop.ndim < 2 or min(crop.shape[:2]) < 8:
        return Rectified(crop)
    gray = _gray(crop)
    h, w = gray.shape
    blobs = dark_blobs(gray)
    chars = characters(blobs, w, h)
    angle = row_angle(chars)
    image, removed = crop, 0.0
    if angle is not None and cfg.min_angle_deg <= abs(angle) <= cfg.max_angle_deg:
        levelled = level(crop, angle)
        lgray = _gray(levelled)
        # glyphs keep their height: judge them against the crop's height, not the taller one's
        lchars = characters(dark_blobs(lgray), w, h)
        if lchars:  # cut to the plate's height around the levelled glyphs
            glyph = float(np.median([c.h for c in lchars]))
            centre = float(np.median([c.cy for c in lchars]))
            half = glyph / GLYPH_SHARE * (0.5 + cfg.margin)
            y0 = max(0, int(centre - half))
            y1 = min(lgray.shape[0], int(np.ceil(centre + half)))
            image, gray, removed = levelled[y0:y1], lgray[y0:y1], angle
            blobs = dark_blobs(gray)
            chars = characters(blobs, w, y1 - y0)
        # else: no row after levelling, so the slope was not the row's: leave the crop as cut
    lo, hi = (float(v) for v in np.percentile(gray, (2, 98)))
    stretched = 10 <= hi - lo < cfg.low_contrast
    if stretched:
        image = stretch(image, lo, hi)
    return Rectified(image, removed, stretched, seals_gap(blobs, chars))
