"""Which candidate is the plate: the evidence in its full-resolution crop.

The morphology's score sees a blob of vertical edges on a light ground, which grilles, signs
and bright car parts share with a plate. A plate also shows a row of glyph-shaped dark blobs
of one height (``characters``) and, on European plates, the blue band on its left. Both are
measured on the candidate's crop scaled to a fixed height (a fraction of a millisecond
each), and the candidates are ordered by them with the morphology's score: a plate-shaped
image or plate field as a whole first, since the image then is the plate.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.detection.characters import characters, dark_blobs
from pipeline.detection.classifier import PlateClassifier, candidate_features
from pipeline.detection.crop import plate_crop
from pipeline.detection.types import WHOLE_IMAGE, Box, Detection, Evidence, WorkCopy

HEIGHT = 40  # crops are judged at this height
PAD = (0.04, 0.15)  # around the box, so that glyphs do not touch the crop's edge
BAND_FRAC = 0.2  # the band is looked for in this share of the crop's columns, from the left
FULL_ROW = 6  # glyphs that count as a full row
# a bright field as a whole needs this many glyphs in a row, this high (of the crop: a
# plate's glyphs are 75 of its 110 mm, the crop is padded by 15 % above and below)
MIN_FIELD_GLYPHS = 4
MIN_FIELD_GLYPH_HEIGHT = 0.4
# weights of the morphology's score, the glyph row and the band (set on synthetic scenes)
WEIGHTS = (0.4, 0.4, 0.2)
# below this a candidate is dropped: on the tuning scenes (seeds 5100, 5400 close range) no
# plate scored under 0.29, and a fifth of the rest does
MIN_SCORE = 0.2


def eu_blue(bgr: np.ndarray) -> np.ndarray:
    """Boolean mask of the EU band's deep blue (about 225 degrees of hue, saturated) in a
    colour image; a pale sky (about 205 degrees) stays out."""
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    return (hsv[..., 0] > 105) & (hsv[..., 0] < 135) & (hsv[..., 1] > 110) & (hsv[..., 2] > 40)


def evidence(image: np.ndarray, det: Detection, work: WorkCopy | None = None
             ) -> Evidence:
    """The glyph row and the band in ``det``'s crop; ``work``: the detector's copy of
    ``image``, whose smaller colour copy is used where the box is high enough there
    (resizing less is faster)."""
    return judged(image, det, work)[0]


def judged(image: np.ndarray, det: Detection, work: WorkCopy | None = None
           ) -> tuple[Evidence, np.ndarray]:
    """``evidence`` and the crop it was measured on (``HEIGHT`` px high; empty if none)."""
    if work is not None and det.box.h * work.scale >= HEIGHT:
        f = work.scale
        b = det.box
        det = Detection(Box(int(b.x * f), int(b.y * f), max(1, int(b.w * f)),
                            max(1, int(b.h * f))), det.score, det.lines, det.angle, det.source)
        image = work.colour()
    crop = plate_crop(image, det, PAD)
    if crop.size == 0 or min(crop.shape[:2]) < 4:
        return Evidence(0, 0.0), crop[:0]
    width = max(1, int(round(crop.shape[1] * HEIGHT / crop.shape[0])))
    small = cv2.resize(crop, (width, HEIGHT), interpolation=cv2.INTER_AREA
                       if crop.shape[0] > HEIGHT else cv2.INTER_LINEAR)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    glyphs = characters(dark_blobs(gray), width, HEIGHT)
    band = 0.0
    if small.ndim == 3:
        blue = eu_blue(small)
        cut = max(1, int(width * BAND_FRAC))
        rest = blue[:, cut:]
        band = max(0.0, float(blue[:, :cut].mean(axis=0).max())
                   - (float(rest.mean()) if rest.size else 0.0))
    if not glyphs:
        return Evidence(0, band), small
    height = float(np.median([g.h for g in glyphs])) / HEIGHT
    span = (glyphs[-1].x + glyphs[-1].w - glyphs[0].x) / width
    spread = float(np.std([g.cy for g in glyphs])) / HEIGHT
    return Evidence(len(glyphs), band, height, span, spread), small


def plate_score(det: Detection, ev: Evidence) -> float:
    """0..1: how much the candidate looks like a plate."""
    w_score, w_row, w_band = WEIGHTS
    return (w_score * det.score + w_row * min(ev.glyphs, FULL_ROW) / FULL_ROW
            + w_band * min(1.0, ev.band / 0.35))


def rank(image: np.ndarray, found: list[Detection],
         work: WorkCopy | None = None,
         classifier: PlateClassifier | None = None) -> list[Detection]:
    """``found`` best first, each with its plate score for its score: the whole image first
    when it is plate-shaped, or its plate field when that shows a glyph row (a bright sky is
    no plate), then by score. The score is the ``classifier``'s, which drops those under its
    threshold; without one ``plate_score``, dropping those under ``MIN_SCORE``. ``work`` as
    for ``evidence``."""
    height, width = image.shape[:2]
    kept: list[tuple[Detection, Evidence]] = []
    feats = []
    for d in found:
        ev, crop = judged(image, d, work)
        whole = d.source == WHOLE_IMAGE
        if whole and d.box.area < width * height and (
                ev.glyphs < MIN_FIELD_GLYPHS or ev.glyph_height < MIN_FIELD_GLYPH_HEIGHT):
            continue
        if classifier is not None:
            if crop.size == 0:
                if not whole:
                    continue
                crop = np.zeros((HEIGHT, 4 * HEIGHT), np.uint8)
            feats.append(candidate_features(image, crop, d, ev))
        kept.append((d, ev))
    if classifier is not None:
        scores = classifier.scores(np.stack(feats)) if feats else np.zeros(0)
        cut = classifier.threshold
    else:
        scores = np.array([plate_score(d, ev) for d, ev in kept])
        cut = MIN_SCORE
    ranked = []
    for (d, _), score in zip(kept, scores, strict=True):
        whole = d.source == WHOLE_IMAGE
        if whole or score >= cut:
            ranked.append((whole, Detection(d.box, float(score), d.lines, d.angle, d.source)))
    ranked.sort(key=lambda t: (t[0], t[1].score), reverse=True)
    return [d for _, d in ranked]
