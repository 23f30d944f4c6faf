"""Measure the reader on a labelled folder: detection rate, how often the first candidate
is the plate, exact plates (box given, and end to end: for a crop, what ``read`` makes of
the whole image), character error rate, the most frequent confusions and time per image.

Understands the ``labels.csv`` layouts of ``../shared/data/*`` (``plate`` in label form
``OF-AB123`` for German plates, or ``plate_raw`` for foreign ones; ``bbox_x_y_w_h`` when the
photo is a scene) and of the project's own generator (``sample_frames/labels.csv``). Images
without a box are crops: the whole image is the plate.
"""

from __future__ import annotations

import csv
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.detection.types import Box
from pipeline.frames.sources import FolderSource, read_image
from pipeline.plate.edits import levenshtein, substitutions
from pipeline.plate.grammar import plate_chars
from pipeline.reading.plate_reader import PlateRead, PlateReader
from pipeline.tracking.passages import Passage, PassageTracker, TrackerConfig, read_unsettled

IOU_FOUND = 0.5


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    truth: str  # German label (OF-AB123) or raw foreign text (BS47040)
    german: bool
    box: Box | None
    lines: int = 1  # 2: a two-line plate (column ``lines`` of the generator's labels)


def load_labels(folder: Path, labels: Path | None = None) -> list[LabelledImage]:
    """The labelled images of a folder; raises ValueError naming the columns it expects."""
    labels = labels or folder / "labels.csv"
    if not labels.is_file():
        raise ValueError(f"{labels} not found: eval needs a labels.csv with columns file and "
                         "plate (German, e.g. OF-AB123) or plate_raw, optional bbox_x_y_w_h")
    with labels.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    items = []
    for row in rows:
        german = bool(row.get("plate"))
        truth = row.get("plate") or row.get("plate_raw") or ""
        if not row.get("file") or not truth:
            raise ValueError(f"{labels}: every row needs file and plate or plate_raw")
        box = Box(*map(int, row["bbox_x_y_w_h"].split())) if row.get("bbox_x_y_w_h") else None
        lines = int(row.get("lines") or 1)
        items.append(LabelledImage(folder / row["file"], truth, german, box, lines))
    return items


def _text_of(read: PlateRead | None, german: bool) -> str:
    """What the reader says: the German plate (label form) or, for foreign truth, raw text."""
    if read is None:
        return ""
    if german:
        return read.plate.label if read.plate else ""
    return plate_chars(read.raw)


@dataclass
class EvalReport:
    images: int = 0
    unreadable: int = 0
    with_box: int = 0
    detected: int = 0
    first: int = 0
    candidates: int = 0
    exact_no_box: int = 0
    exact_given: int = 0
    exact_detected: int = 0
    char_errors: int = 0
    chars: int = 0
    ms_per_image: list[float] = field(default_factory=list)
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        n = max(1, self.images - self.unreadable)
        ms = sorted(self.ms_per_image)
        return {
            "images": self.images,
            "unreadable": self.unreadable,
            "detection_rate": round(self.detected / self.with_box, 4) if self.with_box else None,
            "detected": self.detected,
            "plate_first": self.first if self.with_box else None,
            "with_box": self.with_box,
            "candidates_per_image": round(self.candidates / self.with_box, 2)
            if self.with_box else None,
            "exact_box_given": round(self.exact_given / n, 4),
            "exact_box_given_count": self.exact_given,
            "exact_end_to_end": round(self.exact_detected / n, 4) if self.with_box else None,
            "exact_end_to_end_count": self.exact_detected if self.with_box else None,
            "crops": self.images - self.unreadable - self.with_box,
            "exact_no_box_count": self.exact_no_box,
            "character_error_rate": round(self.char_errors / max(1, self.chars), 4),
            "top_confusions": [{"truth": t or "∅", "read": r or "∅", "count": c}
                               for (t, r), c in self.confusions.most_common(8)],
            "ms_per_image_mean": round(sum(ms) / len(ms), 1) if ms else None,
            "ms_per_image_p95": round(ms[math.ceil(0.95 * len(ms)) - 1], 1) if ms else None,
        }


def evaluate(reader: PlateReader, items: list[LabelledImage],
             progress: Callable[[int, int], None] | None = None) -> EvalReport:
    report = EvalReport()
    for index, item in enumerate(items, 1):
        report.images += 1
        image = read_image(item.path)
        if image is None:
            report.unreadable += 1
            continue
        h, w = image.shape[:2]
        t0 = time.perf_counter()
        given = reader.read_box(image, item.box or Box(0, 0, w, h), item.lines)
        crop_ms = 1000 * (time.perf_counter() - t0)
        given_text = _text_of(given, item.german)
        truth_text = item.truth if item.german else plate_chars(item.truth)
        row: dict[str, Any] = {"file": item.path.name, "truth": item.truth,
                               "read_box_given": given_text}
        if given_text == truth_text:
            report.exact_given += 1
        truth_chars = plate_chars(truth_text)
        read_chars = plate_chars(given_text or (given.raw if given else ""))
        report.chars += len(truth_chars)
        report.char_errors += levenshtein(truth_chars, read_chars)
        report.confusions.update(substitutions(truth_chars, read_chars))
        if item.box is None:
            report.ms_per_image.append(crop_ms)
            # what ``read`` makes of the crop with no box given: its best plate
            reads = reader.read_still(image)
            best = reads[0] if reads and (reads[0].plate or not item.german) else None
            report.exact_no_box += _text_of(best, item.german) == truth_text
            row["read_no_box"] = _text_of(best, item.german)
        else:
            report.with_box += 1
            found = reader.detect(image)
            report.candidates += len(found)
            hit = any(d.box.iou(item.box) >= IOU_FOUND for d in found)
            report.detected += hit
            report.first += bool(found) and found[0].box.iou(item.box) >= IOU_FOUND
            t0 = time.perf_counter()
            reads = reader.read(image)  # what the product does with a frame
            report.ms_per_image.append(1000 * (time.perf_counter() - t0))
            # German truth: the product's best plate must be it, at the labelled place;
            # foreign truth: the raw text read at the labelled place
            if item.german:
                best = reads[0] if reads and reads[0].plate else None
            else:
                best = next((r for r in reads if r.box.iou(item.box) >= IOU_FOUND), None)
            ok = best is not None and best.box.iou(item.box) >= IOU_FOUND \
                and _text_of(best, item.german) == truth_text
            report.exact_detected += ok
            row.update({"detected": hit, "read_end_to_end": _text_of(best, item.german)})
        report.rows.append(row)
        if progress:
            progress(index, len(items))
    return report


