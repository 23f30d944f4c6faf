"""Plate crops kept as evidence for an operator's decision (a ``needs_review`` car; an
``unregistered`` one when ``[privacy] evidence_unregistered``): small JPEGs in the store beside
the read, never a frame, never a file name with plate text. The store drops them once the
read is decided, with the day's purge, with ``accounts forget`` and ``campaign close``."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np

log = logging.getLogger(__name__)

MAX_WIDTH = 320  # px: a plate stays legible, a crop stays a few kilobytes
JPEG_QUALITY = 85


def encode(crops: Sequence[np.ndarray]) -> tuple[bytes, ...]:
    """The crops as JPEG, at most ``MAX_WIDTH`` wide; one that cannot be encoded is left
    out (logged): the read goes on without it."""
    out = []
    for crop in crops:
        if crop.size == 0:
            continue
        if crop.shape[1] > MAX_WIDTH:
            height = max(1, round(crop.shape[0] * MAX_WIDTH / crop.shape[1]))
            crop = cv2.resize(crop, (MAX_WIDTH, height), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if ok:
            out.append(buf.tobytes())
        else:
            log.warning("a plate crop could not be encoded; the read is kept without it")
    return tuple(out)


def decode(jpeg: bytes) -> np.ndarray | None:
    """A kept crop as a BGR image, or None when it is not a readable JPEG."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return image if image is not None and image.size else None
