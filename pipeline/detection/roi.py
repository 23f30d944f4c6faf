"""Region of interest: only plates inside the loop entrance count (not signs, not parked cars).

The polygon is given in fractions of the frame size, so it survives a change of resolution:
``[[0.25, 0.45], [0.75, 0.45], [1.0, 1.0], [0.0, 1.0]]`` is a trapezoid over the lower half.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from pipeline.detection.types import Detection


class RegionOfInterest:
    """Keeps detections whose centre lies inside a polygon (fractions of width and height)."""

    def __init__(self, polygon: Sequence[Sequence[float]]) -> None:
        if len(polygon) < 3 or any(len(p) != 2 for p in polygon):
            raise ValueError("roi needs at least 3 points [x, y] (fractions of width, height)")
        if any(not 0.0 <= v <= 1.0 for p in polygon for v in p):
            raise ValueError("roi points are fractions of the frame: every value in 0..1")
        self.polygon = np.asarray(polygon, np.float32)

    def keep(self, detections: list[Detection], width: int, height: int) -> list[Detection]:
        contour = (self.polygon * np.float32([width, height])).reshape(-1, 1, 2)
        return [d for d in detections
                if cv2.pointPolygonTest(contour, d.box.center, False) >= 0]
