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

Plates come at every scale: a copy three times smaller again finds those too large for the
work copy's kernels (a car right in front of the camera, a phone photo), two blobs side by
side at one height are the halves of a plate split at the seals' gap and are joined, a blob
whose rotated rectangle is plate-shaped is a plate rolled by up to ``max_roll_deg`` (its
angle goes to the reader, which levels it), and an image that is itself plate-shaped, or
whose bright plate-shaped field fills much of it, is a candidate as a whole. Candidates are
then ranked by the evidence in the full-resolution crop (``evidence.rank``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.detection.border import grow_to_plate, refine
from pipeline.detection.classifier import PlateClassifier, default_classifier
from pipeline.detection.crop import rolled_box
from pipeline.detection.evidence import rank
from pipeline.detection.halves import ROW_TO_PLATE, merge_halves, merge_rolled
from pipeline.detection.two_line import find_rows
from pipeline.detection.types import WHOLE_IMAGE, Box, Detection, WorkCopy


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
    coarse_factor: int = 3  # close-ups: the work copy this much smaller again
    coarse_min_width_px: int = 40  # at the coarse copy; smaller plates the work copy finds
    merge_gap: float = 1.5  # halves at most this many blob heights apart (the seals' gap)
    part_aspect: float = 0.4  # a district of one glyph, the short half of a split plate
    level_deg: float = 6.0  # rolled by less: level (the model was trained on +-5 degrees)
    max_roll_deg: float = 30.0  # a phone photo held askew: up to about 25 degrees
    whole_aspect: tuple[float, float] = (2.5, 8.0)  # an image this shape is a plate crop
    field_share: float = 0.2  # a bright plate-shaped field covering this much of the image
    rank: bool = True  # order by the evidence in the crop (glyph row, EU band)
    learned: bool = True  # rank and gate with the trained classifier when it is installed
    # also offer the morphology's own box when growing it to the bright field changed it
    # much (a light car body can join the field): the ranking picks the better one
    alternatives: bool = True


class MorphologyDetector:
    """Black-hat + Sobel + closing, on a copy ``work_width`` pixels wide; ``classifier``
    ranks the candidates (default: the shipped one, when ``config.learned``)."""

    def __init__(self, config: MorphologyConfig | None = None,
                 classifier: PlateClassifier | None = None) -> None:
        self.config = config or MorphologyConfig()
        self.classifier = classifier if classifier is not None or not self.config.learned \
            else default_classifier()

    def detect(self, image: np.ndarray) -> list[Detection]:
        found, work = self.propose(image)
        if self.config.rank:
            found = rank(image, found, work, self.classifier)
        return _refined(work, found[: self.config.max_candidates])

    def propose(self, image: np.ndarray
                ) -> tuple[list[Detection], WorkCopy]:
        """Every candidate, unranked and uncut, in full-frame pixels, and the work copy (for
        ``evidence.rank`` and ``border.refine``)."""
        cfg = self.config
        height, width = image.shape[:2]
        scale = min(1.0, cfg.work_width / width)
        # grey first: a third of the pixels to average down (a 1080p frame: 2 ms, not 6)
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        if scale < 1.0:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found: list[Detection] = []
        squat: list[Detection] = []
        short: list[Detection] = []
        for kernel_w in (13, 21):
            one, part = self._candidates(gray, kernel_w)
            found.extend(one)
            short.extend(part)
            squat.extend(d for d in part if d.box.w >= cfg.squat_aspect * d.box.h)
        f = cfg.coarse_factor
        coarse = cv2.resize(gray, None, fx=1 / f, fy=1 / f, interpolation=cv2.INTER_AREA) \
            if f > 1 else None
        short = _suppress(short, 0.4)
        seeds = self._merged(_suppress(found + self._coarse(coarse), 0.4), short, gray.shape)
        grown = [grow_to_plate(gray, d) for d in seeds]
        boxes = _suppress(grown, 0.4)
        if cfg.alternatives:
            alts = [d for d, g in zip(seeds, grown, strict=True) if g.box.iou(d.box) < 0.6]
            boxes += [d for d in _suppress(alts, 0.4)
                      if all(d.box.iou(k.box) < 0.8 for k in boxes)]
        if cfg.two_line:
            two = [t for d in seeds + _suppress(squat, 0.4)
                   if (t := _two_line_plate(gray, d, cfg, image, scale)) is not None]
            boxes = _with_two_line(boxes, _suppress(two, 0.3))
        whole = _whole_image(gray, cfg, coarse)
        if whole is not None:
            boxes = [whole] + [d for d in boxes if d.box.iou(whole.box) < 0.6]
        inv = 1.0 / scale
        out = [Detection(Box(int(d.box.x * inv), int(d.box.y * inv), int(round(d.box.w * inv)),
                             int(round(d.box.h * inv))), d.score, d.lines, d.angle, d.source)
               for d in boxes]
        return out, WorkCopy(image, gray, scale)

    def _coarse(self, coarse: np.ndarray | None) -> list[Detection]:
        """Candidates on the work copy ``coarse_factor`` times smaller, in the work copy's
        pixels: a plate that fills much of the frame, whose glyphs and seals' gap outgrow the
        kernels (one kernel: the smaller one's blobs the work copy finds)."""
        cfg = self.config
        f = cfg.coarse_factor
        if coarse is None or coarse.shape[1] < 2 * cfg.coarse_min_width_px:
            return []
        one, part = self._candidates(coarse, 21, cfg.coarse_min_width_px, 1.0)
        joined = self._merged(one, part, coarse.shape)
        return [Detection(Box(d.box.x * f, d.box.y * f, d.box.w * f, d.box.h * f), d.score,
                          d.lines, d.angle, d.source) for d in joined]

    def _merged(self, seeds: list[Detection], short: list[Detection],
                shape: tuple[int, ...]) -> list[Detection]:
        """``seeds`` with plates split at the seals' gap joined (level, then rolled)."""
        cfg = self.config
        aspect = (cfg.min_aspect, cfg.max_aspect)
        level = merge_halves(seeds, short, cfg.merge_gap, aspect)
        return merge_rolled(level, short, cfg.merge_gap, aspect, shape[1], shape[0])

    def _candidates(self, gray: np.ndarray, kernel_w: int, min_width: int | None = None,
                    max_width_frac: float | None = None
                    ) -> tuple[list[Detection], list[Detection]]:
        """One-line plate candidates (level or rolled), and short level blobs: one half of a
        plate split at the seals' gap, or both rows of a two-line plate."""
        cfg = self.config
        min_width = cfg.min_width_px if min_width is None else min_width
        max_width_frac = cfg.max_width_frac if max_width_frac is None else max_width_frac
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
        parts: list[Detection] = []
        for contour in contours:
            x, y, bw, bh = cv2.boundingRect(contour)
            if bh == 0 or bw < min_width or bw > max_width_frac * w:
                continue
            aspect = bw / bh
            rolled = _rolled(contour, cfg)
            part = False
            if rolled is not None:
                (cx, cy), (length, across), angle = rolled
                aspect = length / across
                box = rolled_box(cx, cy, length * ROW_TO_PLATE[0], across * ROW_TO_PLATE[1],
                                 angle, w, h)
            else:
                part = cfg.part_aspect <= aspect < cfg.min_aspect
                if not (part or cfg.min_aspect <= aspect <= cfg.max_aspect):
                    continue
                length, across, angle, box = bw, bh, 0.0, Box(x, y, bw, bh)
            fill = cv2.contourArea(contour) / float(length * across)
            light = float(bright[y:y + bh, x:x + bw].mean()) / 255.0
            edges = float(grad[y:y + bh, x:x + bw].mean()) / 255.0
            # both rows of a two-line plate are about 1.4 wide per high, one row about 4
            target = 1.4 if cfg.squat_aspect <= aspect < cfg.min_aspect else 4.0
            shape = 1.0 - min(1.0, abs(aspect - target) / target)
            score = 0.35 * fill + 0.25 * light + 0.2 * edges + 0.2 * shape
            (parts if part else out).append(Detection(box, score, angle=angle))
        return out, parts


def _refined(work: WorkCopy, found: list[Detection]) -> list[Detection]:
    """Each candidate's box on its plate's border (``border.refine``), in the same order;
    one that then covers an earlier one's plate is dropped."""
    kept: list[Detection] = []
    for det in (refine(work, d) for d in found):
        if all(det.box.iou(k.box) < 0.8 for k in kept):
            kept.append(det)
    return kept


def _suppress(found: list[Detection], iou: float) -> list[Detection]:
    """Greedy non-maximum suppression, best score first."""
    kept: list[Detection] = []
    for det in sorted(found, key=lambda d: d.score, reverse=True):
        if all(det.box.iou(k.box) < iou for k in kept):
            kept.append(det)
    return kept


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


def _rolled(contour: np.ndarray, cfg: MorphologyConfig
            ) -> tuple[tuple[float, float], tuple[float, float], float] | None:
    """Centre, (length, height) and roll in degrees of a blob whose rotated rectangle is
    plate-shaped and rolled by more than ``level_deg``, or None."""
    if cfg.max_roll_deg <= 0:
        return None
    rect = cv2.minAreaRect(contour)
    p = cv2.boxPoints(rect)
    e1, e2 = p[1] - p[0], p[2] - p[1]
    along, across = (e1, e2) if np.hypot(*e1) >= np.hypot(*e2) else (e2, e1)
    rw, rh = float(np.hypot(*along)), float(np.hypot(*across))
    angle = float(np.degrees(np.arctan2(along[1], along[0])))
    angle = angle - 180 if angle > 90 else angle + 180 if angle <= -90 else angle
    if rh <= 0 or not cfg.level_deg < abs(angle) <= cfg.max_roll_deg \
            or not cfg.min_aspect <= rw / rh <= cfg.max_aspect:
        return None
    return (float(rect[0][0]), float(rect[0][1])), (rw, rh), angle


def _whole_image(gray: np.ndarray, cfg: MorphologyConfig, coarse: np.ndarray | None
                 ) -> Detection | None:
    """The image as a candidate when it is plate-shaped (a crop of a plate), or the bright
    plate-shaped field that covers at least ``field_share`` of it (a close-up photo of a
    plate, possibly rolled), looked for in the ``coarse`` copy; None otherwise."""
    h, w = gray.shape[:2]
    if cfg.whole_aspect[0] <= w / h <= cfg.whole_aspect[1]:
        return Detection(Box(0, 0, w, h), 1.0, source=WHOLE_IMAGE)
    if cfg.field_share >= 1.0:
        return None
    f = 1
    if coarse is not None:
        f, gray = cfg.coarse_factor, coarse
        h, w = gray.shape[:2]
    bright = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    k = max(3, min(h, w) // 40) | 1  # close the glyphs into the field
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    field = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(field)
    if area < cfg.field_share * w * h:
        return None
    x, y, bw, bh = cv2.boundingRect(field)
    if (x == 0) + (y == 0) + (x + bw >= w) + (y + bh >= h) > 2:
        return None  # the sky or a wall: a plate field leaves the frame on two sides at most
    rolled = _rolled(field, cfg)
    box = Box(x * f, y * f, bw * f, bh * f)
    if rolled is not None:
        (cx, cy), (rw, rh), angle = rolled
        if area >= 0.8 * rw * rh:
            return Detection(box, 1.0, angle=angle, source=WHOLE_IMAGE)
        return None
    if cfg.min_aspect <= bw / max(1, bh) <= cfg.max_aspect and area >= 0.8 * bw * bh:
        return Detection(box, 1.0, source=WHOLE_IMAGE)
    return None
