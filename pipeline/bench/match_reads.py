"""Matching on real reads: drive-in cars rendered with the scene renderer, read by the real plate
model, matched by the likelihood rule and by the text rule on the same reads.

    python -m pipeline.bench.match_reads read --seed 5001 --cars 1500 --out /tmp/reads5001.pkl
    python -m pipeline.bench.match_reads match /tmp/reads9001.pkl [--json] [--sweep]

The text simulation (``match_simulation``) cannot give CTC scores; this one can. A population
of registered plates is drawn as there (22,000 plates, ``PlateSource`` and ``build_world`` from
the seed); each car is registered at 80 % (a registered plate drawn uniformly) or an
unregistered plate from the same distribution. Its plate is rendered (``render_plate``,
random style), put on a car front in a drive-in frame at three distances (``scenes``: far,
middle, near; perspective, day or dusk, blur, motion blur, noise; the camera's effects are
applied to a window around the plate, which is all that is read) and each frame is read in
the plate's box by the product's ``PlateReader`` (rectify, the real German model, grammar),
so every error is one the renderer and the model make. ``read`` writes the reads (with their
frame scores) to a file: reading is the slow part and does not depend on the rule.

``match`` replays per car, for the rules on the same reads (``likelihood``: with the reads'
CTC scores; on their texts alone ``text``, the text likelihood rule the stock model gets by
default, and ``cost``, the cost rule before it):

- *car*: the three frames through the product's tracker, the voted plate matched with its
  evidence (text rules) or its reads' scores (likelihood rule);
- *lone*: the near frame alone, as one read.

Outcomes per car: ``correct`` (registered: the right account; unregistered: reported
unregistered), ``wrong_account``, ``needs_review``, ``unregistered`` (a registered car
reported unregistered) and ``no_read`` (the grammar or the tracker gave no passage).

Seeds: tuning 5000-5999, reporting 9000-9999 (never tune on them), as the scene generator.
``match --sweep`` (tuning seeds only) shows every margin pair on the same reads.

Figures (2026-12-01, crop renderer, 3 frames per car, 22,000 registered plates, 20 %
unregistered cars; defaults likelihood_margin 6, unregistered_margin 1, chosen on seed 5001,
800 cars). Reporting seed 9001, 3,000 cars, frames read exactly right 89.3 %:

=====================  ======================  ======================
per car                likelihood rule         cost rule (same reads)
=====================  ======================  ======================
cars (3 frames):
wrong accounts         0                       0
registered checked in  2,379 / 2,407 (98.8 %)  2,354 (97.8 %)
review, of all cars    5 (0.17 %)              79 (2.6 %)
unregistered reported  584 / 593 (98.5 %)      535 (90.2 %)
lone reads (near):
wrong accounts         0                       1 (exact hit: OF-YM5 read OF-VM5, registered)
registered checked in  2,175 (90.4 %)          2,138 (88.8 %)
review, of all cars    128 (4.3 %)             214 (7.1 %)
unregistered reported  585 (98.7 %)            539 (90.9 %)
=====================  ======================  ======================

With the scene renderer (``--renderer scene``, reporting seed 9002, 600 cars, frames read
exactly right 93.1 %): likelihood rule 477/477 registered cars checked in and 123/123
unregistered reported, no review, in both modes; cost rule 471 (98.7 %) and 113 (91.9 %),
16 to review; no wrong account.

The text likelihood rule (2026-12-02, settings chosen on the text simulation's seed 1, never
on these reads), same file, seed 9001: cars 2,354 registered checked in (97.8 %, as the cost
rule), 579 / 593 unregistered reported unregistered (97.6 %; cost rule 90.2 %), 35 to review
(79), 0 wrong accounts; lone reads 2,141 checked in (88.9 %; cost rule 88.8 %), 583
unregistered reported (98.3 %; 90.9 %), 107 to review (214), but 150 registered cars
reported unregistered (90), and the same 1 wrong account as the cost rule (the exact hit
above); CPU p95 1.7 ms per car.

Read again on 2026-12-02 (same seed and count, today's reader: frames read exactly right
89.6 %; the text rule at margin 6.5 with the glyphs the grammar dropped, which these files now
keep): cars, likelihood rule 2,382 / 2,407 registered checked in (99.0 %), 589 / 593
unregistered reported (99.3 %), 6 to review, 0 wrong; text rule 2,356 (97.9 %), 583 (98.3 %),
39 to review, 0 wrong; cost rule 2,354 (97.8 %), 539 (90.9 %), 86, 0 wrong. Lone reads:
likelihood 2,167 (90.0 %), 583 (98.3 %), 0 wrong; text 2,130 (88.5 %), 580 (97.8 %), 1 wrong
(the exact hit above, as the cost rule). CPU p95 per car 1.6 ms (likelihood), 1.0 ms (text).

Cars with no passage (nothing German read, or the tracker made none): 30 of 3,000 (car mode),
18 (lone), the same for both rules. Likelihood match per car (car mode): CPU p95 4.0 ms,
p99 7.0 ms; wall p95 7.7 ms on two cores shared with a training run. Every frame here has its
own degradations (light, angle, resolution, blur, noise drawn per frame), so an error that
every frame of a car repeats (dirt on one glyph) is rarer than on a real camera; the sum over
frames treats them as independent, which is why the margin was chosen with room to spare.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from pipeline.bench.sim_world import REGISTERED_SHARE, PlateSource, World, build_world
from pipeline.detection.types import Box, Detection
from pipeline.domain import Status
from pipeline.matching.fuzzy import FuzzyMatcher, MatchThresholds
from pipeline.matching.likelihood import lead_status
from pipeline.matching.matcher import Spurious, lone_spurious
from pipeline.plate.districts import district_codes
from pipeline.plate.grammar import Plate
from pipeline.reading.ctc import CharScores
from pipeline.reading.plate_reader import PlateRead
from pipeline.tracking.passages import PassageTracker, TrackerConfig

FRAMES = (0.0, 0.5, 1.0)  # the car's progress towards the camera in its frames
OUTCOMES = ("correct", "wrong_account", "needs_review", "unregistered", "no_read")


@dataclass(frozen=True)
class FrameRead:
    """One frame's read as the reader gave it (``log_probs`` as float16 to keep files small)."""

    raw: str
    confidence: float
    plate: Plate | None
    ambiguous: bool
    log_probs: np.ndarray | None
    charset: str
    as_read: str = ""  # the grammar's ParseResult.as_read (files before 2026-12-02: "")

    def scores(self) -> CharScores | None:
        if self.log_probs is None:
            return None
        return CharScores(self.log_probs.astype(np.float64), self.charset)


