"""Group per-frame plate reads into car passages and emit one voted plate per passage.

A track follows one plate across frames by position and text. It is emitted as soon as
``agree`` reads agree on the same plate (the car need not leave first), or when it has not been
seen for ``gap_s`` seconds; a track that was emitted keeps absorbing reads of its car so that the
same car never makes a second passage. The same plate seen again within ``dedup_s`` of the
last sighting is the same visit.

A car whose plate is never read as a German plate (a foreign, dirty or covered plate) still
arrived: reads without a plate that move across the view, away from every plate read, make an
:class:`UnreadCar` once they are gone (``take_unread``), so the operator is told of it.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pipeline.detection.types import Box
from pipeline.plate.edits import levenshtein
from pipeline.plate.grammar import Plate
from pipeline.reading.ctc import CharScores
from pipeline.reading.plate_reader import PlateRead, PlateReader


@dataclass(frozen=True)
class Passage:
    """One car passing the camera, with the plate voted over its reads."""

    plate: Plate
    confidence: float
    first_seen: float
    last_seen: float
    reads: int
    agreeing: int
    ambiguous: bool = False  # every read of the winning plate had another equal reading
    uncertain: tuple[int, ...] = ()  # positions in plate.compact where the reads disagreed
    # every plate the car was read as (compact) with its confidence-weighted vote
    evidence: tuple[tuple[str, float], ...] = ()
    # the reads the grammar shortened by a glyph it took for spurious: (compact, the text as
    # read, vote), their votes part of their compact's in ``evidence``
    spurious: tuple[tuple[str, str, float], ...] = ()
    # the frame scores of the car's most confident reads (plate model): likelihood matching
    scores: tuple[CharScores, ...] = field(default=(), compare=False, repr=False)
    # the images of the car's most confident reads of the winning plate, best first: the
    # evidence an operator decides a doubtful car by
    crops: tuple[np.ndarray, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class UnreadCar:
    """A car in view whose plate was never read as a German plate: when it was seen, how
    often it was read, the reads' mean confidence, and its most confident crops (what the
    operator decides it by)."""

    first_seen: float
    last_seen: float
    reads: int
    confidence: float
    crops: tuple[np.ndarray, ...] = field(default=(), compare=False, repr=False)


log = logging.getLogger(__name__)

UNCERTAIN_SHARE = 0.75
KEPT_SCORES = 8  # a car's most confident reads whose frame scores go to matching
KEPT_CROPS = 3  # and whose images are kept as evidence
TRAVEL_BOXES = 5  # boxes at each end of a place without a plate read that its motion is taken from


@dataclass(frozen=True)
class TrackerConfig:
    gap_s: float = 2.0
    agree: int = 3
    min_confidence: float = 0.3
    min_reads: int = 2  # a "car" read once only is more likely a misread or a sign
    reread_s: float = 1.0  # an announced car in place is still read this often
    continuity_s: float = 0.5  # overlapping plates this close in time are one car
    dedup_s: float = 120.0
    max_center_shift: float = 2.5  # in plate widths between consecutive reads
    # a car never read as a German plate: at least this many reads without a plate, whose
    # box moved or grew by at least this share of its first width (a sign on the wall does
    # not: ``_UnreadTrack.travel``)
    unread_min_reads: int = 3
    unread_min_travel: float = 0.5


@dataclass
class _Track:
    first_seen: float
    last_seen: float
    center: tuple[float, float]
    width: float
    votes: dict[Plate, float] = field(default_factory=lambda: defaultdict(float))
    counts: dict[Plate, int] = field(default_factory=lambda: defaultdict(int))
    clear: set[Plate] = field(default_factory=set)  # plates read at least once unambiguously
    spurious: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    emitted: bool = False
    announced: bool = False  # emitted with enough reads: a passage, or the same visit again
    last_read: float = float("-inf")
    box: Box | None = None
    scored: list[tuple[float, int, CharScores]] = field(default_factory=list)
    crops: dict[Plate, list[tuple[float, int, np.ndarray]]] = field(
        default_factory=lambda: defaultdict(list))

    def add(self, when: float, read: PlateRead) -> None:
        assert read.plate is not None
        self.last_seen = self.last_read = when
        self.box = read.box
        self.center = read.box.center
        self.width = float(read.box.w)
        self.votes[read.plate] += read.confidence
        self.counts[read.plate] += 1
        if not read.ambiguous:
            self.clear.add(read.plate)
        if read.as_read:
            self.spurious[read.plate.compact, read.as_read] += read.confidence
        if read.scores is not None:
            self.scored.append((read.confidence, len(self.scored), read.scores))
            self.scored.sort(key=lambda s: (-s[0], s[1]))
            del self.scored[KEPT_SCORES:]
        if read.crop is not None:
            kept = self.crops[read.plate]
            kept.append((read.confidence, self.counts[read.plate], read.crop))
            kept.sort(key=lambda c: (-c[0], c[1]))
            del kept[KEPT_CROPS:]

    def winner(self) -> Passage:
        plate = max(self.votes, key=lambda p: self.votes[p])
        reads = sum(self.counts.values())
        confidence = self.votes[plate] / max(1, reads)
        return Passage(plate, confidence, self.first_seen, self.last_seen, reads,
                       self.counts[plate], ambiguous=plate not in self.clear,
                       uncertain=self.uncertain(plate),
                       evidence=tuple((p.compact, round(w, 3)) for p, w in self.votes.items()),
                       spurious=tuple((c, r, round(w, 3))
                                      for (c, r), w in self.spurious.items()),
                       scores=tuple(s for _, _, s in self.scored),
                       crops=tuple(c for _, _, c in self.crops.get(plate, ())))

    def uncertain(self, plate: Plate) -> tuple[int, ...]:
        """Character positions of the winner that other reads of this car read differently
        (by confidence-weighted share below 75%): what the operator should look at."""
        text = plate.compact
        rivals = [(p.compact, w) for p, w in self.votes.items() if len(p.compact) == len(text)]
        total = sum(w for _, w in rivals)
        if len(rivals) < 2 or total <= 0:
            return ()
        return tuple(i for i, ch in enumerate(text)
                     if sum(w for c, w in rivals if c[i] == ch) / total < UNCERTAIN_SHARE)


@dataclass
class _UnreadTrack:
    """Reads without a plate at one moving place: maybe a car whose plate cannot be read."""

    first_seen: float
    last_seen: float
    box: Box
    reads: int = 0
    confidence: float = 0.0
    # tracks of plates read where it was, not decided yet; once one is announced these
    # were its bad frames (explained)
    near: list[_Track] = field(default_factory=list)
    explained: bool = False
    crops: list[tuple[float, int, np.ndarray]] = field(default_factory=list)
    # the first and the latest boxes (bounded: a sign may be in view all day)
    first: list[Box] = field(default_factory=list)
    latest: deque[Box] = field(default_factory=lambda: deque(maxlen=TRAVEL_BOXES))

    def add(self, when: float, read: PlateRead) -> None:
        self.last_seen, self.box = when, read.box
        self.reads += 1
        self.confidence += read.confidence
        if len(self.first) < TRAVEL_BOXES:
            self.first.append(read.box)
        self.latest.append(read.box)
        if read.crop is not None:
            self.crops.append((read.confidence, self.reads, read.crop))
            self.crops.sort(key=lambda c: (-c[0], c[1]))
            del self.crops[KEPT_CROPS:]

    def meet(self, track: _Track) -> None:
        if not any(t is track for t in self.near):
            self.near.append(track)

    def travel(self) -> float:
        """How much the box changed from the first reads to the latest (each the median box
        of up to half the reads, so that one stray box elsewhere is no motion), in the first
        width: how far its centre moved (a car crossing the view), or how much it grew or
        shrank (a car coming towards the camera). A sign on the wall keeps its box."""
        k = max(1, min(TRAVEL_BOXES, self.reads // 2))
        (x0, y0, w0), (x1, y1, w1) = _median_box(self.first[:k]), _median_box(
            list(self.latest)[-k:])
        shift = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        return max(shift, abs(w1 - w0)) / max(1.0, w0)

    def car(self) -> UnreadCar:
        return UnreadCar(self.first_seen, self.last_seen, self.reads,
                         self.confidence / max(1, self.reads),
                         tuple(c for _, _, c in self.crops))


def _median_box(boxes: list[Box]) -> tuple[float, float, float]:
    """The median centre and width of ``boxes``."""
    return (float(np.median([b.center[0] for b in boxes])),
            float(np.median([b.center[1] for b in boxes])), float(np.median([b.w for b in boxes])))


def _near(a: Box, b: Box, widths: float) -> bool:
    """The centres of ``a`` and ``b`` are within ``widths`` of the narrower's width (a
    large box of clutter, a sign in the sky, must not reach a plate across the view)."""
    (ax, ay), (bx, by) = a.center, b.center
    return ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 <= widths * min(a.w, b.w)


def similar(a: str, b: str, max_edits: int = 2) -> bool:
    """True when ``a`` and ``b`` differ by at most ``max_edits`` edits (Levenshtein)."""
    return abs(len(a) - len(b)) <= max_edits and levenshtein(a, b) <= max_edits


class PassageTracker:
    """Feed it each frame's reads; it returns the passages that became certain."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: list[_Track] = []
        self._recent: dict[str, float] = {}  # compact plate -> last seen, for dedup
        # (first_seen, last_seen) of tracks gone from view that may still straddle a resume
        # point (see resume_from)
        self._gone: list[tuple[float, float]] = []
        self._unread: list[_UnreadTrack] = []
        self._unread_out: list[UnreadCar] = []

    def update(self, when: float, reads: list[PlateRead]) -> list[Passage]:
        cfg = self.config
        for read in reads:
            if read.plate is None or read.confidence < cfg.min_confidence:
                continue
            track = self._find(when, read)
            if track is None:
                track = _Track(when, when, read.box.center, float(read.box.w))
                self._tracks.append(track)
            track.add(when, read)
            for unread in self._unread:
                if _near(unread.box, read.box, cfg.max_center_shift):
                    unread.meet(track)
        out = []
        for track in self._tracks:
            if not track.emitted:
                best = track.winner()
                if best.agreeing >= cfg.agree or when - track.last_seen > cfg.gap_s:
                    out.extend(self._emit(track, best))
        self._follow_unread(when, [r for r in reads if r.plate is None])
        self._gone += [(t.first_seen, t.last_seen) for t in self._tracks
                       if when - t.last_seen > cfg.gap_s]
        self._tracks = [t for t in self._tracks if when - t.last_seen <= cfg.gap_s]
        return out

    def idle(self) -> bool:
        """No car in view: a safe point to resume a file from after a crash."""
        return not self._tracks and not self._unread

    def take_unread(self) -> list[UnreadCar]:
        """The cars gone from view whose plate was never read (each once)."""
        out, self._unread_out = self._unread_out, []
        return out

    def _emit(self, track: _Track, best: Passage) -> list[Passage]:
        track.emitted = True
        track.announced = best.reads >= self.config.min_reads
        return self._dedup(best)

    def _follow_unread(self, when: float, reads: list[PlateRead]) -> None:
        """Reads without a plate join the place they continue, and note the tracks of
        plates read near them (a car's bad frames are that car's). A place gone for
        ``gap_s`` ends once those tracks are decided: an unread car when none of them was
        announced, it was read often enough and it moved like a car."""
        cfg = self.config
        for read in reads:
            place = next((u for u in self._unread if when - u.last_seen <= cfg.gap_s
                          and (u.box.iou(read.box) >= 0.3
                               or _near(u.box, read.box, cfg.max_center_shift))), None)
            if place is None:
                place = _UnreadTrack(when, when, read.box)
                self._unread.append(place)
            place.add(when, read)
            for track in self._tracks:
                if when - track.last_seen <= cfg.gap_s and track.box is not None \
                        and _near(track.box, read.box, cfg.max_center_shift):
                    place.meet(track)
        for place in self._unread:  # decided tracks are let go (a sign is in view all day)
            place.explained |= any(t.announced for t in place.near)
            place.near = [t for t in place.near if not t.emitted]
        gone = [u for u in self._unread if when - u.last_seen > cfg.gap_s and not u.near]
        self._unread = [u for u in self._unread if not any(u is g for g in gone)]
        self._gone += [(u.first_seen, u.last_seen) for u in gone]
        self._end_unread(gone)

    def _end_unread(self, places: list[_UnreadTrack]) -> None:
        cfg = self.config
        self._unread_out += [u.car() for u in places
                             if not u.explained and not any(t.announced for t in u.near)
                             and u.reads >= cfg.unread_min_reads
                             and u.travel() >= cfg.unread_min_travel]

    def resume_from(self) -> float | None:
        """The earliest time a file may be read again from after a crash so that every car
        it meets is met from its first read, as before (its passage, and so its id, come out
        the same): the first read of the car longest in view, moved earlier past any car
        that was in view then. None: no car in view, resume after the present frame."""
        if not self._tracks and not self._unread:
            self._gone.clear()
            return None
        point = min(t.first_seen for t in (*self._tracks, *self._unread))
        moved = True
        while moved:  # a car gone from view by now may straddle the point
            earlier = [first for first, last in self._gone if first < point <= last]
            moved = bool(earlier)
            point = min([point, *earlier])
        self._gone = [(first, last) for first, last in self._gone if last >= point]
        return point

    def settled(self, box: Box, when: float) -> bool:
        """True (and the track kept alive) when ``box`` is where an already announced car
        was read less than ``reread_s`` ago: no need to read it again yet. Position alone
        cannot tell the next car at the same spot, so the car is still read now and then."""
        cx, cy = box.center
        for track in self._tracks:
            if not track.emitted or when - track.last_read > self.config.reread_s:
                continue
            d = ((cx - track.center[0]) ** 2 + (cy - track.center[1]) ** 2) ** 0.5
            if d <= 0.5 * max(track.width, box.w) and 0.7 <= box.w / max(1.0, track.width) <= 1.4:
                track.last_seen = when
                return True
        return False

    def flush(self) -> list[Passage]:
        """End of stream: emit every track not yet emitted (and end the unread places:
        ``take_unread``)."""
        out = []
        for track in self._tracks:
            if not track.emitted:
                out.extend(self._emit(track, track.winner()))
        self._tracks = []
        self._end_unread(self._unread)
        self._unread = []
        return out

    def _find(self, when: float, read: PlateRead) -> _Track | None:
        assert read.plate is not None
        cx, cy = read.box.center
        best, best_d = None, float("inf")
        for track in self._tracks:
            if when - track.last_seen > self.config.gap_s:
                continue
            if read.plate in track.votes:
                return track
            # The plate where this track's plate was a moment ago is the same car, whatever
            # it was read as (a far, blurred first read of an approaching car).
            if when - track.last_read <= self.config.continuity_s and \
                    track.box is not None and read.box.iou(track.box) >= 0.3:
                return track
            # Nearby and similar text: the same car read differently. A different plate at the
            # same spot, after a gap, is the next car.
            if not any(similar(read.plate.compact, p.compact) for p in track.votes):
                continue
            d = ((cx - track.center[0]) ** 2 + (cy - track.center[1]) ** 2) ** 0.5
            if d <= self.config.max_center_shift * max(track.width, read.box.w) and d < best_d:
                best, best_d = track, d
        return best

    def _dedup(self, passage: Passage) -> list[Passage]:
        if passage.reads < self.config.min_reads:
            log.debug("dropped a track read only %d time(s)", passage.reads)
            return []
        key = passage.plate.compact
        last = self._recent.get(key)
        self._recent[key] = passage.last_seen
        horizon = passage.last_seen - self.config.dedup_s
        self._recent = {k: t for k, t in self._recent.items() if t >= horizon}
        if last is not None and passage.first_seen - last <= self.config.dedup_s:
            return []
        return [passage]


def read_unsettled(reader: PlateReader, tracker: PassageTracker, image: np.ndarray,
                   when: float, stopping: Callable[[], bool] = lambda: False) -> list[PlateRead]:
    """The reads of a frame taken at ``when``, skipping plates where the tracker has a car
    already announced and still in view (``settled``) and everything once ``stopping()``:
    how the check-in and the per-car evaluation read each frame before the vote."""
    return reader.read(image, skip=lambda box: stopping() or tracker.settled(box, when))
