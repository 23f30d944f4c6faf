"""A candidate's box on the plate's border: the bright plate field around the glyph row, and
the EU band beside it.

The morphology finds a blob over the characters. ``grow_to_plate`` grows it, in the work
copy, to the bright field around it (the crop then holds the whole plate, as the recogniser
was trained on). It only ever grows: on a small plate the blob itself is inflated by the
morphology's blur and dilation beyond the plate (a 16 px plate gives a 27 px blob), and the
box stays too high. ``refine`` looks for the field once more in the full-resolution image
around a ranked candidate's box, and moves the box to the field's border in both directions,
when the field is closed, plate-shaped and fills its rectangle; otherwise the box stays.

The window, levels and bounds of ``refine`` were chosen on synthetic tuning frames only
(varied photo-like frames seed 5800, drive-in seed 5810, close range seed 5830; 783 plates):
plates found (IoU >= 0.5) 691 -> 704, the plate first 672 -> 684, mean IoU of the found
box 0.78 -> 0.84.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.detection.evidence import eu_blue
from pipeline.detection.types import WHOLE_IMAGE, Box, Detection, WorkCopy

# The plate's field is at most this many times as wide as its glyph row: a short plate
# (F-R 8) is centred on a field of the usual width.
MAX_GROW = 3.5
# refine: the field is looked for in the box grown by these fractions of its width, height
REFINE_PAD = (0.7, 0.7)
# brightness levels, as shares of the plate's white, at which the field is cut out: a light
# car body joins the field at the lower one and not at the higher one
FIELD_LEVELS = (0.8, 0.9, 0.95)
FIELD_ASPECT = (2.0, 7.5)  # width / height of a one-line plate's white field
FIELD_FILL = 0.75  # share of its rectangle the field covers (a plate is a rectangle)
# the field against the candidate's box: at least / at most these shares of its height,
# width (the box may be the glyph row, the blob inflated beyond the plate, or the plate)
FIELD_HEIGHT = (0.4, 2.4)
FIELD_WIDTH = (0.5, 2.4)
BAND_SHARE = 40 / 480  # the EU band's width beside the field's (40 of 480 mm)
BAND_BLUE = 0.3  # share of the band strip's pixels in the band's blue
RIM = 0.04  # the plate's dark rim around the field, of the field's height
REFINE_HEIGHT = 24  # a box this high in the work copy is refined there


def grow_to_plate(gray: np.ndarray, det: Detection) -> Detection:
    """The morphology finds the characters; the plate is the bright rectangle around them
    (plus the EU band on its left). Grow the box to that rectangle, so the crop holds the
    whole plate as the recogniser was trained on, and the box is the plate's box."""
    b = det.box
    h, w = gray.shape[:2]
    x0, x1 = max(0, b.x - b.w), min(w, b.x + 2 * b.w)
    y0, y1 = max(0, b.y - b.h), min(h, b.y + 2 * b.h)
    window = gray[y0:y1, x0:x1]
    if window.size == 0 or det.angle:
        return det  # a rolled candidate's box is already the plate's
    inner = gray[b.y:b.y + b.h, b.x:b.x + b.w]
    level = float(np.percentile(inner, 75)) * 0.8  # the plate's white, a little darker
    bright = (window >= level).astype(np.uint8)
    # fill the characters so the plate is one blob
    k = max(3, b.h // 2) | 1
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    cy, cx = b.y + b.h // 2 - y0, b.x + b.w // 2 - x0
    label = labels[min(cy, labels.shape[0] - 1), min(cx, labels.shape[1] - 1)]
    if label == 0:
        return det
    px, py, pw, ph, _ = stats[label]
    if not (b.w * 0.9 <= pw <= b.w * MAX_GROW and b.h * 0.8 <= ph <= b.h * 2.0
            and 2.0 <= pw / max(1, ph) <= 7.0):
        return det  # not a plate-like rectangle: keep what the morphology found
    # Characters sit centred on the white field: grow the same amount to both sides, so a
    # white car body touching one side cannot drag the box along.
    gx, gy = x0 + px, y0 + py
    grow = max(0, min(b.x - gx, gx + pw - (b.x + b.w)))
    left, right = b.x - grow, b.x + b.w + grow
    # the EU band: a darker (blue) strip of about a tenth of the plate left of the white
    left = max(0, left - int(round(0.1 * (right - left))))
    box = Box(left, gy, right - left, ph)
    return Detection(box, det.score, source=det.source)


def refine(work: WorkCopy, det: Detection) -> Detection:
    """``det`` with its box moved to the plate's border: the closed bright field over the
    middle of the box (the glyph row), cut at the first of ``FIELD_LEVELS`` at which it is
    closed and plate-shaped, widened by the plate's rim and, where the strip left of it is
    the band's blue, by the EU band. Looked for in the full-resolution image, or in the grey
    work copy when the box is at least ``REFINE_HEIGHT`` px high there (as precise, and a
    close-up costs no more than a small plate). A rolled, two-line or whole-image candidate,
    or one around which no such field is found, is returned as it is."""
    if det.angle or det.lines != 1 or det.source == WHOLE_IMAGE:
        return det
    f = work.scale if det.box.h * work.scale >= REFINE_HEIGHT else 1.0
    gray = work.gray if f < 1.0 else work.image
    b = det.box if f == 1.0 else Box(int(det.box.x * f), int(det.box.y * f),
                                     max(1, int(det.box.w * f)), max(1, int(det.box.h * f)))
    field = _field(gray, b)
    if field is None:
        return det
    if f < 1.0:
        inv = 1.0 / f
        field = Box(int(field.x * inv), int(field.y * inv), int(round(field.w * inv)),
                    int(round(field.h * inv)))
    return Detection(_with_band(work.image, field), det.score, det.lines, det.angle,
                     det.source)


def _field(image: np.ndarray, b: Box) -> Box | None:
    """The plate's closed white field around the box ``b`` of ``image`` (grey or BGR), or
    None."""
    win = b.padded(REFINE_PAD[0], REFINE_PAD[1], image.shape[1], image.shape[0])
    patch = image[win.y:win.y + win.h, win.x:win.x + win.w]
    gray = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY) if patch.ndim == 3 else patch
    # the glyph row's band: the middle third of the box's height, the middle of its width
    ry0, ry1 = b.y - win.y + b.h // 3, b.y - win.y + max(b.h // 3 + 1, 2 * b.h // 3)
    rx0, rx1 = b.x - win.x + b.w // 8, b.x - win.x + max(b.w // 8 + 1, 7 * b.w // 8)
    inner = gray[b.y - win.y:b.y - win.y + b.h, b.x - win.x:b.x - win.x + b.w].ravel()
    if inner.size < 16 or min(gray.shape) < 4:
        return None
    white = float(np.partition(inner, (3 * inner.size) // 4)[(3 * inner.size) // 4])
    k = max(3, b.h // 4) | 1  # fills the glyphs' strokes, not the gap to the car
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    for level in FIELD_LEVELS:
        bright = cv2.morphologyEx((gray >= white * level).astype(np.uint8), cv2.MORPH_CLOSE,
                                  kernel)
        _, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
        row = labels[ry0:ry1, rx0:rx1].ravel()
        row = row[row > 0]
        if row.size == 0:
            return None
        x, y, w, h, area = (int(v) for v in stats[int(np.bincount(row).argmax())])
        if x == 0 or y == 0 or x + w >= gray.shape[1] or y + h >= gray.shape[0]:
            continue  # runs out of the window: not closed at this level
        field = Box(win.x + x, win.y + y, w, h)
        return field if _plate_field(field, area, b) else None
    return None


def _plate_field(field: Box, area: int, box: Box) -> bool:
    """Is ``field`` (its component covering ``area`` pixels) a one-line plate's field that
    fits the candidate ``box``?"""
    return (FIELD_ASPECT[0] <= field.w / max(1, field.h) <= FIELD_ASPECT[1]
            and area >= FIELD_FILL * field.area
            and FIELD_HEIGHT[0] * box.h <= field.h <= FIELD_HEIGHT[1] * box.h
            and FIELD_WIDTH[0] * box.w <= field.w <= FIELD_WIDTH[1] * box.w)


def _with_band(image: np.ndarray, field: Box) -> Box:
    """The plate around its white ``field``: the rim, and the EU band on the left where the
    strip there is the band's blue."""
    height, width = image.shape[:2]
    rim = int(round(RIM * field.h))
    band = max(1, int(round(BAND_SHARE * field.w)))
    x0 = field.x - rim
    if image.ndim == 3 and field.x - band >= 0:
        strip = image[field.y:field.y + field.h, field.x - band:field.x]
        if strip.size and float(eu_blue(strip).mean()) >= BAND_BLUE:
            x0 = field.x - band - rim
    x0, y0 = max(0, x0), max(0, field.y - rim)
    x1 = min(width, field.x + field.w + rim)
    y1 = min(height, field.y + field.h + rim)
    return Box(x0, y0, x1 - x0, y1 - y0)