@dataclass(frozen=True)
class Car:
    truth: str  # compact plate
    customer: str | None  # None: unregistered
    reads: tuple[FrameRead | None, ...]  # one per frame, None: nothing read


@dataclass
class ReadsFile:
    seed: int
    plates: int
    cars: list[Car] = field(default_factory=list)
    seconds: float = 0.0


def _null_detector() -> object:
    class _Null:
        def detect(self, image: np.ndarray) -> list[Detection]:
            return []

    return _Null()


def read_cars(seed: int, n_cars: int, n_plates: int, progress: bool = True,
              save: Path | None = None, renderer: str = "crop") -> ReadsFile:
    """Render and read ``n_cars`` cars of the world of ``seed`` (see the module docstring);
    with ``save``, the cars read so far are written there every 50 cars (a long run on a
    busy machine leaves something usable), resuming from what the file holds."""
    from pipeline.reading.plate_reader import PlateReader
    from pipeline.reading.recognisers import load_recogniser
    from pipeline.synth.augment import detector_crop
    from pipeline.synth.plate_render import render_plate
    from pipeline.synth.scenes import Car as SceneCar
    from pipeline.synth.scenes import background, camera_look, draw_car

    t0 = time.monotonic()
    source = PlateSource(random.Random(seed))
    world = build_world(source, n_plates)
    registered = list(world.plates.values())
    recogniser = load_recogniser(prefer="plate", threads=1)
    reader = PlateReader(_null_detector(), recogniser, district_codes())  # type: ignore[arg-type]
    out = ReadsFile(seed, len(world.owner))
    if save is not None and save.exists():
        out = load_reads(save)
    for k in range(len(out.cars), n_cars):
        if progress and k % 100 == 0:
            print(f"  {k}/{n_cars} cars ({time.monotonic() - t0:.0f} s)", file=sys.stderr)
        if save is not None and k and k % 50 == 0:
            save.write_bytes(pickle.dumps(out))
        # each car draws from its own generators: a resumed run gives the same cars
        pick = random.Random(seed * 7919 + k)
        rng = np.random.default_rng([seed, k])
        if pick.random() < REGISTERED_SHARE:
            plate = pick.choice(registered)
            customer: str | None = world.owner[plate.compact]
        else:
            source.rng = pick
            plate = source.plate()
            while plate.compact in world.owner:
                plate = source.plate()
            customer = None
        scene_car = SceneCar(plate.label, tuple(int(c) for c in rng.integers(30, 230, 3)),
                             bool(rng.random() < 0.3), float(rng.uniform(-1, 1)))
        plate_img = render_plate(plate.label, rng)
        reads = []
        if renderer == "crop":  # each frame its own light, angle, resolution, blur, noise
            for _ in FRAMES:
                crop = detector_crop(plate_img, rng)
                reads.append(_frame_read(reader.read_box(
                    crop, Box(0, 0, crop.shape[1], crop.shape[0]))))
            out.cars.append(Car(plate.compact, customer, tuple(reads)))
            continue
        plate_img = plate_img.astype(np.float32)
        entrance = background(rng, scene_car.dusk)  # one camera, one entrance per car
        for step in FRAMES:
            img = entrance.copy()
            box = Box(*draw_car(img, scene_car, plate_img, step, rng))
            # the camera's blur and noise are local: applied around the plate only (speed)
            x0, y0 = max(0, box.x - box.w), max(0, box.y - 2 * box.h)
            window = img[y0:box.y + 3 * box.h, x0:box.x + 2 * box.w]
            frame = camera_look(window, scene_car.dusk, rng)
            reads.append(_frame_read(reader.read_box(frame, Box(box.x - x0, box.y - y0,
                                                                 box.w, box.h))))
        out.cars.append(Car(plate.compact, customer, tuple(reads)))
    out.seconds = time.monotonic() - t0
    return out


