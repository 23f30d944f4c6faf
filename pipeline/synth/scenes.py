"""Synthetic drive-in entrance scenes: cars with German plates approaching the camera.

Generates the bundled ``sample_frames/`` (and harder evaluation sequences) from the project's
own plate renderer: a 1280x720 view of the loop entrance, each car seen over a few frames as
it approaches (growing, drifting, with perspective, blur, noise, day or dusk light), with a
ground-truth file per car (``ground_truth.csv``), the plate box of every frame
(``labels.csv``, the layout of ``../shared/data``) and an accounts CSV in which most (not
all) cars are registered.

    python -m pipeline.synth.scenes --out sample_frames --cars 10 --seed 1000

``--two-line 0.2`` gives about a fifth of the cars two-line plates (motorcycle / two-line car
plates, 200 mm high); ``ground_truth.csv`` and ``labels.csv`` then carry a ``lines`` column
(1 or 2). Without the option nothing changes: same rng draws, same files, no ``lines`` column
(absent means one line).

Seed ranges: 1000-1999 sample frames, 5000-5999 tuning, 9000-9999 evaluation (never tune on
them). Needs the generation fonts (Debian ``fonts-opendin``, ``fonts-dejavu-core``).
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.synth.plate_render import random_plate, render_plate, render_two_line_plate

SIZE = (1280, 720)
LOCAL_DISTRICTS = ("OF", "OF", "OF", "F", "F", "DA", "GG", "HU", "MTK", "AB", "DI", "WI")
FIRST_NAMES = ("Anna", "Jens", "Petra", "Murat", "Sabine", "Lukas", "Fatma", "Klaus", "Ingrid",
               "Tobias", "Elena", "Stefan", "Aylin", "Horst", "Marie", "Jonas")
LAST_NAMES = ("Schmidt", "Becker", "Yilmaz", "Wagner", "Hoffmann", "Schäfer", "Koch", "Richter",
              "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Krüger", "Hartmann")
REASONS = ("Jahresabrechnung", "Tarifberatung", "Abschlag ändern", "Energieberatung",
           "Umzug", "")


@dataclass(frozen=True)
class Car:
    plate: str  # label form, e.g. OF-AB123
    colour: tuple[int, int, int]
    dusk: bool
    lateral: float  # -1..1, where in the lane the car drives
    lines: int = 1  # 2: a two-line plate (200 mm high)


def _background(rng: np.random.Generator, dusk: bool,
                size: tuple[int, int] = SIZE) -> np.ndarray:
    w, h = size
    img = np.zeros((h, w, 3), np.float32)
    sky_top = np.array([200, 170, 120] if not dusk else [110, 70, 60], np.float32)
    sky_bottom = np.array([235, 220, 200] if not dusk else [150, 110, 120], np.float32)
    for y in range(int(h * 0.35)):
        t = y / (h * 0.35)
        img[y] = sky_top * (1 - t) + sky_bottom * t
    # the utility's building with windows and the drive-in sign
    cv2.rectangle(img, (0, int(h * 0.12)), (w, int(h * 0.42)), (150, 160, 170), -1)
    for x in range(40, w - 80, 120):
        cv2.rectangle(img, (x, int(h * 0.17)), (x + 70, int(h * 0.30)), (90, 80, 70), -1)
    cv2.rectangle(img, (int(w * 0.66), int(h * 0.05)), (int(w * 0.94), int(h * 0.13)),
                  (60, 120, 20), -1)
    cv2.putText(img, "DRIVE-IN  EXIT 3", (int(w * 0.675), int(h * 0.11)),
                cv2.FONT_HERSHEY_SIMPLEX, w / 1280, (255, 255, 255), max(2, w // 640),
                cv2.LINE_AA)
    # road in perspective with lane markings
    road = np.array([[w * 0.38, h * 0.42], [w * 0.62, h * 0.42], [w * 1.05, h], [-w * 0.05, h]],
                    np.int32)
    cv2.rectangle(img, (0, int(h * 0.42)), (w, h), (80, 120, 85), -1)
    cv2.fillPoly(img, [road], (95, 95, 98))
    for k in range(6):
        y0 = h * (0.45 + 0.1 * k)
        cv2.line(img, (int(w * 0.5), int(y0)), (int(w * 0.5), int(y0 + h * 0.04)),
                 (220, 220, 220), 2 + k)
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(img, 0, 255)


def _car(img: np.ndarray, car: Car, plate_img: np.ndarray, progress: float,
         rng: np.random.Generator) -> tuple[int, int, int, int]:
    """Draw the car front at ``progress`` (0 far .. 1 near); returns the plate box."""
    h, w = img.shape[:2]
    scale = 0.38 + 0.45 * progress
    cw, ch = int(w * 0.55 * scale), int(h * 0.62 * scale)
    cx = int(w * (0.5 + 0.12 * car.lateral * (1 - 0.5 * progress)))
    bottom = int(h * (0.62 + 0.33 * progress))
    x0, y0 = cx - cw // 2, bottom - ch
    body = tuple(float(c) for c in car.colour)
    cv2.rectangle(img, (x0, y0 + ch // 3), (x0 + cw, bottom), body, -1)
    roof = np.array([[x0 + cw * 0.15, y0], [x0 + cw * 0.85, y0], [x0 + cw, y0 + ch * 0.36],
                     [x0, y0 + ch * 0.36]], np.int32)
    cv2.fillPoly(img, [roof], body)
    glass = np.array([[x0 + cw * 0.2, y0 + ch * 0.05], [x0 + cw * 0.8, y0 + ch * 0.05],
                      [x0 + cw * 0.92, y0 + ch * 0.33], [x0 + cw * 0.08, y0 + ch * 0.33]],
                     np.int32)
    cv2.fillPoly(img, [glass], (60, 50, 45))
    light = (240, 250, 255) if car.dusk else (210, 215, 220)
    for lx in (x0 + int(cw * 0.12), x0 + int(cw * 0.88)):
        cv2.ellipse(img, (lx, y0 + int(ch * 0.48)), (int(cw * 0.09), int(ch * 0.05)), 0, 0, 360,
                    light, -1)
    cv2.rectangle(img, (x0 + int(cw * 0.3), y0 + int(ch * 0.42)),
                  (x0 + int(cw * 0.7), y0 + int(ch * 0.55)), (40, 40, 40), -1)
    cv2.rectangle(img, (x0, y0 + int(ch * 0.78)), (x0 + cw, bottom), (35, 35, 38), -1)
    cv2.ellipse(img, (cx, bottom), (int(cw * 0.55), int(ch * 0.05)), 0, 0, 360, (40, 40, 42), -1)
    # plate on the bumper, with a slight perspective from the car's angle; its width in
    # proportion to its size in mm (a one-line plate is 520 mm wide and 110 mm high)
    plate_h_mm = 200 if car.lines == 2 else 110
    pw = int(cw * 0.36 * (plate_img.shape[1] * plate_h_mm / plate_img.shape[0]) / 520)
    ph = int(pw * plate_img.shape[0] / plate_img.shape[1])
    px, py = cx - pw // 2, y0 + int(ch * 0.62)
    src = np.float32([[0, 0], [plate_img.shape[1], 0], [plate_img.shape[1], plate_img.shape[0]],
                      [0, plate_img.shape[0]]])
    skew = rng.uniform(-0.04, 0.04) * ph
    tilt = rng.uniform(-0.025, 0.025) * pw
    dst = np.float32([[px, py + skew], [px + pw, py - skew], [px + pw + tilt, py + ph - skew],
                      [px + tilt, py + ph + skew]])
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(plate_img.astype(np.float32), m, (w, h), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.ones(plate_img.shape[:2], np.float32), m, (w, h),
                               flags=cv2.INTER_LINEAR)[..., None]
    img[:] = img * (1 - mask) + warped * mask
    xs, ys = dst[:, 0], dst[:, 1]
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min()), int(ys.max() - ys.min())


def _camera(img: np.ndarray, dusk: bool, rng: np.random.Generator) -> np.ndarray:
    """Light, optics and sensor: dusk darkening, blur, motion blur, noise."""
    out = img.copy()
    if dusk:
        out = out * rng.uniform(0.45, 0.6) + np.array([12, 4, 0], np.float32)
    else:
        out = out * rng.uniform(0.9, 1.1)
    sigma = rng.uniform(0.3, 1.1)
    out = cv2.GaussianBlur(out, (0, 0), sigma)
    if rng.random() < 0.4:
        k = int(rng.integers(3, 7))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        out = cv2.filter2D(out, -1, kernel)
    out += rng.normal(0, 4.0 if not dusk else 7.0, out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def make_sequence(out: Path, cars: int, seed: int, frames_per_car: int = 4,
                  unregistered_every: int = 5, quality: int = 75,
                  two_line: float = 0.0) -> None:
    """Write frames, ``ground_truth.csv`` and ``accounts.csv`` for ``cars`` passages;
    ``two_line`` is the share of cars with a two-line plate (0: none, and no ``lines``
    column, so that existing seeds give the same files)."""
    if not 0.0 <= two_line <= 1.0:
        raise ValueError(f"two_line is a share of the cars, 0..1, not {two_line}")
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.jpg"):
        old.unlink()
    seen: set[str] = set()
    fleet: list[Car] = []
    while len(fleet) < cars:
        district = str(rng.choice(LOCAL_DISTRICTS)) if rng.random() < 0.85 else None
        plate = random_plate(rng, district)
        if plate in seen:
            continue
        seen.add(plate)
        colour = tuple(int(c) for c in rng.integers(30, 230, 3))
        dusk, lateral = bool(rng.random() < 0.3), float(rng.uniform(-1, 1))
        lines = 2 if two_line > 0 and rng.random() < two_line else 1  # no draw when off
        fleet.append(Car(plate, colour, dusk, lateral, lines))
    truth_rows, account_rows, box_rows = [], [], []
    frame_no = 0
    customer = 10001
    for index, car in enumerate(fleet):
        plate_img = (render_two_line_plate(car.plate, rng) if car.lines == 2
                     else render_plate(car.plate, rng)).astype(np.float32)
        registered = (index + 1) % unregistered_every != 0
        number = str(customer) if registered else ""
        first = frame_no
        for k in range(frames_per_car):
            progress = k / max(1, frames_per_car - 1)
            img = _background(rng, car.dusk)
            box = _car(img, car, plate_img, progress, rng)
            frame = _camera(img, car.dusk, rng)
            name = f"frame_{frame_no:04d}.jpg"
            cv2.imwrite(str(out / name), frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
            box_rows.append({"file": name, "plate": car.plate,
                             "bbox_x_y_w_h": " ".join(str(v) for v in box)})
            if two_line > 0:
                box_rows[-1]["lines"] = car.lines
            frame_no += 1
        # an empty entrance between cars, so that passages are separated in time
        empty = _camera(_background(rng, car.dusk), car.dusk, rng)
        for _ in range(2):
            cv2.imwrite(str(out / f"frame_{frame_no:04d}.jpg"), empty,
                        [cv2.IMWRITE_JPEG_QUALITY, quality])
            frame_no += 1
        truth_rows.append({"car": index + 1, "plate": car.plate, "customer_number": number,
                           "first_frame": first, "last_frame": first + frames_per_car - 1,
                           "light": "dusk" if car.dusk else "day"})
        if two_line > 0:
            truth_rows[-1]["lines"] = car.lines
        if registered:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            reason = str(rng.choice(REASONS))
            account_rows.append((number, name, car.plate, reason))
            if index == 0:  # one customer with a second car that does not come today
                account_rows.append((number, name, random_plate(rng, "OF"), reason))
            customer += 1
    # customers who are registered but do not drive by in this sequence
    for _ in range(max(3, cars // 2)):
        plate = random_plate(rng, str(rng.choice(LOCAL_DISTRICTS)))
        if plate in seen:
            continue
        seen.add(plate)
        account_rows.append((str(customer), f"{rng.choice(FIRST_NAMES)} "
                             f"{rng.choice(LAST_NAMES)}", plate, str(rng.choice(REASONS))))
        customer += 1
    with (out / "ground_truth.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(truth_rows[0]))
        writer.writeheader()
        writer.writerows(truth_rows)
    with (out / "labels.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(box_rows[0]))
        writer.writeheader()
        writer.writerows(box_rows)
    with (out / "accounts.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_number", "display_name", "plate", "visit_reason"])
        for number, name, plate, reason in account_rows:
            district, rest = plate.split("-")
            digits_at = next(i for i, c in enumerate(rest) if c.isdigit())
            writer.writerow([number, name, f"{district}-{rest[:digits_at]} {rest[digits_at:]}",
                             reason])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate synthetic drive-in entrance frames with German plates.",
        epilog="example: python -m pipeline.synth.scenes --out sample_frames --cars 10 "
               "--seed 1000")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--cars", type=int, default=10)
    parser.add_argument("--frames-per-car", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--quality", type=int, default=75, help="JPEG quality")
    parser.add_argument("--two-line", type=float, default=0.0, metavar="SHARE",
                        help="share of cars with a two-line plate, 0..1 (default 0: none)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.two_line <= 1.0:
        parser.error("--two-line is a share of the cars, 0..1")
    make_sequence(args.out, args.cars, args.seed, args.frames_per_car, quality=args.quality,
                  two_line=args.two_line)
    print(f"wrote {args.cars} cars to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
