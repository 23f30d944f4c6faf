"""Close-range scenes: plates from 300 to 1000 px wide in a 1280x720 frame, some rotated.

The drive-in scenes (``pipeline.synth.scenes``) show plates 90-210 px wide; a car stopping
right in front of the camera, or an operator's phone photo, shows one that fills a third to
most of the frame, possibly rolled by up to 25 degrees. This writes such sequences in the
generator's layout (frames, ``labels.csv`` with the plate's box, ``ground_truth.csv`` per
car), so that ``eval`` measures them per frame and per car:

    python -m pipeline.synth.close_range --out /tmp/close9400 --cars 60 --seed 9400

Seeds as in the scene generator: 5000-5999 tuning, 9000-9999 evaluation only.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

from pipeline.synth.plate_render import random_plate, render_plate
from pipeline.synth.scenes import LOCAL_DISTRICTS, SIZE, background, camera_look, paste_plate

WIDTH_PX = (300, 1000)
MAX_ROLL_DEG = 25.0
ROLLED_SHARE = 0.4  # of the cars: a phone held askew


def frame_with_plate(plate: np.ndarray, width: float, roll: float, centre: tuple[float, float],
           colour: tuple[int, int, int], dusk: bool,
           rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A car front filling the frame with ``plate`` ``width`` px wide, rolled by ``roll``
    degrees about ``centre``; the frame and the plate's axis-aligned box."""
    w, h = SIZE
    img = background(rng, dusk)
    body = tuple(float(c) for c in colour)
    cv2.rectangle(img, (0, int(h * 0.15)), (w, h), body, -1)
    grille_y = int(centre[1] - width * 0.5)
    cv2.rectangle(img, (int(w * 0.2), max(0, grille_y - 120)), (int(w * 0.8), max(0, grille_y)),
                  (40, 40, 40), -1)
    for lx in (int(w * 0.05), int(w * 0.95)):
        cv2.ellipse(img, (lx, max(0, grille_y - 60)), (110, 45), 0, 0, 360, (210, 215, 220), -1)
    ph, pw = plate.shape[:2]
    skew = rng.uniform(-0.04, 0.04) * width * ph / pw
    box = paste_plate(img, plate, width, skew, roll, centre)
    return camera_look(img, dusk, rng), box


def make_close_range(out: Path, cars: int, seed: int, frames_per_car: int = 4,
                     quality: int = 85) -> None:
    """Write ``cars`` close-range passages (plate growing from about 300 to 1000 px), each
    followed by two empty frames, with ``labels.csv`` and ``ground_truth.csv``."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.jpg"):
        old.unlink()
    w, h = SIZE
    boxes, truth = [], []
    number = 0
    seen: set[str] = set()
    for car in range(cars):
        while (text := random_plate(rng, str(rng.choice(LOCAL_DISTRICTS))
                                    if rng.random() < 0.7 else None)) in seen:
            pass
        seen.add(text)
        plate = render_plate(text, rng).astype(np.float32)
        colour = tuple(int(c) for c in rng.integers(30, 230, 3))
        dusk = bool(rng.random() < 0.25)
        roll = float(rng.uniform(-MAX_ROLL_DEG, MAX_ROLL_DEG)) \
            if rng.random() < ROLLED_SHARE else float(rng.uniform(-2, 2))
        first = number
        for k in range(frames_per_car):
            t = k / max(1, frames_per_car - 1)
            width = float(np.clip(WIDTH_PX[0] + t * (WIDTH_PX[1] - WIDTH_PX[0])
                                  + rng.uniform(-40, 40), *WIDTH_PX))
            # keep the rolled plate inside the frame
            a = np.radians(abs(roll))
            half_w = (width * np.cos(a) + width * 0.22 * np.sin(a)) / 2
            half_h = (width * np.sin(a) + width * 0.22 * np.cos(a)) / 2
            cx = rng.uniform(half_w + 5, w - half_w - 5) if half_w + 5 < w / 2 else w / 2
            cy = rng.uniform(max(h * 0.45, half_h + 5), max(h * 0.45, h - half_h - 5))
            frame, box = frame_with_plate(plate, width, roll, (cx, cy), colour, dusk, rng)
            name = f"frame_{number:04d}.jpg"
            cv2.imwrite(str(out / name), frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
            boxes.append({"file": name, "plate": text, "bbox_x_y_w_h": " ".join(map(str, box))})
            number += 1
        empty = camera_look(background(rng, dusk), dusk, rng)
        for _ in range(2):
            cv2.imwrite(str(out / f"frame_{number:04d}.jpg"), empty,
                        [cv2.IMWRITE_JPEG_QUALITY, quality])
            number += 1
        truth.append({"car": car + 1, "plate": text, "first_frame": first,
                      "last_frame": first + frames_per_car - 1, "roll_deg": round(roll, 1)})
    for name, rows in (("labels.csv", boxes), ("ground_truth.csv", truth)):
        with (out / name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate close-range scenes (plates 300-1000 px wide, some rolled).",
        epilog="example: python -m pipeline.synth.close_range --out /tmp/close9400 --cars 60 "
               "--seed 9400")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cars", type=int, default=60)
    parser.add_argument("--frames-per-car", type=int, default=4)
    parser.add_argument("--seed", type=int, default=5400)
    args = parser.parse_args(argv)
    make_close_range(args.out, args.cars, args.seed, args.frames_per_car)
    print(f"wrote {args.cars} close-range cars to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