def _frame_read(read: PlateRead | None) -> FrameRead | None:
    if read is None:
        return None
    scores = read.scores
    return FrameRead(read.raw, read.confidence, read.plate, read.ambiguous,
                     None if scores is None else scores.log_probs.astype(np.float16),
                     "" if scores is None else scores.charset, read.as_read)


def world_of(data: ReadsFile) -> World:
    return build_world(PlateSource(random.Random(data.seed)), data.plates)


_BOX = Box(560, 500, 160, 36)


def passage_of(car: Car, lone: bool,
               ) -> tuple[Plate, bool, tuple, tuple[CharScores, ...], Spurious] | None:
    """The car as the product would match it: (voted plate, ambiguous, evidence, scores,
    spurious);
    ``lone``: the near frame alone. None: no passage (nothing German read, or the tracker
    made none)."""
    if lone:
        r = car.reads[-1]
        if r is None or r.plate is None:
            return None
        s = r.scores()
        return (r.plate, r.ambiguous, None, (s,) if s is not None else (),
                lone_spurious(r.plate.compact, r.as_read))
    tracker = PassageTracker(TrackerConfig(dedup_s=0.0))
    got = []
    for i, r in enumerate(car.reads):
        reads = [] if r is None or r.plate is None else [
            PlateRead(_BOX, r.raw, r.confidence, r.plate, r.ambiguous, as_read=r.as_read,
                      scores=r.scores())]
        got += tracker.update(0.2 * i, reads)
    got += tracker.flush()
    if not got:
        return None
    p = got[0]
    return p.plate, p.ambiguous, p.evidence, p.scores, p.spurious


