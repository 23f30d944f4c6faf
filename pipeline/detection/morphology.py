"""A fast plate detector from classic morphology: dark characters on a bright, wide box.

Black-hat filtering brings out dark strokes on a light background, a horizontal Sobel keeps
the dense vertical edges of a row of characters, and a wide closing merges them into one
blob per plate. Run on a downscaled copy it costs a few milliseconds per frame; the
recogniser and the plate grammar then reject the false candidates.

Two-line plates (motorcycles, two-line car plates; 220-340 x 200 mm) are too squat for the
one-line shape rules: their rows are found as blobs of their own (or as one squat blob), the
bright plate field around such a blob is taken, and it counts only if it is about as high as
wide and shows two rows of characters with a clear gap (``two_line.find_rows``). Such a
plate is reported with ``lines=2``, replaces the row blobs inside it and is ranked with the
one-line candidates by score.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.detection.two_line import find_rows
from pipeline.detection.types import Box, Detection


@dataclass(frozen=True)
class MorphologyConfig:
    """Tuning of the detector (on synthetic frames and the rules of plate geometry only)."""

    work_width: int = 640
    min_aspect: float = 1.8
    max_aspect: float = 8.0
    min_width_px: int = 24  # at work width: ~50 px in a 1280-px frame
    max_width_frac: float = 0.6
    max_candidates: int = 6
    two_line: bool = True  # also look for two-line plates
    squat_aspect: float = 0.9  # blobs from here to min_aspect may be both rows of one
    # the white field right of the band: 180 x 194 mm (small motorcycle) .. 300 x 194 (car)
    field_aspect: tuple[float, float] = (0.75, 1.9)
    min_two_line_width_px: int = 20


class MorphologyDetector:
    """Black-hat + Sobel + closing, on a copy ``work_width`` pixels wide."""

    def __init__(self, config: MorphologyConfig | None = None) -> None:
        self.config = config or MorphologyConfig()

    def detect(self, image: np.ndarray) -> list[Detection]:
        cfg = self.config
        height, width = image.shape[:2]
        scale = min(1.0, cfg.work_width / width)
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) \
            if scale < 1.0 else image
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        found: list[Detection] = []
        squat: list[Detection] = []
        for kernel_w in (13, 21):
            one, both = self._candidates(gray, kernel_w)
            found.extend(one)
            squat.extend(both)
        seeds = _suppress(found, 0.4)
        boxes = _suppress([_grow_to_plate(gray, d) for d in seeds], 0.4)
        if cfg.two_line:
            two = [t for d in seeds + _suppress(squat, 0.4)
                   if (t := _two_line_plate(gray, d, cfg, image, scale)) is not None]
            boxes = _with_two_line(boxes, _suppress(two, 0.3))
        boxes = boxes[: cfg.max_candidates]
        inv = 1.0 / scale
        return [Detection(Box(int(d.box.x * inv), int(d.box.y * inv),
                              int(round(d.box.w * inv)), int(round(d.box.h * inv))), d.score,
                          d.lines)
                for d in boxes]

    def _candidates(self, gray: np.ndarray, kernel_w: int
                    ) -> tuple[list[Detection], list[Detection]]:
        """One-line plate candidates, and squat blobs (both rows of a two-line plate?)."""
        cfg = self.config
        h, w = gray.shape[:2]
        rect = cv2.getStructuringElement(cv2.MORPH_RECT, (kernel_w, max(3, kernel_w // 3)))
        blackhat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, rect)
        grad = np.abs(cv2.Sobel(blackhat, cv2.CV_32F, 1, 0, ksize=3))
        peak = float(grad.max())
        if peak <= 0:
            return [], []
        grad = (255 * grad / peak).astype(np.uint8)
        grad = cv2.GaussianBlur(grad, (5, 5), 0)
        close = cv2.getStructuringElement(cv2.MORPH_RECT, (kernel_w, 3))
        grad = cv2.morphologyEx(grad, cv2.MORPH_CLOSE, close)
        _, mask = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        mask = cv2.erode(mask, None, iterations=1)
        mask = cv2.dilate(mask, None, iterations=2)
        # The plate background is bright: keep blobs whose surroundings are light.
        bright = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        out: list[Detection] = []
        squat: list[Detection] = []
        for contour in contours:
            x, y, bw, bh = cv2.boundingRect(contour)
            if bh == 0 or bw < cfg.min_width_px or bw > cfg.max_width_frac * w:
                continue
            aspect = bw / bh
            both_rows = cfg.two_line and cfg.squat_aspect <= aspect < cfg.min_aspect
            if not (both_rows or cfg.min_aspect <= aspect <= cfg.max_aspect):
                continue
            fill = cv2.contourArea(contour) / float(bw * bh)
            light = float(bright[y:y + bh, x:x + bw].mean()) / 255.0
            edges = float(grad[y:y + bh, x:x + bw].mean()) / 255.0
            if both_rows:  # the two rows of text of a two-line plate: about 1.4 wide per high
                shape = 1.0 - min(1.0, abs(aspect - 1.4) / 1.4)
            else:
                shape = 1.0 - min(1.0, abs(aspect - 4.0) / 4.0)
            score = 0.35 * fill + 0.25 * light + 0.2 * edges + 0.2 * shape
            (squat if both_rows else out).append(Detection(Box(x, y, bw, bh), score))
        return out, squat


def _suppress(found: list[Detection], iou: float) -> list[Detection]:
    """Greedy non-maximum suppression, best score first."""
    kept: list[Detection] = []
    for det in sorted(found, key=lambda d: d.score, reverse=True):
        if all(det.box.iou(k.box) < iou for k in kept):
            kept.append(det)
    return kept


def _grow_to_plate(gray: np.ndarray, det: Detection) -> Detection:
    """The morphology finds the characters; the plate is the bright rectangle around them
    (plus the EU band on its left). Grow the box to that rectangle, so the crop holds the
    whole plate as the recogniser was trained on, and the box is the plate's box."""
    b = det.box
    h, w = gray.shape[:2]
    x0, x1 = max(0, b.x - b.w), min(w, b.x + 2 * b.w)
    y0, y1 = max(0, b.y - b.h), min(h, b.y + 2 * b.h)
    window = gray[y0:y1, x0:x1]
    if window.size == 0:
        return det
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
    if not (b.w * 0.9 <= pw <= b.w * 2.4 and b.h * 0.8 <= ph <= b.h * 2.0
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
    return Detection(box, det.score)


def _two_line_plate(gray: np.ndarray, seed: Detection, cfg: MorphologyConfig,
                    image: np.ndarray, scale: float) -> Detection | None:
    """The two-line plate around ``seed`` (one of its rows, or a squat blob over both), or
    None. The plate's white field is the bright component around the seed: it must be closed
    (not a wall or a white car body), about as high as wide and show two rows of characters
    with a clear gap, one of which (or both) the seed is. A light car body can join the field
    at one brightness level and not at a higher one: a few levels are tried. The rows are
    looked for in the full-resolution ``image`` (``gray`` is it ``scale`` times as large):
    at the work width a small plate's characters are blobs."""
    b = seed.box
    h, w = gray.shape[:2]
    x0, x1 = max(0, b.x - b.w), min(w, b.x + 2 * b.w)
    y0, y1 = max(0, b.y - 2 * b.h), min(h, b.y + 3 * b.h)
    window = gray[y0:y1, x0:x1]
    inner = gray[b.y:b.y + b.h, b.x:b.x + b.w]
    if window.size == 0 or inner.size == 0:
        return None
    # the plate's white between the characters: the upper quartile (np.percentile is slow)
    flat = inner.ravel()
    white = float(np.partition(flat, (3 * flat.size) // 4)[(3 * flat.size) // 4])
    k = max(3, min(b.h, b.w // 3) // 2) | 1  # fills the characters, not the gap to the car
    wh, ww = window.shape[:2]
    centre = (b.x + b.w // 2 - x0, b.y + b.h // 2 - y0)
    for factor in (0.8, 0.9, 0.95):
        bright = (window >= white * factor).astype(np.uint8)
        bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE,
                                  cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
        if not bright[centre[1], centre[0]]:
            return None
        # the seed's bright component (a flood fill costs only its own size)
        _, _, _, (px, py, pw, ph) = cv2.floodFill(bright, None, centre, 2, flags=4)
        if px == 0 or py == 0 or px + pw >= ww or py + ph >= wh:
            continue  # runs out of the window: no plate-sized field at this level
        if not cfg.field_aspect[0] <= pw / ph <= cfg.field_aspect[1]:
            return None
        field = Box(int(x0 + px), int(y0 + py), int(pw), int(ph))
        return _rows_in_field(image, scale, seed, field, cfg)
    return None


def _rows_in_field(image: np.ndarray, scale: float, seed: Detection, field: Box,
                   cfg: MorphologyConfig) -> Detection | None:
    """A two-line plate if the white ``field`` (work-width pixels) shows two rows in the
    full-resolution ``image`` and ``seed`` is one or both of them."""
    b, gx, gy = seed.box, field.x, field.y
    inv = 1.0 / scale
    x0, y0 = int(gx * inv), int(gy * inv)
    crop = image[y0:int(round((gy + field.h) * inv)), x0:int(round((gx + field.w) * inv))]
    rows = find_rows(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop)
    if rows is None:
        return None
    top, bottom = b.y * inv - y0, (b.y + b.h) * inv - y0  # the seed, in the crop's rows
    centre = (top + bottom) / 2
    in_row = any(r0 - inv <= centre <= r1 + inv for r0, r1 in (rows.top, rows.bottom))
    over_both = top <= rows.top[1] + inv and bottom >= rows.bottom[0] - inv
    if not (in_row or over_both):
        return None
    left = max(0, gx - int(round(0.2 * field.h)))  # the EU band: 40 mm beside 194 mm of field
    box = Box(left, gy, gx + field.w - left, field.h)
    if box.w < cfg.min_two_line_width_px:
        return None
    return Detection(box, 0.6 * seed.score + 0.4 * rows.clarity, lines=2)


def _with_two_line(one_line: list[Detection], two_line: list[Detection]) -> list[Detection]:
    """Two-line plates join the one-line candidates and replace the row blobs inside them."""
    if not two_line:
        return one_line

    kept = [d for d in one_line
            if not any(d.box.intersection(t.box) >= 0.6 * d.box.area for t in two_line)]
    return _suppress(kept + two_line, 0.4)
