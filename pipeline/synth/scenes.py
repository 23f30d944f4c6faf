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


def background(rng: np.random.Generator, dusk: bool,
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


def draw_car(img: np.ndarray, car: Car, plate_img: np.ndarray, progress: float,
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


def camera_look(img: np.ndarray, dusk: bool, rng: np.random.Generator) -> np.ndarray:
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
            img = background(rng, car.dusk)
            box = draw_car(img, car, plate_img, progress, rng)
            frame = camera_look(img, car.dusk, rng)
            name = f"frame_{frame_no:04d}.jpg"
            cv2.imwrite(str(out / name), frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
            box_rows.append({"file": name, "plate": car.plate,
                             "bbox_x_y_w_h": " ".join(str(v) for v in box)})
            if two_line > 0:
                box_rows[-1]["lines"] = car.lines
            frame_no += 1
        # an empty entrance between cars, so that passages are separated in time
        empty = camera_look(background(rng, car.dusk), car.dusk, rng)
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


# --- Varied scenes for the plate/no-plate classifier (issue 20) -------------------------
# The drive-in scenes show German plates with the EU band in one setting; real photos also
# show foreign and band-less plates, other sizes, and clutter with text (signs, stickers,
# dealers' frames, grilles). These frames widen that variety; they draw from their own rng
# only, so the scenes above are unchanged.

FOREIGN_MM = ((520, 110), (520, 110), (520, 110), (360, 110), (500, 110), (300, 150),
              (340, 110), (460, 120))
COUNTRIES = ("F", "I", "NL", "PL", "CZ", "E", "B", "A", "GB", "N", "S", "DK", "P", "SK", "H",
             "L", "FIN", "SLO", "HR", "RO")
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX,
         cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_PLAIN)
ALNUM = "ABCDEFGHIJKLMNOPRSTUVWXYZ0123456789"
FRAME_SIZES = ((640, 480), (800, 600), (1024, 768), (1280, 720), (1200, 800), (600, 400),
               (1920, 1080))


def _text_patch(text: str, height: int, width: int, rng: np.random.Generator,
                ink: tuple[float, float, float], paper: tuple[float, float, float]
                ) -> np.ndarray:
    """``text`` in a random Hershey font, stretched to ``width`` x ``height`` px."""
    font = FONTS[int(rng.integers(len(FONTS)))]
    thick = int(rng.integers(2, 6))
    (tw, th), base = cv2.getTextSize(text, font, 2.0, thick)
    canvas = np.zeros((th + base + 8, tw + 8), np.uint8)
    cv2.putText(canvas, text, (4, th + 4), font, 2.0, 255, thick, cv2.LINE_AA)
    ys, xs = np.nonzero(canvas)
    if not len(xs):
        return np.full((height, width, 3), paper, np.float32)
    canvas = canvas[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    mask = cv2.resize(canvas, (max(1, width), max(1, height)),
                      interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255
    return np.asarray(paper, np.float32) * (1 - mask) + np.asarray(ink, np.float32) * mask


def foreign_plate(rng: np.random.Generator) -> np.ndarray:
    """A non-German plate (float32 BGR): one of several sizes, white, yellow or grey, with
    or without a blue band and a country code, a random text in a random font."""
    w_mm, h_mm = FOREIGN_MM[int(rng.integers(len(FOREIGN_MM)))]
    s = 3
    W, H = w_mm * s, h_mm * s
    u = rng.random()
    paper = (250, 250, 250) if u < 0.6 else (30, 200, 245) if u < 0.85 else (215, 215, 210)
    paper = tuple(float(np.clip(c + rng.uniform(-15, 8), 0, 255)) for c in paper)
    ink = (rng.uniform(0, 50),) * 3 if rng.random() < 0.85 else (90.0, 40.0, 10.0)
    img = np.empty((H, W, 3), np.float32)
    img[:] = paper
    left, right = 4 * s, W - 4 * s
    if rng.random() < 0.55:
        band_w = int(rng.uniform(36, 46) * s)
        cv2.rectangle(img, (0, 0), (band_w, H), (153, 51, 0), -1)
        for i in range(12):
            a = 2 * np.pi * i / 12
            cv2.circle(img, (int(band_w / 2 + 9 * s * np.cos(a)), int(28 * s + 9 * s * np.sin(a))),
                       max(1, int(1.6 * s)), (0, 204, 255), -1)
        code = str(rng.choice(COUNTRIES))
        cy0, cx0, ch, cw = int(H * 0.55), int(band_w * 0.15), int(H * 0.35), int(band_w * 0.7)
        img[cy0:cy0 + ch, cx0:cx0 + cw] = _text_patch(code, ch, cw, rng, (255, 255, 255),
                                                      (153, 51, 0))
        left = band_w + 4 * s
        if rng.random() < 0.15:  # a second band on the right (Italy, Portugal)
            cv2.rectangle(img, (W - band_w, 0), (W, H), (153, 51, 0), -1)
            right = W - band_w - 4 * s
    n = int(rng.integers(4, 9))
    text = "".join(ALNUM[int(rng.integers(len(ALNUM)))] for _ in range(n))
    if rng.random() < 0.6:
        cut = int(rng.integers(1, n))
        text = text[:cut] + str(rng.choice([" ", "-", " "])) + text[cut:]
    cap = int(H * rng.uniform(0.55, 0.75))
    avail = right - left
    tw = int(min(avail, cap * len(text) * rng.uniform(0.5, 0.8)))
    x0 = left + (avail - tw) // 2
    y0 = (H - cap) // 2
    img[y0:y0 + cap, x0:x0 + tw] = _text_patch(text, cap, tw, rng, ink, paper)
    if rng.random() < 0.8:
        cv2.rectangle(img, (s, s), (W - s, H - s), ink, max(1, int(1.3 * s)), cv2.LINE_AA)
    out_h = 110 if h_mm <= 120 else 150
    return cv2.resize(img, (int(round(out_h * W / H)), out_h), interpolation=cv2.INTER_AREA)


def _clutter(img: np.ndarray, rng: np.random.Generator, count: int) -> None:
    """Things that look a little like a plate: signs and stickers with text, grilles with
    slats, dark and light boxes, window frames."""
    h, w = img.shape[:2]
    for _ in range(count):
        bw = int(w * rng.uniform(0.04, 0.35))
        bh = int(bw * rng.uniform(0.12, 0.9))
        x, y = int(rng.uniform(0, w - bw)), int(rng.uniform(0, h - bh))
        kind = rng.random()
        colour = tuple(float(c) for c in rng.integers(0, 256, 3))
        if kind < 0.4 and bh >= 6 and bw >= 12:  # a sign or sticker with text
            light = rng.random() < 0.6
            paper = tuple(float(c) for c in rng.integers(170, 256, 3)) if light else colour
            ink = tuple(float(c) for c in rng.integers(0, 80, 3)) if light else \
                (255.0, 255.0, 255.0)
            img[y:y + bh, x:x + bw] = paper
            n = int(rng.integers(3, 14))
            text = "".join(str(rng.choice(list(ALNUM + "   "))) for _ in range(n)).strip() or "X"
            th = max(3, int(bh * rng.uniform(0.35, 0.8)))
            tw = max(3, int(min(bw * 0.95, th * len(text) * rng.uniform(0.4, 0.9))))
            ty, tx = y + (bh - th) // 2, x + (bw - tw) // 2
            img[ty:ty + th, tx:tx + tw] = _text_patch(text, th, tw, rng, ink, paper)
        elif kind < 0.65:  # a grille: slats
            img[y:y + bh, x:x + bw] = colour
            dark = tuple(c * 0.3 for c in colour)
            step = max(3, int(rng.uniform(3, 12)))
            vertical = rng.random() < 0.4
            for k in range(0, bw if vertical else bh, step):
                if vertical:
                    cv2.line(img, (x + k, y), (x + k, y + bh), dark, max(1, step // 2))
                else:
                    cv2.line(img, (x, y + k), (x + bw, y + k), dark, max(1, step // 2))
        elif kind < 0.85:
            cv2.rectangle(img, (x, y), (x + bw, y + bh), colour, -1)
        else:
            cv2.rectangle(img, (x, y), (x + bw, y + bh), colour, max(1, bh // 8))


def _texture(img: np.ndarray, rng: np.random.Generator, x0: int, y0: int, x1: int, y1: int,
             colour: tuple[float, ...]) -> None:
    """``colour`` with blurred noise over a region: bushes, paving, a dirty wall."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    noise = rng.normal(0, 1, (y1 - y0, x1 - x0)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), float(rng.uniform(0.8, 4.0)))
    noise *= float(rng.uniform(15, 60)) / max(1e-3, float(noise.std()))
    img[y0:y1, x0:x1] = np.asarray(colour, np.float32) + noise[..., None]


def _lamp(img: np.ndarray, rng: np.random.Generator, cx: int, cy: int, rw: int, rh: int,
          rear: bool) -> None:
    """A head lamp (chrome, reflectors, a bright lens) or a tail lamp (red and amber
    segments): the structured, bright, plate-sized blobs real photos are full of."""
    rw, rh = max(2, rw), max(2, rh)
    if rear:
        cv2.rectangle(img, (cx - rw, cy - rh), (cx + rw, cy + rh), (30, 30, 170), -1)
        for k in range(int(rng.integers(1, 4))):
            x = cx - rw + int((k + 1) * 2 * rw / 4)
            cv2.line(img, (x, cy - rh), (x, cy + rh), (40, 120, 230), max(1, rw // 10))
        cv2.rectangle(img, (cx - rw, cy - rh), (cx + rw, cy + rh), (200, 200, 200),
                      max(1, rh // 6))
        return
    round_lamp = rng.random() < 0.4
    if round_lamp:
        for k in range(int(rng.integers(1, 3))):
            c = (cx - rw // 2 + k * rw, cy) if rw > rh else (cx, cy)
            cv2.circle(img, c, rh, (200, 205, 210), -1)
            cv2.circle(img, c, int(rh * 0.7), (120, 120, 125), max(1, rh // 5))
            cv2.circle(img, c, max(1, rh // 4), (250, 250, 250), -1)
    else:
        cv2.ellipse(img, (cx, cy), (rw, rh), float(rng.uniform(-8, 8)), 0, 360,
                    (215, 220, 225), -1)
        cv2.ellipse(img, (cx, cy), (rw, rh), 0, 0, 360, (90, 90, 95), max(1, rh // 5))
        for k in range(int(rng.integers(1, 4))):
            px = cx - rw // 2 + int(k * rw / 2)
            cv2.circle(img, (px, cy), max(1, rh // 2), (150, 150, 160), max(1, rh // 8))
            cv2.circle(img, (px, cy), max(1, rh // 6), (255, 255, 255), -1)
    if rng.random() < 0.5:  # an amber indicator beside it
        cv2.rectangle(img, (cx + rw, cy - rh // 2), (cx + rw + rw // 3, cy + rh // 2),
                      (30, 140, 240), -1)


def _car_front(img: np.ndarray, rng: np.random.Generator, cx: float, cy: float, pw: float,
               body: tuple[float, ...]) -> None:
    """A car's front or rear around a plate ``pw`` wide centred at (cx, cy): body, windscreen
    with wipers, lamps, a grille of slats or mesh, a chrome strip, a badge."""
    car_w = pw * rng.uniform(2.5, 4.5)
    x0, x1 = int(cx - car_w / 2), int(cx + car_w / 2)
    y0, y1 = int(cy - car_w * 0.55), int(cy + car_w * 0.15)
    cv2.rectangle(img, (x0, y0), (x1, y1), body, -1)
    wy = int(y0 + car_w * 0.05)
    glass = np.array([[x0 + car_w * 0.12, wy], [x1 - car_w * 0.12, wy],
                      [x1 - car_w * 0.05, wy + car_w * 0.22], [x0 + car_w * 0.05,
                                                                wy + car_w * 0.22]], np.int32)
    cv2.fillPoly(img, [glass], tuple(float(c) for c in rng.integers(30, 90, 3)))
    for k in range(2):
        bx = int(x0 + car_w * (0.3 + 0.3 * k))
        cv2.line(img, (bx, int(wy + car_w * 0.21)),
                 (bx + int(car_w * 0.18), int(wy + car_w * 0.15)), (15, 15, 15),
                 max(1, int(car_w / 150)))
    rear = rng.random() < 0.4
    ly = int(cy - pw * rng.uniform(0.35, 0.7))
    lw, lh = int(car_w * rng.uniform(0.07, 0.13)), int(pw * rng.uniform(0.06, 0.14))
    for lx in (x0 + int(car_w * 0.13), x1 - int(car_w * 0.13)):
        _lamp(img, rng, lx, ly, lw, lh, rear)
    if not rear:
        gx0 = int(cx - car_w * rng.uniform(0.15, 0.3))
        gx1 = int(cx + car_w * rng.uniform(0.15, 0.3))
        gy0, gy1 = ly - lh, ly + lh
        dark = tuple(c * 0.2 for c in body)
        cv2.rectangle(img, (gx0, gy0), (gx1, gy1), dark, -1)
        step = max(2, int(rng.uniform(2, 8)))
        light = tuple(min(255.0, c * 0.6 + 60) for c in body)
        for y in range(gy0, gy1, step):
            cv2.line(img, (gx0, y), (gx1, y), light, 1)
        if rng.random() < 0.5:
            for x in range(gx0, gx1, step):
                cv2.line(img, (x, gy0), (x, gy1), light, 1)
        cv2.circle(img, (int(cx), ly), max(2, lh // 2), (200, 200, 200), -1)  # the badge
    if rng.random() < 0.6:  # a chrome strip or bumper edge
        sy = int(cy + pw * rng.uniform(0.2, 0.4))
        cv2.line(img, (x0, sy), (x1, sy), (225, 225, 225), max(1, int(pw / 40)))
    if rng.random() < 0.5:  # a dark bumper
        cv2.rectangle(img, (x0, int(cy + pw * 0.3)), (x1, y1), (35, 35, 38), -1)


def variety_frame(rng: np.random.Generator, german_share: float = 0.5, empty_share: float = 0.1
                  ) -> tuple[np.ndarray, tuple[int, int, int, int] | None, str]:
    """A photo-like frame of random size: a car front with a German or foreign plate 40 px to
    half the frame wide (a few rolled), clutter around; ``empty_share`` of the frames show
    no plate. Returns the BGR uint8 frame, the plate's box (or None) and its kind
    (``german``, ``foreign`` or ``none``)."""
    w, h = FRAME_SIZES[int(rng.integers(len(FRAME_SIZES)))]
    dusk = bool(rng.random() < 0.2)
    img = background(rng, dusk, (w, h))
    for _ in range(int(rng.integers(0, 4))):
        tx, ty = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        _texture(img, rng, tx, ty, tx + int(rng.uniform(0.1, 0.6) * w),
                 ty + int(rng.uniform(0.1, 0.5) * h),
                 tuple(float(c) for c in rng.integers(40, 200, 3)))
    _clutter(img, rng, int(rng.integers(2, 9)))
    body = tuple(float(c) for c in rng.integers(20, 240, 3))
    pw = float(np.exp(rng.uniform(np.log(40), np.log(0.5 * w))))
    cx, cy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.35, 0.85) * h
    _car_front(img, rng, cx, cy, pw, body)
    _clutter(img, rng, int(rng.integers(0, 3)))  # stickers and badges on the car
    if rng.random() < empty_share:
        return camera_look(img, dusk, rng), None, "none"
    german = rng.random() < german_share
    if german:
        plate = render_plate(random_plate(rng), rng).astype(np.float32)
    else:
        plate = foreign_plate(rng)
    ph_img, pw_img = plate.shape[:2]
    ph = pw * ph_img / pw_img
    roll = float(rng.uniform(-20, 20)) if rng.random() < 0.15 else float(rng.uniform(-3, 3))
    skew = rng.uniform(-0.05, 0.05) * ph
    box = paste_plate(img, plate, pw, skew, roll, (cx, cy))
    return camera_look(img, dusk, rng), box, "german" if german else "foreign"


def paste_plate(img: np.ndarray, plate: np.ndarray, width: float, skew: float, roll: float,
                centre: tuple[float, float]) -> tuple[int, int, int, int]:
    """Warp ``plate`` into ``img`` (in place): ``width`` px wide, its left edge ``skew`` px
    taller than its right (perspective), rolled by ``roll`` degrees about ``centre``.
    Returns the plate's axis-aligned box (x, y, w, h) within the image."""
    h, w = img.shape[:2]
    ph_img, pw_img = plate.shape[:2]
    height = width * ph_img / pw_img
    corners = np.float32([[-width / 2, -height / 2 + skew], [width / 2, -height / 2 - skew],
                          [width / 2, height / 2 - skew], [-width / 2, height / 2 + skew]])
    a = np.radians(roll)
    rot = np.float32([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    dst = corners @ rot.T + np.float32(centre)
    src = np.float32([[0, 0], [pw_img, 0], [pw_img, ph_img], [0, ph_img]])
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(plate, m, (w, h), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.ones((ph_img, pw_img), np.float32), m, (w, h))[..., None]
    img[:] = img * (1 - mask) + warped * mask
    x0, y0 = np.floor(dst.min(0)).astype(int)
    x1, y1 = np.ceil(dst.max(0)).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)
