"""Plate candidates found in a frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in full-frame pixels."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    def intersection(self, other: Box) -> int:
        """Area both boxes cover, in pixels."""
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        return ix * iy

    def iou(self, other: Box) -> float:
        """Intersection over union, 0..1."""
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return inter / union if union else 0.0

    def padded(self, fx: float, fy: float, width: int, height: int) -> Box:
        """The box grown by fractions of its size, clipped to the frame."""
        dx, dy = int(round(self.w * fx)), int(round(self.h * fy))
        x0, y0 = max(0, self.x - dx), max(0, self.y - dy)
        x1, y1 = min(width, self.x + self.w + dx), min(height, self.y + self.h + dy)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


DETECTOR, MERGED, WHOLE_IMAGE = "detector", "merged", "whole image"


@dataclass(frozen=True)
class Evidence:
    """How many glyphs of one row a crop shows and how high they are (median, share of the
    crop's height), and how much bluer its most blue column on the left is than the rest of
    the crop (0..1, shares of the pixels: a blue sky behind a sign is blue everywhere)."""

    glyphs: int
    band: float
    glyph_height: float = 0.0
    span: float = 0.0  # share of the crop's width from the first glyph to the last
    spread: float = 0.0  # standard deviation of the glyph centres' heights, of the crop's


@dataclass(frozen=True)
class Detection:
    """A region that may hold a plate; ``score`` ranks candidates (higher is likelier);
    ``lines`` is 2 for a two-line plate (motorcycle), which the reader reads row by row;
    ``angle`` the plate's roll in degrees (positive: falling to the right), which the reader
    levels; ``source`` where the box came from: the morphology (``detector``), two halves
    split at the seals' gap joined (``merged``), or the image or its plate field as a whole
    (``whole image``)."""

    box: Box
    score: float
    lines: int = 1
    angle: float = 0.0
    source: str = DETECTOR


class Detector(Protocol):
    """Finds plate candidates in a BGR frame, best first."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        ...


@dataclass
class WorkCopy:
    """A frame as the detector works on it: the full-resolution ``image``, its grey copy
    ``scale`` times as large (``gray``), and the colour copy at that scale, made only when a
    candidate is large enough to be judged there (``colour()``)."""

    image: np.ndarray
    gray: np.ndarray
    scale: float
    _colour: np.ndarray | None = None

    def colour(self) -> np.ndarray:
        if self._colour is None:
            self._colour = self.image if self.scale >= 1.0 else cv2.resize(
                self.image, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
        return self._colour
