"""Turn a clean rendered plate into a crop as a plate detector would deliver it.

Geometry (perspective, rotation, crop margins from -2 % to +15 %, sometimes cutting into
the EU band), surroundings (car paint, bumper), light (shadows, glare, colour casts,
night/IR grey), dirt, embossing, low resolution (mostly 60-120 px wide), blur, motion
blur, noise and JPEG. Used for training data only.
"""

from __future__ import annotations

import cv2
import numpy as np


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Car paint / bumper-like surroundings: a tinted gradient with noise and edges."""
    base = rng.uniform(0, 255, 3) if rng.random() < 0.6 else np.full(3, rng.uniform(10, 90))
    ramp = np.linspace(rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.3), h, dtype=np.float32)
    bg = np.clip(ramp[:, None, None] * base[None, None, :], 0, 255)
    bg = np.broadcast_to(bg, (h, w, 3)).copy()
    bg += rng.normal(0, rng.uniform(2, 14), (h, w, 1)).astype(np.float32)
    for _ in range(int(rng.integers(0, 4))):
        y = int(rng.integers(0, h))
        cv2.line(bg, (0, y), (w, y + int(rng.integers(-10, 10))),
                 tuple(float(v) for v in rng.uniform(0, 255, 3)), int(rng.integers(1, 6)))
    return np.clip(bg, 0, 255).astype(np.uint8)


def _shadow(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    pts = np.array([(rng.uniform(-0.2, 1.2) * w, rng.uniform(-0.2, 1.2) * h)
                    for _ in range(int(rng.integers(3, 6)))], np.int32)
    mask = np.zeros((h, w), np.float32)
    cv2.fillPoly(mask, [pts], 1.0)
    k = int(rng.integers(1, max(2, w // 20))) * 2 + 1
    mask = cv2.GaussianBlur(mask, (k, k), 0)
    dark = rng.uniform(0.35, 0.8)
    return img * (1 - mask[..., None] * (1 - dark))


def _glare(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    sx, sy = rng.uniform(0.05, 0.4) * w, rng.uniform(0.2, 1.0) * h
    blob = np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2))
    return img + blob[..., None] * rng.uniform(60, 200)


def _dirt(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(3, 40))):
        r = int(rng.integers(1, max(2, h // 8)))
        cv2.circle(mask, (int(rng.integers(0, w)), int(rng.integers(0, h))), r,
                   float(rng.uniform(0.2, 1.0)), -1)
    mask = cv2.GaussianBlur(mask, (5, 5), 0) * rng.uniform(0.2, 0.6)
    if rng.random() < 0.5:  # overall grime, stronger at the bottom
        mask += np.linspace(0, rng.uniform(0.05, 0.3), h, dtype=np.float32)[:, None]
    mask = np.clip(mask, 0, 0.8)
    colour = np.array([rng.uniform(30, 70), rng.uniform(50, 90), rng.uniform(70, 110)],
                      np.float32)
    return img * (1 - mask[..., None]) + colour * mask[..., None]


def _emboss(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pressed-in characters: a faint light/dark edge from oblique light."""
    dx, dy = int(rng.integers(-2, 3)), int(rng.integers(1, 3))
    shifted = np.roll(np.roll(img, dy, axis=0), dx, axis=1)
    return img + (img - shifted) * rng.uniform(0.1, 0.35)


