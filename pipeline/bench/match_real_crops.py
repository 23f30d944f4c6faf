"""Real German plate crops as single-frame cars: the text rule and the likelihood rule.

    python -m pipeline.bench.match_real_crops [--data ../shared/data] [--seed 2] [--json]

Every crop of ``plates_crops_de`` and ``plates_real`` (the box is the image) is read once by
the product's reader with the real German model, and matched as a car of one read against a
population of 22,000 registered plates (``sim_world``'s world of ``--seed``) plus the
crops' own plates, each its own customer; then again with the crops' plates not registered
(the car must not get an account). Evaluation only: nothing here is tuned on these crops.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import Counter
from pathlib import Path

import cv2

from pipeline.bench.sim_world import PlateSource, build_world
from pipeline.detection.types import Box
from pipeline.domain import Account, Status
from pipeline.matching.fuzzy import FuzzyMatcher, MatchThresholds
from pipeline.matching.matcher import lone_spurious
from pipeline.plate.districts import district_codes
from pipeline.plate.grammar import plate_from_label

FOLDERS = ("plates_crops_de", "plates_real")
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def crops(data: Path) -> list[tuple[Path, str]]:
    out = []
    for folder in FOLDERS:
        labels = data / folder / "labels.csv"
        if not labels.is_file():
            continue
        with labels.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                plate = plate_from_label(row["plate"])
                if plate is not None:
                    out.append((data / folder / row["file"], plate.compact))
    return out


def main(argv: list[str] | None = None) -> int:
    from pipeline.reading.plate_reader import PlateReader
    from pipeline.reading.recognisers import load_recogniser

    ap = argparse.ArgumentParser(prog="python -m pipeline.bench.match_real_crops",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=2, help="the population's seed")
    ap.add_argument("--plates", type=int, default=22000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    items = crops(args.data)
    if not items:
        print(f"no labelled German crops under {args.data}", file=sys.stderr)
        return 2
    world = build_world(PlateSource(random.Random(args.seed)), args.plates)
    own = {compact: f"real{i}" for i, (_, compact) in enumerate(items)}
    accounts = dict(world.accounts) | {c: Account(c, c, (p,)) for p, c in own.items()}
    others = [(p, c) for p, c in world.owner.items() if p not in own]
    with_them = FuzzyMatcher([*others, *own.items()], accounts.get, MatchThresholds())
    without = FuzzyMatcher(others, accounts.get, MatchThresholds())
    recogniser = load_recogniser(prefer="plate", threads=1)
    reader = PlateReader(None, recogniser, district_codes())  # type: ignore[arg-type]
    counts: dict[str, Counter[str]] = {}
    rows = []
    for path, truth in items:
        image = cv2.imread(str(path))
        read = None if image is None else reader.read_box(
            image, Box(0, 0, image.shape[1], image.shape[0]))
        row: dict[str, object] = {"file": path.name, "truth": truth,
                                  "read": None if read is None or read.plate is None
                                  else read.plate.compact}
        for population, matcher in (("registered", with_them), ("unregistered", without)):
            for rule in ("text", "likelihood"):
                if read is None or read.plate is None:
                    verdict = "no_read"
                else:
                    scores = (read.scores,) if rule == "likelihood" and read.scores else ()
                    result = matcher.match(read.plate, read.ambiguous, None, scores,
                                           lone_spurious(read.plate.compact, read.as_read))
                    customer = result.account.customer_number if result.account else None
                    if result.status == Status.MATCHED:
                        verdict = "right" if customer == own.get(truth) and \
                            population == "registered" else "wrong_account"
                    elif result.status == Status.NEEDS_REVIEW:
                        verdict = "needs_review"
                    else:
                        verdict = "unregistered"
                counts.setdefault(f"{population}/{rule}", Counter())[verdict] += 1
                row[f"{population}/{rule}"] = verdict
        rows.append(row)
    summary = {"crops": len(items), "population": len(others) + len(own), "seed": args.seed,
               "counts": {k: dict(v) for k, v in sorted(counts.items())}}
    if args.json:
        print(json.dumps(summary | {"rows": rows}, indent=2))
        return 0
    print(f"{len(items)} real German crops, each a single-frame car; population "
          f"{summary['population']} plates")
    for key, c in sorted(counts.items()):
        print(f"  {key:<26} " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    for row in rows:
        if row["registered/likelihood"] != "right" or row["registered/text"] != "right":
            print(f"  {row}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