def outcome(car: Car, status: str | None, customer: str | None) -> str:
    if status is None:
        return "no_read"
    if status == Status.MATCHED:
        return "correct" if customer == car.customer else "wrong_account"
    if status == Status.NEEDS_REVIEW:
        return "needs_review"
    return "correct" if car.customer is None else "unregistered"


@dataclass
class Replay:
    """Per-car outcomes of both rules, the likelihood rule's match times, the wrong ones."""

    counts: dict[tuple[str, str, str], Counter[str]] = field(default_factory=dict)
    match_ms: list[float] = field(default_factory=list)  # wall clock, likelihood rule, cars
    match_cpu_ms: list[float] = field(default_factory=list)  # the matching thread's CPU time
    text_cpu_ms: list[float] = field(default_factory=list)  # the text likelihood rule, cars
    wrong: list[str] = field(default_factory=list)


RULES = ("cost", "text", "likelihood")


def replay(data: ReadsFile, thresholds: MatchThresholds) -> Replay:
    """Both rules on every car: ``likelihood`` with the reads' scores, and on the texts
    alone ``text`` (the text likelihood rule) and ``cost`` (the cost rule, the text rule
    before it)."""
    world = world_of(data)
    matcher = FuzzyMatcher(world.owner.items(), world.accounts.get,
                           replace(thresholds, text_rule="likelihood"))
    cost = FuzzyMatcher(world.owner.items(), world.accounts.get,
                        replace(thresholds, text_rule="cost"))
    out = Replay()
    for car in data.cars:
        kind = "registered" if car.customer else "unregistered"
        for mode in ("car", "lone"):
            p = passage_of(car, mode == "lone")
            for rule in RULES:
                status = customer = None
                if p is not None:
                    plate, ambiguous, evidence, scores, spurious = p
                    use = scores if rule == "likelihood" else ()
                    t0, c0 = time.perf_counter(), time.thread_time()
                    result = (cost if rule == "cost" else matcher).match(
                        plate, ambiguous, evidence, use, spurious)
                    if rule == "likelihood" and mode == "car":
                        out.match_ms.append(1000 * (time.perf_counter() - t0))
                        out.match_cpu_ms.append(1000 * (time.thread_time() - c0))
                    elif rule == "text" and mode == "car":
                        out.text_cpu_ms.append(1000 * (time.thread_time() - c0))
                    status = result.status
                    customer = result.account.customer_number if result.account else None
                verdict_name = outcome(car, status, customer)
                if verdict_name == "wrong_account":
                    out.wrong.append(f"{rule}/{mode}: {car.truth} ({kind}) read "
                                     f"{[r.raw if r else None for r in car.reads]} -> "
                                     f"{result.plate}")
                out.counts.setdefault((mode, rule, kind), Counter())[verdict_name] += 1
    return out


def summary(data: ReadsFile, r: Replay) -> dict[str, object]:
    rows = []
    for (mode, rule, kind), c in sorted(r.counts.items()):
        total = sum(c.values())
        rows.append({"mode": mode, "rule": rule, "car": kind, "cars": total,
                     **{o: c[o] for o in OUTCOMES},
                     "correct_share": c["correct"] / total if total else None,
                     "review_share": c["needs_review"] / total if total else None})
    lat = {}
    for name, values in (("", r.match_ms), ("cpu_", r.match_cpu_ms),
                         ("text_cpu_", r.text_cpu_ms)):
        ms = sorted(values)
        lat |= {f"{name}mean_ms": statistics.fmean(ms) if ms else 0.0,
                f"{name}p95_ms": ms[int(0.95 * (len(ms) - 1))] if ms else 0.0,
                f"{name}p99_ms": ms[int(0.99 * (len(ms) - 1))] if ms else 0.0}
    frames = [fr for car in data.cars for fr in car.reads]
    right = sum(1 for car in data.cars for fr in car.reads
                if fr is not None and fr.plate is not None and fr.plate.compact == car.truth)
    return {"seed": data.seed, "plates": data.plates, "cars": len(data.cars),
            "frames_read_right": right / max(1, len(frames)),
            "read_seconds": round(data.seconds), "rows": rows, "match_latency": lat,
            "wrong": r.wrong}


