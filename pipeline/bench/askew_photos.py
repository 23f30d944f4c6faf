"""Real German plate crops as phone photos held askew: does ``read`` still find the plate?

    python -m pipeline.bench.askew_photos [--data ../shared/data] [--angles 0 12 20 25]

Every crop of ``plates_crops_de`` and ``plates_real`` is scaled to 880 px wide, pasted into
the middle of a plain grey 1600x1200 frame with pixel noise, and the frame is turned by each
angle (edges repeated): a close-up photo taken with the phone held askew. Each frame goes
through ``read``'s path (detector, ranking, reader without a time budget); a crop counts
when the first plate is its label. Development data: report it, tune nothing on it.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np

from pipeline import assembly
from pipeline.config import Settings
from pipeline.plate.grammar import plate_chars

FRAME = (1600, 1200)
PLATE_WIDTH = 880


def askew_photo(crop: np.ndarray, angle: float, rng: np.random.Generator) -> np.ndarray:
    """``crop`` pasted into a noisy grey frame, the frame turned by ``angle`` degrees."""
    width, height = FRAME
    crop = cv2.resize(crop, (PLATE_WIDTH, round(PLATE_WIDTH * crop.shape[0] / crop.shape[1])))
    frame = np.full((height, width, 3), (90, 95, 100), np.uint8)
    frame = cv2.add(frame, rng.integers(0, 25, frame.shape, dtype=np.uint8))
    y0, x0 = (height - crop.shape[0]) // 2, (width - crop.shape[1]) // 2
    frame[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = crop
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    return cv2.warpAffine(frame, turn, FRAME, borderMode=cv2.BORDER_REPLICATE)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--angles", type=float, nargs="+", default=[0.0, 12.0, 20.0, 25.0])
    a = ap.parse_args(argv)
    rows = [(d / r["file"], r["plate"])
            for d in (a.data / "plates_crops_de", a.data / "plates_real")
            if (d / "labels.csv").exists()
            for r in csv.DictReader((d / "labels.csv").open(encoding="utf-8"))]
    if not rows:
        print(f"no labelled crops under {a.data}", file=sys.stderr)
        return 1
    reader = assembly.build_reader(Settings())
    for angle in a.angles:
        rng = np.random.default_rng(1)
        right, misses = 0, []
        for path, label in rows:
            reads = reader.read_still(askew_photo(cv2.imread(str(path)), angle, rng))
            first = next((r for r in reads if r.plate), None)
            if first is not None and first.plate.compact == plate_chars(label):
                right += 1
            else:
                misses.append(f"{label}->{first.plate.label if first else None}")
        print(f"{angle:g} degrees: {right}/{len(rows)} read right; misses: {', '.join(misses)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
