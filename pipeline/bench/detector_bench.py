"""The detector alone on labelled scenes, beside another detector in the same run.

    python -m pipeline.bench.detector_bench ../shared/data/plates_eu \
        --baseline /tmp/base/pipeline/detection/morphology.py

For each folder with plate boxes (``labels.csv`` as ``eval`` reads it): plates found (a
candidate with IoU >= 0.5), the plate as the first candidate, candidates per image, and
milliseconds per frame with every image scaled to 1920 px wide (a 1080p camera's width),
OpenCV on ``--threads`` threads. ``--baseline`` loads ``MorphologyDetector`` from another
checkout's ``morphology.py`` (e.g. a ``git worktree`` of an older commit), so both are timed
image by image, alternately, under the same load. ``--hand`` adds this checkout's detector
without the learned classifier and without the alternative boxes (``hand``: candidates
ranked by the hand-set evidence weights, as before the classifier).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from pipeline.detection.morphology import MorphologyConfig, MorphologyDetector
from pipeline.detection.types import Detector
from pipeline.evaluation import IOU_FOUND, load_labels
from pipeline.frames.sources import read_image

FRAME_WIDTH = 1920


@dataclass
class Tally:
    """One detector's figures on one folder."""

    images: int = 0
    found: int = 0
    first: int = 0
    candidates: int = 0
    ms: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def line(self, name: str) -> str:
        return (f"  {name:<10} found {self.found}/{self.images}, plate first "
                f"{self.first}/{self.images}, {self.candidates / max(1, self.images):.2f} "
                f"candidates per image, {statistics.mean(self.ms):.1f} ms per 1080p-wide frame "
                f"(median {statistics.median(self.ms):.1f})"
                + (f"; not first: {' '.join(self.misses)}" if self.misses else ""))


def load_baseline(path: Path) -> Detector:
    """``MorphologyDetector()`` from another checkout's ``morphology.py`` (its own imports
    resolve to this checkout's ``pipeline``, which must still offer them)."""
    spec = importlib.util.spec_from_file_location("baseline_morphology", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.MorphologyDetector()


def measure(folders: list[Path], detectors: dict[str, Detector], repeat: int = 2
            ) -> dict[str, dict[str, Tally]]:
    """Figures per folder and detector; each image's time is the best of ``repeat``."""
    out: dict[str, dict[str, Tally]] = {}
    for folder in folders:
        tallies = {name: Tally() for name in detectors}
        for item in load_labels(folder):
            image = read_image(item.path)
            if image is None or item.box is None:
                continue
            f = FRAME_WIDTH / image.shape[1]
            frame = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_LINEAR)
            for name, detector in detectors.items():
                t = tallies[name]
                found = detector.detect(image)
                t.images += 1
                t.candidates += len(found)
                t.found += any(d.box.iou(item.box) >= IOU_FOUND for d in found)
                first = bool(found) and found[0].box.iou(item.box) >= IOU_FOUND
                t.first += first
                if not first:
                    t.misses.append(item.path.name)
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    detector.detect(frame)
                    times.append(1000 * (time.perf_counter() - t0))
                t.ms.append(min(times))
        out[str(folder)] = tallies
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     epilog="example: python -m pipeline.bench.detector_bench "
                                            "../shared/data/plates_eu --baseline "
                                            "/tmp/base/pipeline/detection/morphology.py")
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--baseline", type=Path, help="another checkout's morphology.py")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--misses", action="store_true", help="name the images not first")
    parser.add_argument("--hand", action="store_true",
                        help="also the detector ranked by the hand-set weights, no classifier")
    args = parser.parse_args(argv)
    cv2.setNumThreads(args.threads)
    detectors: dict[str, Detector] = {}
    if args.baseline:
        detectors["baseline"] = load_baseline(args.baseline)
    if args.hand:
        detectors["hand"] = MorphologyDetector(MorphologyConfig(learned=False,
                                                                alternatives=False))
    detectors["current"] = MorphologyDetector()
    for folder, tallies in measure(args.folders, detectors).items():
        print(folder)
        for name, t in tallies.items():
            if not args.misses:
                t.misses = []
            print(t.line(name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