SWEEP_MARGIN = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0)
SWEEP_UNREGISTERED = (0.0, 1.0, 2.0, 4.0)


def print_sweep(data: ReadsFile, base: MatchThresholds) -> None:
    """Per margin pair, the likelihood rule's wrong accounts and shares (cars, lone reads),
    from one judgement per car (the leads do not depend on the margins). ``calib``: the
    wrong accounts per 100,000 passages the checked-in cars would hold if the model's
    likelihoods were calibrated (sum of exp(-lead)): what a few hundred cars cannot show."""
    world = world_of(data)
    matcher = FuzzyMatcher(world.owner.items(), world.accounts.get, base)
    judged = []
    for car in data.cars:
        for mode in ("car", "lone"):
            p = passage_of(car, mode == "lone")
            if p is None or not p[3]:
                judged.append((car, mode, None, {}, False))
                continue
            verdict, owner = matcher.judge(p[0], p[3], p[1])
            judged.append((car, mode, verdict, owner, p[1]))
    print(f"seed {data.seed}, {len(data.cars)} cars; likelihood rule; per mode: wrong "
          "accounts, calibrated estimate per 100,000, registered checked in, review share, "
          "unregistered reported")
    print(f"{'margin':>7}{'unreg':>7}" + "".join(
        f"{m + ' ' + h:>16}" for m in ("car", "lone")
        for h in ("wrong", "calib/100k", "reg in %", "review %", "unreg %")))
    for margin in SWEEP_MARGIN:
        for unreg in SWEEP_UNREGISTERED:
            cells = []
            for mode in ("car", "lone"):
                c: Counter[str] = Counter()
                calib = 0.0
                for car, m, v, owner, ambiguous in judged:
                    if m != mode:
                        continue
                    kind = "registered" if car.customer else "unregistered"
                    status = None if v is None else lead_status(
                        v.over_unregistered, v.over_rival, margin, margin, unreg, ambiguous)
                    who = None
                    if v is not None and status == Status.MATCHED:
                        who = owner[v.best]
                        calib += math.exp(-v.over_unregistered) + math.exp(-v.over_rival)
                    c[kind + "/" + outcome(car, status, who)] += 1
                reg = sum(v for k, v in c.items() if k.startswith("registered/"))
                free = sum(v for k, v in c.items() if k.startswith("unregistered/"))
                review = c["registered/needs_review"] + c["unregistered/needs_review"]
                wrong = c["registered/wrong_account"] + c["unregistered/wrong_account"]
                cells += [f"{wrong:>16}", f"{1e5 * calib / max(1, reg + free):>16.2f}",
                          f"{100 * c['registered/correct'] / max(1, reg):>16.2f}",
                          f"{100 * review / max(1, reg + free):>16.2f}",
                          f"{100 * c['unregistered/correct'] / max(1, free):>16.2f}"]
            print(f"{margin:>7}{unreg:>7}" + "".join(cells))