def format_report(name: str, summary: dict[str, Any]) -> str:
    lines = [f"{name}: {summary['images']} images"
             + (f" ({summary['unreadable']} unreadable)" if summary["unreadable"] else "")]
    if summary["detection_rate"] is not None:
        lines.append(f"  plates detected (IoU>={IOU_FOUND}) {summary['detected']}/"
                     f"{summary['with_box']} = {summary['detection_rate']:.1%}, "
                     f"{summary['candidates_per_image']} candidates per image, the plate "
                     f"first in {summary['plate_first']}")
        lines.append(f"  exact plates, end to end      {summary['exact_end_to_end_count']}"
                     f" = {summary['exact_end_to_end']:.1%}")
    lines.append(f"  exact plates, box given       {summary['exact_box_given_count']} = "
                 f"{summary['exact_box_given']:.1%}")
    if summary["crops"]:
        lines.append(f"  crops read with no box given  {summary['exact_no_box_count']}/"
                     f"{summary['crops']} exact")
    lines.append(f"  character error rate          {summary['character_error_rate']:.1%}")
    if summary["top_confusions"]:
        lines.append("  most frequent confusions      " + ", ".join(
            f"{c['truth']}->{c['read']} x{c['count']}" for c in summary["top_confusions"]))
    lines.append(f"  ms per image                  mean {summary['ms_per_image_mean']}, "
                 f"p95 {summary['ms_per_image_p95']}")
    passages = summary.get("per_passage")
    if passages:
        lines.append(f"  per car, after voting         {passages['exact']}/{passages['cars']} "
                     f"exact = {passages['exact_share']:.1%}; {passages['missed']} missed, "
                     f"{passages['split']} split, {len(passages['wrong'])} wrong plates")
        for w in passages["wrong"]:
            lines.append(f"    {w['truth']} read {w['read']} (confidence {w['confidence']}"
                         + (", ambiguous)" if w["ambiguous"] else ")"))
    return "\n".join(lines)


def evaluate_passages(reader: PlateReader, folder: Path, config: TrackerConfig | None = None,
                      fps: float = 5.0) -> dict[str, Any] | None:
    """Per car rather than per image, for a folder of the project's generator (frames in name
    order plus ``ground_truth.csv``): the frames go through the reader and the product's
    tracker (voting) as ``run`` would take them, and each emitted passage is compared with
    the car in view when it began. None when the folder has no ground truth."""
    truth_file = folder / "ground_truth.csv"
    if not truth_file.is_file():
        return None
    with truth_file.open(encoding="utf-8", newline="") as fh:
        cars = [(int(r["first_frame"]), int(r["last_frame"]), r["plate"])
                for r in csv.DictReader(fh)]
    tracker = PassageTracker(config)
    passages = []
    for frame in FolderSource(folder, fps=fps).frames():  # a corrupt frame is skipped, as in run
        reads = read_unsettled(reader, tracker, frame.image, frame.timestamp)
        passages += tracker.update(frame.timestamp, reads)
    passages += tracker.flush()

    def car_of(passage: Passage) -> int | None:
        frame = round(passage.first_seen * fps)
        return next((i for i, (first, last, _) in enumerate(cars) if first <= frame <= last),
                    None)

    per_car: dict[int, list[Passage]] = {}
    wrong: list[dict[str, Any]] = []
    for passage in passages:
        car = car_of(passage)
        if car is not None:
            per_car.setdefault(car, []).append(passage)
        if car is None or passage.plate.label != cars[car][2]:
            wrong.append({"truth": cars[car][2] if car is not None else None,
                          "read": passage.plate.label,
                          "confidence": round(passage.confidence, 3),
                          "ambiguous": passage.ambiguous})
    exact = sum(1 for i, (_, _, plate) in enumerate(cars)
                if [p.plate.label for p in per_car.get(i, [])] == [plate])
    return {"cars": len(cars), "passages": len(passages), "exact": exact,
            "exact_share": round(exact / len(cars), 4) if cars else None,
            "missed": sum(1 for i in range(len(cars)) if i not in per_car),
            "split": sum(max(0, len(ps) - 1) for ps in per_car.values()),
            "wrong": wrong}
