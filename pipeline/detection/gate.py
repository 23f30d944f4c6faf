"""Motion gate: an unchanged entrance costs almost nothing.

Compares a tiny greyscale copy of each frame with the last frame that was read; when
nothing moved, the expensive stages are skipped. A frame is still read every
``max_skip_s`` so that a car that stopped before it was read is not missed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class GateConfig:
    width: int = 96
    threshold: float = 2.0  # mean absolute grey difference (0..255) that counts as motion
    max_skip_s: float = 1.0


class MotionGate:
    """``moving(image, when)``: should this frame be read?"""

    def __init__(self, config: GateConfig | None = None) -> None:
        self.config = config or GateConfig()
        self._last: np.ndarray | None = None
        self._last_read_at = float("-inf")

    def moving(self, image: np.ndarray, when: float) -> bool:
        h, w = image.shape[:2]
        width = self.config.width
        small = cv2.resize(image, (width, max(1, h * width // w)), interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        changed = self._last is None or self._last.shape != gray.shape or \
            float(cv2.absdiff(gray, self._last).mean()) >= self.config.threshold
        due = when - self._last_read_at >= self.config.max_skip_s
        if changed or due:
            self._last = gray
            self._last_read_at = when
            return True
        return False