def print_summary(s: dict[str, object]) -> None:
    print(f"seed {s['seed']}: {s['cars']} cars against {s['plates']} registered plates; "
          f"frames read exactly right {100 * s['frames_read_right']:.1f}%")  # type: ignore[operator]
    print(f"{'mode':<6}{'rule':<12}{'car':<14}{'cars':>6}"
          + "".join(f"{o:>15}" for o in OUTCOMES) + f"{'correct %':>11}{'review %':>10}")
    for row in s["rows"]:  # type: ignore[union-attr]
        print(f"{row['mode']:<6}{row['rule']:<12}{row['car']:<14}{row['cars']:>6}"
              + "".join(f"{row[o]:>15}" for o in OUTCOMES)
              + f"{100 * row['correct_share']:>10.2f}%{100 * row['review_share']:>9.2f}%")
    lat = s["match_latency"]
    for name, label in (("", "likelihood match per car (wall)"),
                        ("cpu_", "likelihood match per car (cpu)"),
                        ("text_cpu_", "text likelihood match per car (cpu)")):
        print(f"{label}: "
              f"mean {lat[name + 'mean_ms']:.2f} ms, "  # type: ignore[index]
              f"p95 {lat[name + 'p95_ms']:.2f} ms, "  # type: ignore[index]
              f"p99 {lat[name + 'p99_ms']:.2f} ms")  # type: ignore[index]
    for w in s["wrong"]:  # type: ignore[union-attr]
        print("  wrong:", w)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.bench.match_reads",
                                 description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    rd = sub.add_parser("read", help="render and read cars, write the reads to a file")
    rd.add_argument("--seed", type=int, required=True,
                    help="5000-5999 tuning, 9000-9999 reporting")
    rd.add_argument("--cars", type=int, default=3000)
    rd.add_argument("--plates", type=int, default=22000)
    rd.add_argument("--out", type=Path, required=True)
    rd.add_argument("--renderer", choices=("crop", "scene"), default="crop",
                    help="crop: detector crops (augment.detector_crop, default); scene: "
                         "drive-in frames (slower)")
    mt = sub.add_parser("match", help="replay both rules on a reads file")
    mt.add_argument("reads", type=Path, nargs="+")
    mt.add_argument("--json", action="store_true")
    mt.add_argument("--sweep", action="store_true",
                    help="the likelihood rule on a grid of margins (tuning seeds only)")
    for name, default in (("likelihood-margin", None), ("unregistered-margin", None),
                          ("unregistered-share", None)):
        mt.add_argument(f"--{name}", type=float, default=default)
    args = ap.parse_args(argv)
    if args.command == "read":
        data = read_cars(args.seed, args.cars, args.plates, save=args.out,
                         renderer=args.renderer)
        args.out.write_bytes(pickle.dumps(data))
        print(f"{len(data.cars)} cars read in {data.seconds:.0f} s -> {args.out}",
              file=sys.stderr)
        return 0
    thresholds = MatchThresholds()
    overrides = {k: v for k, v in (("likelihood_margin", args.likelihood_margin),
                                   ("unregistered_margin", args.unregistered_margin),
                                   ("unregistered_share", args.unregistered_share))
                 if v is not None}
    thresholds = replace(thresholds, **overrides)
    for path in args.reads:
        data = load_reads(path)
        if args.sweep:
            print_sweep(data, thresholds)
            continue
        s = summary(data, replay(data, thresholds))
        s["thresholds"] = {k: getattr(thresholds, k) for k in (
            "likelihood_margin", "unregistered_margin", "unregistered_share", "plates_around")}
        if args.json:
            print(json.dumps(s, indent=2, default=lambda x: None if x is math.inf else x))
        else:
            print(thresholds)
            print_summary(s)
    return 0


class _Unpickler(pickle.Unpickler):
    """Reads files written by ``python -m`` runs, whose classes were ``__main__``'s."""

    def find_class(self, module: str, name: str) -> type:
        if module == "__main__":
            module = __name__
        return super().find_class(module, name)


def load_reads(path: Path) -> ReadsFile:
    with path.open("rb") as fh:
        return _Unpickler(fh).load()


if __name__ == "__main__":
    # run as the package's module, so that the files it writes name it (not __main__)
    from pipeline.bench.match_reads import main as _main

    raise SystemExit(_main())
