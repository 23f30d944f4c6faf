"""Does rectification help? The same synthetic crops read with and without it, by slope.

    python -m pipeline.bench.rectify_bench [--split test] [--first 5000] [--count 600] [--json]

Each crop is sample ``i`` of a synthetic split (as in training: harsh light, blur, 60-230 px
wide), rendered once more with its text row sloping by 0, 4, 8 or 12 degrees (vertical
edges kept: a plate seen from the side of the lane). Both readers are the product's own
``PlateReader.read_box`` with the German plate model, one with the rectifier and one
without; a read counts when the grammar (no district list: the synthetic districts are
random) gives the true plate. Tune on ``--split val``; report on ``--split test`` with a
range never used elsewhere (the default, 5000 onwards).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from pipeline.detection.types import Box
from pipeline.reading.plate_reader import PlateReader
from pipeline.reading.recognisers import load_recogniser
from pipeline.synth.augment import detector_crop
from pipeline.synth.plate_render import random_plate, render_plate
from pipeline.training.synth_data import SEED_BASE, TEST, VAL, random_district

SLOPES = (0.0, 4.0, 8.0, 12.0)
SPLITS = {"val": VAL, "test": TEST}


class _NoDetector:
    def detect(self, image: np.ndarray) -> list:
        return []


def sloped_sample(split: int, index: int, slope_deg: float) -> tuple[str, np.ndarray]:
    """Sample ``index`` of ``split`` (the very crop ``synth_data.sample`` gives at slope 0),
    with its row sloping by ``slope_deg`` (sign from the index: both directions occur)."""
    rng = np.random.default_rng([SEED_BASE, split, index])
    label = random_plate(rng, random_district(rng))
    sign = 1.0 if index % 2 else -1.0
    return label, detector_crop(render_plate(label, rng), rng, slope_deg=sign * slope_deg)


def run(split: int, first: int, count: int, progress: bool = True) -> dict[str, object]:
    recogniser = load_recogniser(prefer="plate")
    readers = {"rectified": PlateReader(_NoDetector(), recogniser, None, pad=(0.0, 0.0)),
               "as cut": PlateReader(_NoDetector(), recogniser, None, pad=(0.0, 0.0),
                                     rectifier=None)}
    rows = []
    started = time.monotonic()
    for slope in SLOPES:
        hits = dict.fromkeys(readers, 0)
        for k in range(count):
            label, crop = sloped_sample(split, first + k, slope)
            h, w = crop.shape[:2]
            for name, reader in readers.items():
                read = reader.read_box(crop, Box(0, 0, w, h))
                hits[name] += read is not None and read.plate is not None \
                    and read.plate.label == label
        rows.append({"slope_deg": slope, "crops": count,
                     **{name: n / count for name, n in hits.items()}})
        if progress:
            print(f"  slope {slope:>4.0f} deg: " + ", ".join(
                f"{name} {n}/{count}" for name, n in hits.items()), file=sys.stderr)
    return {"split": split, "first": first, "count": count, "rows": rows,
            "seconds": round(time.monotonic() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.bench.rectify_bench",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=sorted(SPLITS), default="test",
                    help="val to tune, test to report (default)")
    ap.add_argument("--first", type=int, default=5000, help="first sample index (default 5000)")
    ap.add_argument("--count", type=int, default=600, help="crops per slope (default 600)")
    ap.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    a = ap.parse_args(argv)
    result = run(SPLITS[a.split], a.first, a.count)
    if a.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"split {a.split}, samples {a.first}..{a.first + a.count - 1}, exact plates "
          "after grammar")
    print(f"{'slope':>8}{'as cut':>10}{'rectified':>11}")
    for row in result["rows"]:  # type: ignore[union-attr]
        print(f"{row['slope_deg']:>6.0f} d{100 * row['as cut']:>9.1f}%"
              f"{100 * row['rectified']:>10.1f}%")
    print(f"({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
