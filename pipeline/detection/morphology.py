"""A fast plate detector from classic morphology: dark characters on a bright, wide box.

Black-hat filtering brings out dark strokes on a light background, a horizontal Sobel keeps
the dense vertical edges of a row of characters, and a wide closing merges them into one
blob per plate. Run on a downscaled copy it costs a few milliseconds per frame; the
recogniser and the plate grammar then reject the false candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

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
        for kernel_w in (13, 21):
            found.extend(self._candidates(gray, kernel_w))
        found = [_grow_to_plate(gray, d) for d in _suppress(found, 0.4)]
        boxes = _suppress(found, 0.4)[: cfg.max_candidates]
        inv = 1.0 / scale
        return [Detection(Box(int(d.box.x * inv), int(d.box.y * inv),
                              int(round(d.box.w * inv)), int(round(d.box.h * inv))), d.score)
                for d in boxes]

    def _candidates(self, gray: np.ndarray, kernel_w: int) -> list[Detection]:
        cfg = self.config
        h, w = gray.shape[:2]
        rect = cv2.getStructuringElement(cv2.MORPH_RECT, (kernel_w, max(3, kernel_w // 3)))
        blackhat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, rect)
        grad = np.abs(cv2.Sobel(blackhat, cv2.CV_32F, 1, 0, ksize=3))
        peak = float(grad.max())
        if peak <= 0:
            return []
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
        for contour in contours:
            x, y, bw, bh = cv2.boundingRect(contour)
            if bh == 0 or bw < cfg.min_width_px or bw > cfg.max_width_frac * w:
                continue
            aspect = bw / bh
            if not cfg.min_aspect <= aspect <= cfg.max_aspect:
                continue
            fill = cv2.contourArea(contour) / float(bw * bh)
            light = float(bright[y:y + bh, x:x + bw].mean()) / 255.0
            edges = float(grad[y:y + bh, x:x + bw].mean()) / 255.0
            shape = 1.0 - min(1.0, abs(aspect - 4.0) / 4.0)
            score = 0.35 * fill + 0.25 * light + 0.2 * edges + 0.2 * shape
            out.append(Detection(Box(x, y, bw, bh), score))
        return out


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