def _motion_blur(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(2, max(3, img.shape[1] // 35) + 1))
    k = np.zeros((n, n), np.float32)
    k[n // 2, :] = 1.0
    ang = rng.normal(0, 20) if rng.random() < 0.8 else rng.uniform(0, 180)
    rot = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), ang, 1.0)
    k = cv2.warpAffine(k, rot, (n, n))
    return cv2.filter2D(img, -1, k / max(k.sum(), 1e-6))


def detector_crop(plate: np.ndarray, rng: np.random.Generator,
                  slope_deg: float = 0.0) -> np.ndarray:
    """A realistic BGR uint8 crop of a rendered ``plate`` image, as a detector delivers it.
    ``slope_deg``: the text row also slopes by this much, vertical edges kept (a plate seen
    from well to the side of the lane); it draws nothing from ``rng``, so the same seed
    gives the same crop but for the slope."""
    ph, pw = plate.shape[:2]
    # -- geometry: plate on surroundings, perspective + rotation, then the detector's box
    pad_x, pad_y = int(pw * 0.3), int(ph * 0.9)
    canvas = _background(rng, ph + 2 * pad_y, pw + 2 * pad_x)
    canvas[pad_y:pad_y + ph, pad_x:pad_x + pw] = plate
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    dst = src.copy()
    dst[:, 0] += rng.normal(0, 0.015 * pw, 4)
    dst[:, 1] += rng.normal(0, 0.04 * ph, 4)
    yaw = rng.uniform(-0.18, 0.18)  # one side appears taller than the other
    dst[[1, 2], 1] += np.array([-1, 1]) * yaw * ph / 2
    dst[:, 0] *= 1 - abs(yaw) * rng.uniform(0, 1.0)
    angle = np.deg2rad(rng.normal(0, 2.0) if rng.random() < 0.9 else rng.uniform(-8, 8))
    c, s = np.cos(angle), np.sin(angle)
    centre = dst.mean(axis=0)
    dst = (dst - centre) @ np.array([[c, s], [-s, c]], np.float32) + centre
    dst[:, 1] += np.tan(np.deg2rad(slope_deg)) * (dst[:, 0] - centre[0])
    dst += (pad_x, pad_y)
    src += (pad_x, pad_y)
    m = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    warped = cv2.warpPerspective(canvas, m, (canvas.shape[1], canvas.shape[0]),
                                 flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    x0, y0 = dst.min(axis=0)
    x1, y1 = dst.max(axis=0)
    bw, bh = x1 - x0, y1 - y0
    left = rng.uniform(-0.02, 0.15) if rng.random() > 0.15 else rng.uniform(-0.07, -0.02)
    right = rng.uniform(-0.02, 0.15)
    top, bottom = rng.uniform(-0.05, 0.25), rng.uniform(-0.05, 0.25)
    cx0 = int(np.clip(x0 - left * bw, 0, warped.shape[1] - 2))
    cx1 = int(np.clip(x1 + right * bw, cx0 + 2, warped.shape[1]))
    cy0 = int(np.clip(y0 - top * bh, 0, warped.shape[0] - 2))
    cy1 = int(np.clip(y1 + bottom * bh, cy0 + 2, warped.shape[0]))
    img = warped[cy0:cy1, cx0:cx1].astype(np.float32)

    # -- light and surface
    if rng.random() < 0.25:
        img = _emboss(img, rng)
    if rng.random() < 0.3:
        img = _dirt(img, rng)
    if rng.random() < 0.3:
        img = _shadow(img, rng)
    if rng.random() < 0.12:
        img = _glare(img, rng)
    if rng.random() < 0.5:
        img = img * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    img = img * rng.uniform(0.5, 1.3) + rng.uniform(-50, 40)
    night = rng.random() < 0.12
    if night:  # IR camera: grey, retro-reflective plate bright, noisy
        g = img.mean(axis=2, keepdims=True)
        g = (g - g.mean()) * rng.uniform(1.0, 2.0) + rng.uniform(110, 190)
        img = np.repeat(g, 3, axis=2)
    img = np.clip(img, 0, 255)
    gamma = rng.uniform(0.6, 1.6)
    img = 255.0 * (img / 255.0) ** gamma

    # -- camera: resolution, blur, noise, compression
    h, w = img.shape[:2]
    tw = int(rng.uniform(60, 120) if rng.random() < 0.6 else rng.uniform(120, 230))
    th = max(8, int(round(h * tw / w)))
    interp = cv2.INTER_AREA if rng.random() < 0.7 else cv2.INTER_LINEAR
    img = cv2.resize(img, (tw, th), interpolation=interp)
    if rng.random() < 0.4:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.1))
    if rng.random() < 0.25:
        img = _motion_blur(img, rng)
    if night or rng.random() < 0.5:
        sigma = rng.uniform(2, 14) if night else rng.uniform(0, 9)
        img = img + rng.normal(0, sigma, img.shape if rng.random() < 0.5 else (th, tw, 1))
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.75:
        q = int(rng.integers(20, 91))
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if rng.random() < 0.25:  # a rectifier or the caller may upscale the small crop
        f = rng.uniform(1.5, 3.0)
        out = cv2.resize(out, (int(tw * f), int(th * f)),
                         interpolation=cv2.INTER_CUBIC if rng.random() < 0.5 else cv2.INTER_LINEAR)
    return out
