"""A candidate's plate cut from the frame: the box padded, and levelled when it is rolled."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.detection.types import Box, Detection


def unrolled_size(box_w: int, box_h: int, angle_deg: float) -> tuple[float, float]:
    """Length and height of a rectangle rolled by ``angle_deg`` whose axis-aligned box is
    ``box_w`` x ``box_h`` (a box clipped by the frame's edge gives a plate at least a fifth
    as high as long)."""
    a = np.radians(angle_deg)
    c, s = abs(np.cos(a)), abs(np.sin(a))
    det = c * c - s * s  # cos(2a): > 0 below 45 degrees
    length = (box_w * c - box_h * s) / det
    height = (box_h * c - box_w * s) / det
    length = max(length, float(box_w) * c)
    return length, max(height, 0.2 * length)


def rolled_box(cx: float, cy: float, length: float, height: float, angle: float,
                 width: int, frame_h: int) -> Box:
    """The axis-aligned box around a rectangle rolled by ``angle``, clipped to the frame."""
    a = np.radians(angle)
    half_w = (length * abs(np.cos(a)) + height * abs(np.sin(a))) / 2
    half_h = (length * abs(np.sin(a)) + height * abs(np.cos(a))) / 2
    x0, y0 = max(0, int(cx - half_w)), max(0, int(cy - half_h))
    x1, y1 = min(width, int(np.ceil(cx + half_w))), min(frame_h, int(np.ceil(cy + half_h)))
    return Box(x0, y0, x1 - x0, y1 - y0)


def plate_crop(image: np.ndarray, det: Detection, pad: tuple[float, float]) -> np.ndarray:
    """The image inside ``det``'s box grown by ``pad`` (fractions of width and height); a
    rolled candidate is turned level about its centre first (edges repeated, so no black
    corner looks like a glyph)."""
    height, width = image.shape[:2]
    if not det.angle:
        r = det.box.padded(pad[0], pad[1], width, height)
        return image[r.y:r.y + r.h, r.x:r.x + r.w]
    length, tall = unrolled_size(det.box.w, det.box.h, det.angle)
    out_w = max(1, int(round(length * (1 + 2 * pad[0]))))
    out_h = max(1, int(round(tall * (1 + 2 * pad[1]))))
    cx, cy = det.box.center
    m = cv2.getRotationMatrix2D((cx, cy), det.angle, 1.0)  # positive: counter-clockwise
    m[0, 2] += out_w / 2 - cx
    m[1, 2] += out_h / 2 - cy
    return cv2.warpAffine(image, m, (out_w, out_h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
