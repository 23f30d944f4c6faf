"""One facade for "which plates are in this image": detector -> crops -> rectifier ->
recogniser -> grammar and district scoring.

Candidates are read best first and reading stops at the first confident German plate, or
when the frame's time budget is spent: the detector ranks the plate first, so the rest
would only cost time. A German read inside another German read's box whose text is part of
the other's (one half of a plate split at the seals) is dropped."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from pipeline.detection.crop import plate_crop
from pipeline.detection.roi import RegionOfInterest
from pipeline.detection.two_line import split_rows
from pipeline.detection.types import DETECTOR, Box, Detection, Detector
from pipeline.domain import StageObserver
from pipeline.plate.grammar import Plate, plate_chars
from pipeline.reading.ctc import CharScores
from pipeline.reading.recognisers import Recogniser, TextRead
from pipeline.reading.rescore import parse_read
from pipeline.rectify.rectify import Rectified, district_len, rectify

# Confidence multipliers: a read that needed fixes, or that another split explains as well,
# must not pass for a clean read.
FIX_PENALTY = 0.93
AMBIGUOUS_PENALTY = 0.5
# A German read this confident ends the frame's reading (set on synthetic scenes).
STOP_CONFIDENCE = 0.7
BUDGET_MS = 150.0  # a frame's reading time after which no further candidate is read


@dataclass(frozen=True)
class PlateRead:
    """A plate candidate read in one image. ``plate`` is None when the text is not German."""

    box: Box
    raw: str
    confidence: float
    plate: Plate | None
    ambiguous: bool = False
    source: str = DETECTOR  # where the box came from: detector, merged, whole image
    # the grammar's ``ParseResult.as_read``: the plate with the glyph it dropped as spurious
    as_read: str = ""
    # the recogniser's frame scores behind ``raw`` (plate model only): for likelihood matching
    scores: CharScores | None = field(default=None, compare=False, repr=False)
    # the image that was read (BGR): the evidence an operator sees for a doubtful car
    crop: np.ndarray | None = field(default=None, compare=False, repr=False)


def _recent() -> deque[float]:
    return deque(maxlen=10_000)  # bounded: run goes on for weeks


@dataclass
class ReaderTimings:
    """Milliseconds spent per stage, the most recent 10,000 (for logs and the benchmark)."""

    detect_ms: deque[float] = field(default_factory=_recent)
    recognise_ms: deque[float] = field(default_factory=_recent)


def _rank(read: PlateRead | None) -> tuple[bool, float]:
    """German plates first, then by confidence."""
    return (False, 0.0) if read is None else (read.plate is not None, read.confidence)


class PlateReader:
    """Finds and reads the plates in an image, best first."""

    def __init__(self, detector: Detector, recogniser: Recogniser,
                 districts: frozenset[str] | None = None, max_crops: int = 4,
                 pad: tuple[float, float] = (0.06, 0.15),
                 roi: RegionOfInterest | None = None,
                 on_crop: Callable[[np.ndarray, PlateRead], None] | None = None,
                 rectifier: Callable[[np.ndarray], Rectified] | None = rectify,
                 budget_ms: float = BUDGET_MS, stop_confidence: float = STOP_CONFIDENCE) -> None:
        self.detector = detector
        self.rectifier = rectifier  # None: the crop goes to the recogniser as cut
        self.roi = roi
        self.on_crop = on_crop  # debug.save_crops: off unless configured
        self.recogniser = recogniser
        self.districts = districts
        self.max_crops = max_crops
        self.pad = pad
        self.budget_ms = budget_ms  # after this, no further candidate of a frame is read
        self.stop_confidence = stop_confidence
        self.timings = ReaderTimings()
        self.observe: StageObserver | None = None  # the metrics' stage latencies

    def detect(self, image: np.ndarray) -> list[Detection]:
        t0 = time.perf_counter()
        found = self.detector.detect(image)
        if self.roi is not None:
            found = self.roi.keep(found, image.shape[1], image.shape[0])
        self._timed("detect", self.timings.detect_ms, t0)
        return found

    def read_box(self, image: np.ndarray, box: Box, lines: int = 1) -> PlateRead | None:
        """Read one given region of an image; ``lines=2``: a two-line plate."""
        return self.read_detection(image, Detection(box, 0.0, lines))

    def read_detection(self, image: np.ndarray, det: Detection) -> PlateRead | None:
        """Read one candidate: its box padded, levelled first when it is rolled."""
        box = det.box
        if det.lines == 2:
            h, w = image.shape[:2]
            region = box.padded(self.pad[0], self.pad[1], w, h)
            crop = image[region.y:region.y + region.h, region.x:region.x + region.w]
            if crop.size == 0:
                return None
            read = self._read_two_line(box, crop, (box.x - region.x, box.y - region.y))
            return None if read is None else replace(read, crop=crop)
        crop = plate_crop(image, det, self.pad)
        if crop.size == 0:
            return None
        rectified = self.rectifier(crop) if self.rectifier is not None else Rectified(crop)
        read = self._read_image(box, rectified.image, rectified.district_len)
        if rectified.angle_deg:
            # levelled: outside the geometry the model was trained on, so the crop as cut is
            # read too and the more confident German read wins
            as_cut = self._read_image(box, crop, rectified.district_len)
            if _rank(as_cut) > _rank(read):
                read, rectified = as_cut, Rectified(crop)
        if read is not None and self.on_crop is not None:
            self.on_crop(rectified.image, read)
        return None if read is None else replace(read, source=det.source, crop=rectified.image)

    def _recognise(self, image: np.ndarray) -> TextRead | None:
        """The recogniser on one image, timed."""
        t0 = time.perf_counter()
        text = self.recogniser.recognise(image)
        self._timed("recognise", self.timings.recognise_ms, t0)
        return text

    def _timed(self, stage: str, recent: deque[float], t0: float) -> None:
        seconds = time.perf_counter() - t0
        recent.append(1000 * seconds)
        if self.observe is not None:
            self.observe(stage, seconds)

    def _read_image(self, box: Box, image: np.ndarray,
                    seals_after: int | None) -> PlateRead | None:
        text = self._recognise(image)
        return None if text is None else self._parse(box, text, seals_after)

    def _read_two_line(self, box: Box, crop: np.ndarray,
                       at: tuple[int, int]) -> PlateRead | None:
        """A two-line plate (``box`` at ``at`` in the padded ``crop``): each row read on its
        own (the model knows one-line plates), the texts joined ``TOP BOTTOM`` for the
        grammar; both rows must be right, so the confidence is the product. No two rows
        found in the box: not read."""
        rows = split_rows(crop, core=(at[0], at[1], box.w, box.h))
        if rows is None:
            return None
        texts = [t for t in map(self._recognise, rows) if t is not None]
        if not texts:
            return None
        joined = TextRead(" ".join(t.raw for t in texts),
                          float(np.prod([t.confidence for t in texts])))
        read = self._parse(box, joined, district_len(rows[0]))
        # both rows read, and each holds its part: district and letters on top, the digits
        # (and E/H) below; a character that wandered between the rows is a made-up plate
        if read.plate is not None and (
                len(texts) < 2
                or len(plate_chars(texts[0].raw)) != len(read.plate.district + read.plate.letters)
                or len(plate_chars(texts[1].raw)) != len(read.plate.digits + read.plate.suffix)):
            read = PlateRead(box, joined.raw, joined.confidence, None)
        if self.on_crop is not None:
            self.on_crop(crop, read)
        return read

    def _parse(self, box: Box, text: TextRead, seals_after: int | None) -> PlateRead:
        """The grammar on a recogniser's text (``seals_after``: the district's length as the
        seals show it), the district checked against the frame scores; the confidence
        lowered for fixes and doubt."""
        parsed = parse_read(text, self.districts, seals_after)
        if parsed is None:
            return PlateRead(box, text.raw, text.confidence, None, scores=text.scores)
        confidence = text.confidence * FIX_PENALTY ** parsed.fixes
        if parsed.ambiguous:
            confidence *= AMBIGUOUS_PENALTY
        return PlateRead(box, text.raw, confidence, parsed.plate, parsed.ambiguous,
                         as_read=parsed.as_read, scores=text.scores)

    def read(self, image: np.ndarray, skip: Callable[[Box], bool] | None = None,
             budget_ms: float | None = None) -> list[PlateRead]:
        """The candidates read best first until a confident German plate is found or the
        time budget (default ``self.budget_ms``) is spent; German plates first, then by
        confidence. ``skip`` spares the recogniser candidates that need no reading (a car
        already announced)."""
        budget = self.budget_ms if budget_ms is None else budget_ms
        t0 = time.perf_counter()
        reads: list[PlateRead] = []
        for det in self.detect(image)[: self.max_crops]:
            if reads and 1000 * (time.perf_counter() - t0) > budget:
                break
            if skip is not None and skip(det.box):
                continue
            read = self.read_detection(image, det)
            if read is None:
                continue
            reads.append(read)
            if read.plate is not None and not read.ambiguous \
                    and read.confidence >= self.stop_confidence:
                break
        reads = [r for r in reads if not any(_part_of(r, o) for o in reads)]
        reads.sort(key=_rank, reverse=True)
        return reads

    def read_still(self, image: np.ndarray) -> list[PlateRead]:
        """``read`` without the frame's time budget: a still image (a phone photo, a crop)
        has no next frame coming, so every candidate up to ``max_crops`` may be read."""
        return self.read(image, budget_ms=math.inf)


def _part_of(read: PlateRead, other: PlateRead) -> bool:
    """``read`` is a piece of the German plate ``other`` read around it (one half of a plate
    split at the seals: ``A-S 870`` inside ``DÜW-AS 870``)."""
    return (read is not other and read.plate is not None and other.plate is not None
            and read.box.intersection(other.box) >= 0.8 * read.box.area
            and len(read.plate.compact) < len(other.plate.compact)
            and read.plate.compact in other.plate.compact)
