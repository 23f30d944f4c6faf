"""Render clean, front-on German licence plates (520 x 110 mm) for synthetic data.

Used only to generate training data and sample frames, never by the product at run time.
Needs the fonts of Debian's ``fonts-opendin`` (DIN 1451-style) and ``fonts-dejavu-core``.

Layout (millimetres on a 520 x 110 plate, 1 px per mm at the default height of 110 px):
black border, blue EU band with the star circle and a white ``D``, the district, the two
stacked seals (coloured HU sticker on top, state seal below), the letters, a gap, the
digits and an optional ``E``/``H``. Umlauts are drawn as base letter plus two dots (the
OpenDIN font has no dotted ``Ö``), squeezed in height as on real plates.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from pipeline.synth.fe_glyphs import GlyphBank

PLATE_RE = re.compile(r"^([A-ZÄÖÜ]{1,3})-([A-ZÄÖÜ]{1,2})([1-9][0-9]{0,3})([EH]?)$")
MAX_CHARS = 8
PLATE_MM = (520, 110)
# Two-line plates (width, height) in mm and the character height of each: 280 x 200 for
# motorcycles, 340 x 200 for cars, 220 x 200 for small motorcycles (smaller characters).
TWO_LINE_MM: tuple[tuple[int, int], ...] = ((280, 200), (340, 200), (220, 200))
TWO_LINE_CAP_MM = {(280, 200): 70, (340, 200): 75, (220, 200): 60}
UMLAUT_BASE = {"Ä": "A", "Ö": "O", "Ü": "U"}

FONT_DIN = Path("/usr/share/fonts/truetype/opendin/OSP-DIN.ttf")
FONT_DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf")
FONT_DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf")
_FONT_PACKAGES = {FONT_DIN: "fonts-opendin", FONT_DEJAVU: "fonts-dejavu-core",
                  FONT_DEJAVU_BOLD: "fonts-dejavu-core"}

# Real district codes, used when pipeline.plate.districts is not available.
FALLBACK_DISTRICTS: tuple[str, ...] = (
    "B", "M", "HH", "K", "F", "S", "D", "H", "E", "N", "R", "A", "OF", "DA", "WI", "MZ",
    "KA", "HD", "MA", "GI", "FD", "KS", "HB", "DO", "DU", "BO", "AC", "BN", "KL", "TR",
    "KO", "UL", "FR", "ES", "LB", "HN", "WW", "BS", "DÜW", "TÜ", "WÜ", "BÜS", "AÖ", "LÖ",
    "MÜ", "GÖ", "FÜ", "SÜW", "HÖX", "TÖL", "KÜN", "MÜR",
)

HU_COLOURS_BGR = ((0, 140, 255), (200, 120, 30), (0, 215, 255), (30, 70, 140),
                  (180, 105, 255), (60, 170, 60))
EU_BLUE_BGR = (153, 51, 0)
EU_YELLOW_BGR = (0, 204, 255)

_SS = 2  # supersampling factor while drawing


def district_list() -> tuple[str, ...]:
    """Official district codes if ``pipeline.plate.districts`` exists, else a built-in list."""
    try:
        from pipeline.plate.districts import district_codes
    except ImportError:
        return FALLBACK_DISTRICTS
    codes = tuple(sorted(district_codes()))
    return codes or FALLBACK_DISTRICTS


def random_plate(rng: np.random.Generator, district: str | None = None) -> str:
    """A random valid plate label ``DISTRICT-LETTERSDIGITS[E|H]``, e.g. ``OF-AB123``."""
    if district is None:
        codes = district_list()
        district = codes[int(rng.integers(len(codes)))]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for _ in range(100):
        n_letters = 1 if rng.random() < 0.3 else 2
        # Umlauts are issued in district codes only: synthetic plates keep to the rule (the
        # grammar reads a rare real exception as printed). Until 2026-12-01 2 % of these
        # letters were Ä/Ö/Ü; the draw is kept, now of A/O/U, so that every seed's other
        # plates and scenes stay as they were and earlier figures remain comparable.
        letters = "".join(
            "AOU"[int(rng.integers(3))] if rng.random() < 0.02
            else alphabet[int(rng.integers(26))]
            for _ in range(n_letters)
        )
        suffix = ("E", "H")[int(rng.integers(2))] if rng.random() < 0.12 else ""
        room = MAX_CHARS - len(district) - n_letters - len(suffix)
        if room < 1:
            continue
        n_digits = int(rng.integers(1, min(4, room) + 1))
        digits = str(int(rng.integers(1, 10))) + "".join(
            str(int(d)) for d in rng.integers(0, 10, n_digits - 1))
        return f"{district}-{letters}{digits}{suffix}"
    raise ValueError(f"district {district!r} leaves no room for a plate")


def parse_label(plate: str) -> tuple[str, str, str, str]:
    """Split ``OF-AB123E`` into district, letters, digits, suffix; ValueError if invalid."""
    m = PLATE_RE.match(plate)
    if m is None or len(plate) - 1 > MAX_CHARS:
        raise ValueError(f"not a valid German plate label: {plate!r}")
    return m.group(1), m.group(2), m.group(3), m.group(4)


def _require_font(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(
            f"font {path} is missing: install the Debian package "
            f"'{_FONT_PACKAGES.get(path, 'fonts-opendin')}' (needed only to render plates)")
    return path


@lru_cache(maxsize=512)
def _glyph_mask(font_path: Path, char: str, weight: int, cap_px: int) -> np.ndarray:
    """Ink mask (float32 0..1) of one character, cropped to its ink, cap height ``cap_px``."""
    from PIL import Image, ImageDraw, ImageFont

    probe = ImageFont.truetype(str(_require_font(font_path)), 200)
    top, bottom = probe.getbbox("H")[1], probe.getbbox("H")[3]
    size = max(8, round(200 * cap_px / (bottom - top)))
    font = ImageFont.truetype(str(font_path), size)
    pad = cap_px
    img = Image.new("L", (cap_px * 3, cap_px * 2 + pad), 0)
    ImageDraw.Draw(img).text((pad // 2, pad // 2), char, font=font, fill=255,
                             stroke_width=weight, stroke_fill=255)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    cols = np.flatnonzero(arr.max(axis=0) > 0.05)
    rows = np.flatnonzero(arr.max(axis=1) > 0.05)
    arr = arr[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    # Normalise to the exact cap height (digits and round letters overshoot slightly).
    return cv2.resize(arr, (arr.shape[1], cap_px), interpolation=cv2.INTER_AREA)


def _stroke_glyph(char: str, cap_px: int, stroke: float, rng: np.random.Generator | None
                  ) -> np.ndarray:
    """FE-Schrift-like narrow, steep ``W``/``M``/``1`` drawn as strokes (float mask)."""
    r = rng if rng is not None else np.random.default_rng(0)
    h = cap_px
    s = max(2, int(round(stroke * 1.25)))
    if char == "W":
        w = h * r.uniform(0.56, 0.66)
        # middle apex (0 = full height): high as in DIN, or low between steep outer strokes
        mid = (r.uniform(0.0, 0.35) if r.random() < 0.5 else r.uniform(0.35, 0.6)) * h
        inner = r.uniform(0.22, 0.30)
        pts = [(0, 0), (w * inner, h), (w / 2, mid), (w * (1 - inner), h), (w, 0)]
    elif char == "M":
        w = h * r.uniform(0.56, 0.64)
        pts = [(0, h), (w * 0.04, 0), (w / 2, h * r.uniform(0.55, 0.75)), (w * 0.96, 0), (w, h)]
    elif char == "1":
        w = h * r.uniform(0.30, 0.36)
        pts = [(0, h * 0.22), (w, 0), (w, h)]
    else:
        raise ValueError(char)
    pad = s
    canvas = np.zeros((h + 2 * pad, int(w) + 2 * pad + 1), np.uint8)
    poly = np.array([(x + pad, y + pad) for x, y in pts], np.float64)
    cv2.polylines(canvas, [np.round(poly * 8).astype(np.int32)], False, 255, thickness=s,
                  lineType=cv2.LINE_AA, shift=3)
    arr = canvas.astype(np.float32) / 255.0
    rows = np.flatnonzero(arr.max(axis=1) > 0.05)
    cols = np.flatnonzero(arr.max(axis=0) > 0.05)
    arr = arr[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return cv2.resize(arr, (arr.shape[1], h), interpolation=cv2.INTER_AREA)


def _bank_glyph(char: str, style: dict, height: int, rng: np.random.Generator) -> np.ndarray:
    """A real FE-Schrift instance of ``char`` from the plate's glyph bank, ``height`` px high,
    its stroke made bolder or thinner by the plate's ``bank_weight`` (px at mask size)."""
    mask = style["bank"].pick(char, rng)
    k = style["bank_weight"]
    if k:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(k) + 1,) * 2)
        mask = cv2.dilate(mask, kernel) if k > 0 else cv2.erode(mask, kernel)
    w = max(2, round(mask.shape[1] * height / mask.shape[0]))
    return cv2.resize(mask, (w, height), interpolation=cv2.INTER_AREA)


def _char_mask(char: str, style: dict, cap_px: int, rng: np.random.Generator | None
               ) -> np.ndarray:
    """Mask for one plate character in the plate's style, umlauts with drawn dots."""
    base = UMLAUT_BASE.get(char, char)
    body_h = int(round(cap_px * 0.8)) if base != char else cap_px
    stroke = style["stroke_mm"] * cap_px / 75.0
    if style["bank"] is not None and rng is not None:
        body = _bank_glyph(base, style, body_h, rng)
    elif base in style["fe_chars"]:
        body = _stroke_glyph(base, body_h, stroke, rng)
    else:
        body = _glyph_mask(style["font"], base, style["weight"], body_h)
    w = max(2, int(round(body.shape[1] * style["squeeze"])))
    cell = 0
    if style["cells"]:
        # FE-Schrift proportions: every letter 47.5 mm and every digit 44.5 mm wide at a
        # 75 mm height, so wide glyphs (W, M, ...) become narrow and steep.
        cell = int(round(cap_px * (47.5 if base.isalpha() else 44.5) / 75.0))
        if w > cell:
            if base not in style["fe_chars"] and style["bank"] is None:
                # keep the stroke weight when compressing a font glyph
                body = _glyph_mask(style["font"], base, style["weight"] + 2, body_h)
            w = cell
    body = cv2.resize(body, (w, body_h), interpolation=cv2.INTER_AREA)
    if cell > w:
        left = (cell - w) // 2
        body = cv2.copyMakeBorder(body, 0, 0, left, cell - w - left, cv2.BORDER_CONSTANT, 0)
        w = cell
    if base == char:
        return body
    out = np.zeros((cap_px, w), np.float32)
    out[cap_px - body_h:] = body
    dot_r = max(1, int(round(stroke * 0.6)))
    cy = int(round((cap_px - body_h) * 0.42))
    for cx in (w * 0.28, w * 0.72):
        cv2.circle(out, (int(round(cx)), cy), dot_r, 1.0, -1, lineType=cv2.LINE_AA)
    return out


def _default_style() -> dict:
    return {"font": FONT_DIN, "weight": 3, "squeeze": 1.0, "fe_chars": frozenset(),
            "cells": False, "band": True, "hu_colour": HU_COLOURS_BGR[0], "paper": (250, 250, 250),
            "ink": (20, 20, 20), "season": False, "stroke_mm": 10.0, "bank": None,
            "bank_weight": 0}


def _plate_style(rng: np.random.Generator | None, glyphs: GlyphBank | None) -> dict:
    """The default style without ``rng``; else a random one, drawn from ``glyphs`` (real
    FE-Schrift instances in the FE cell widths) when a bank is given. The bank's draws come
    after the font style's, so renders without a bank are unchanged by its existence."""
    if rng is None:
        return _default_style()
    style = _random_style(rng)
    if glyphs is not None:
        style["bank"], style["cells"], style["fe_chars"] = glyphs, True, frozenset()
        style["squeeze"] = float(rng.uniform(0.92, 1.06))
        style["bank_weight"] = int(rng.integers(-4, 5))
    return style


def _random_style(rng: np.random.Generator) -> dict:
    style = _default_style()
    u = rng.random()
    if u < 0.7:
        style["font"], style["weight"] = FONT_DIN, int(rng.integers(1, 6))
        style["squeeze"] = float(rng.uniform(0.9, 1.12))
    else:
        bold = rng.random() < 0.5
        style["font"] = FONT_DEJAVU_BOLD if bold else FONT_DEJAVU
        style["weight"] = int(rng.integers(1, 5)) if bold else int(rng.integers(4, 8))
        style["squeeze"] = float(rng.uniform(0.72, 0.9))
    style["stroke_mm"] = float(rng.uniform(8.5, 11.5))
    fe = set()
    if rng.random() < 0.45:
        fe.update(c for c in "WM" if rng.random() < 0.8)
    if rng.random() < 0.15:
        fe.add("1")
    style["fe_chars"] = frozenset(fe)
    style["cells"] = rng.random() < 0.5
    style["band"] = rng.random() > 0.05
    style["hu_colour"] = HU_COLOURS_BGR[int(rng.integers(len(HU_COLOURS_BGR)))]
    p = rng.uniform(225, 255)
    style["paper"] = tuple(float(np.clip(p + rng.uniform(-8, 8), 0, 255)) for _ in range(3))
    k = rng.uniform(0, 45)
    style["ink"] = (k, k, k)
    style["season"] = rng.random() < 0.04
    return style


def _star_points(cx: float, cy: float, r: float) -> np.ndarray:
    ang = -np.pi / 2 + np.arange(10) * np.pi / 5
    rad = np.where(np.arange(10) % 2 == 0, r, r * 0.4)
    return np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], axis=1)


def _draw_band(img: np.ndarray, x0: float, x1: float, y0: float, y1: float, s: float,
               d_top: float | None = None) -> None:
    """EU band: star circle at the top, white ``D`` at ``d_top`` (default 64 mm below y0)."""
    cv2.rectangle(img, (int(x0), int(y0)), (int(x1), int(y1)), EU_BLUE_BGR, -1)
    cx, cy, rad = (x0 + x1) / 2, y0 + 30 * s, 11 * s
    for i in range(12):
        a = 2 * np.pi * i / 12
        pts = _star_points(cx + rad * np.cos(a), cy + rad * np.sin(a), 2.3 * s)
        cv2.fillPoly(img, [np.round(pts * 8).astype(np.int32)], EU_YELLOW_BGR, cv2.LINE_AA, 3)
    d = _glyph_mask(FONT_DIN, "D", max(1, int(s)), int(24 * s))
    top = y0 + 64 * s if d_top is None else d_top
    _paste(img, d, int(cx - d.shape[1] / 2), int(top), (255, 255, 255))


def _draw_seals(img: np.ndarray, cx: float, s: float, style: dict, top: float = 0.0,
                k: float = 1.0) -> None:
    """The stacked seals centred on ``cx``; ``top`` shifts them down (px), ``k`` scales them
    (two-line plates have them in the top row only)."""
    # HU inspection sticker (top), coloured with a black year in the middle and month ticks.
    hu_y = top + 30 * s * k
    hu_c, hu_r = (int(cx), int(hu_y)), int(17.5 * s * k)
    cv2.circle(img, hu_c, hu_r, style["hu_colour"], -1, cv2.LINE_AA)
    cv2.circle(img, hu_c, int(hu_r * 0.62), (40, 40, 40), max(1, int(0.8 * s * k)), cv2.LINE_AA)
    for i in range(12):
        a = 2 * np.pi * i / 12
        p0 = (int(cx + hu_r * 0.7 * np.cos(a)), int(hu_y + hu_r * 0.7 * np.sin(a)))
        p1 = (int(cx + hu_r * 0.92 * np.cos(a)), int(hu_y + hu_r * 0.92 * np.sin(a)))
        cv2.line(img, p0, p1, (30, 30, 30), max(1, int(0.9 * s * k)), cv2.LINE_AA)
    cv2.putText(img, "26", (int(cx - 8 * s * k), int(top + 33 * s * k)),
                cv2.FONT_HERSHEY_SIMPLEX, 0.28 * s * k, (20, 20, 20), max(1, int(1.2 * s * k)),
                cv2.LINE_AA)
    # State seal (bottom): silver disc, thin ring and a coloured coat of arms.
    st_y = top + 76 * s * k
    st_c, st_r = (int(cx), int(st_y)), int(18 * s * k)
    cv2.circle(img, st_c, st_r, (205, 205, 200), -1, cv2.LINE_AA)
    cv2.circle(img, st_c, int(st_r * 0.85), (90, 90, 90), max(1, int(0.6 * s * k)), cv2.LINE_AA)
    shield = np.array([(-7, -8), (7, -8), (7, 2), (0, 9), (-7, 2)], np.float64) * s * k
    shield += (cx, st_y)
    cv2.fillPoly(img, [np.round(shield * 8).astype(np.int32)], (40, 40, 190), cv2.LINE_AA, 3)
    bar_y = int(top + 74 * s * k)
    cv2.line(img, (int(cx - 7 * s * k), bar_y), (int(cx + 7 * s * k), bar_y),
             (230, 230, 230), max(1, int(2 * s * k)))


def _paste(img: np.ndarray, mask: np.ndarray, x: int, y: int, colour) -> None:
    """Alpha-blend ``colour`` through ``mask`` onto ``img`` at (x, y), clipped to the image."""
    h, w = mask.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, img.shape[1]), min(y + h, img.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    m = mask[y0 - y:y1 - y, x0 - x:x1 - x, None]
    region = img[y0:y1, x0:x1].astype(np.float32)
    img[y0:y1, x0:x1] = (region * (1 - m) + np.asarray(colour, np.float32) * m).astype(img.dtype)


def _blank_plate(W: int, H: int, s: float, style: dict) -> np.ndarray:
    """Paper with rounded corners on a light background (the crop margin shows it) and the
    black border."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:] = 255
    r = int(5 * s)
    cv2.rectangle(img, (r, 0), (W - r, H), style["paper"], -1)
    cv2.rectangle(img, (0, r), (W, H - r), style["paper"], -1)
    for cx, cy in ((r, r), (W - r, r), (r, H - r), (W - r, H - r)):
        cv2.circle(img, (cx, cy), r, style["paper"], -1, cv2.LINE_AA)
    bw = max(1, int(1.3 * s))
    cv2.rectangle(img, (int(2 * s), int(2 * s)), (int(W - 2 * s), int(H - 2 * s)), style["ink"],
                  bw, cv2.LINE_AA)
    return img


def _row_masks(groups: list, style: dict, cap: int, rng: np.random.Generator | None) -> list:
    """Character masks of a row's groups; ``None`` (the seals) and ``"gap"`` pass through."""
    masks: list = []
    for g in groups:
        if g is None or g == "gap":
            masks.append(g)
        else:
            masks.append([_char_mask(c, style, cap, rng) for c in g])
    return masks


def _draw_row(img: np.ndarray, masks: list, left: float, right: float, y: int, cap: int,
              s: float, style: dict, seal_top: float = 0.0, seal_k: float = 1.0) -> None:
    """One row of characters centred between ``left`` and ``right`` (squeezed if too wide),
    with the seals where the group is ``None`` and a gap where it is ``"gap"``."""
    spacing, seal_w, gap_w = 5 * s, 44 * s * seal_k, 22 * s

    def total(scale: float) -> float:
        t = 0.0
        for g in masks:
            if g is None:
                t += seal_w + 2 * spacing
            elif g == "gap":
                t += gap_w
            else:
                t += sum(m.shape[1] * scale + spacing for m in g) - spacing
        return t

    avail = right - left - 6 * s
    scale = min(1.0, (avail - (total(0.0))) / max(1.0, total(1.0) - total(0.0)))
    x = left + 3 * s + max(0.0, (avail - total(scale)) / 2)
    for g in masks:
        if g is None:
            _draw_seals(img, x + spacing + seal_w / 2, s, style, seal_top, seal_k)
            x += seal_w + 2 * spacing
        elif g == "gap":
            x += gap_w
        else:
            for m in g:
                if scale < 1.0:
                    m = cv2.resize(m, (max(2, int(m.shape[1] * scale)), cap),
                                   interpolation=cv2.INTER_AREA)
                _paste(img, m, int(round(x)), y, style["ink"])
                x += m.shape[1] + spacing
            x -= spacing


def render_plate(plate: str, rng: np.random.Generator | None = None, *,
                 height: int = 110, glyphs: GlyphBank | None = None) -> np.ndarray:
    """Clean front-on BGR uint8 image of ``plate`` (label form, e.g. ``OF-AB123``).

    ``rng=None`` gives a deterministic default style (OpenDIN, band, orange HU sticker);
    with an ``rng`` the font, weight, width, FE-like W/M/1, colours, band and a seasonal
    month field vary, and with ``glyphs`` every character is a real FE-Schrift instance
    from that bank (``pipeline.synth.fe_glyphs``). The image is ``height`` px high and
    ``height * 520 / 110`` px wide.
    """
    district, letters, digits, suffix = parse_label(plate)
    groups = [list(district), None, list(letters), "gap", list(digits + suffix)]
    return _render_one_line(groups, _plate_style(rng, glyphs), rng, height)


def render_free_plate(groups: list[str], rng: np.random.Generator, *, height: int = 110,
                      glyphs: GlyphBank | None = None) -> np.ndarray:
    """Like :func:`render_plate`, but for characters that follow no German rule: the
    ``groups`` (A-Z, 0-9) side by side with a gap between them and no seals, as on many
    other European plates (``RK 892AE``, ``LM 29840``, ``OY09 FEU``). Training material that
    makes the recogniser read what is printed rather than what a German plate would hold."""
    parts: list = []
    for g in groups:
        parts += ["gap", list(g)] if parts else [list(g)]
    return _render_one_line(parts, _plate_style(rng, glyphs), rng, height)


def _render_one_line(groups: list, style: dict, rng: np.random.Generator | None,
                     height: int) -> np.ndarray:
    """A 520 x 110 mm plate with ``groups`` (see ``_draw_row``) in one row, drawn in
    ``style``, with the band and seasonal field it asks for; ``height`` px high."""
    s = float(_SS)
    W, H = int(PLATE_MM[0] * s), int(PLATE_MM[1] * s)
    img = _blank_plate(W, H, s, style)
    ink = style["ink"]
    left = 3 * s
    if style["band"]:
        _draw_band(img, 3 * s, 42 * s, 3 * s, H - 3 * s, s)
        left = 42 * s
    right = W - 5 * s
    if style["season"]:
        sx0 = right - 40 * s
        cv2.rectangle(img, (int(sx0), int(12 * s)), (int(right - 3 * s), int(H - 12 * s)),
                      ink, max(1, int(s)))
        cv2.putText(img, "03", (int(sx0 + 6 * s), int(45 * s)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * s, ink, max(1, int(1.5 * s)), cv2.LINE_AA)
        cv2.putText(img, "10", (int(sx0 + 6 * s), int(85 * s)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * s, ink, max(1, int(1.5 * s)), cv2.LINE_AA)
        right = sx0 - 3 * s

    cap = int(75 * s)
    masks = _row_masks(groups, style, cap, rng)
    _draw_row(img, masks, left, right, int((H - cap) / 2), cap, s, style)
    out_w = int(round(height * PLATE_MM[0] / PLATE_MM[1]))
    return cv2.resize(img, (out_w, height), interpolation=cv2.INTER_AREA)


def render_two_line_plate(plate: str, rng: np.random.Generator | None = None, *,
                          size_mm: tuple[int, int] | None = None,
                          height: int = 200, glyphs: GlyphBank | None = None) -> np.ndarray:
    """Clean front-on BGR uint8 image of ``plate`` as a two-line plate.

    Top row: district, the stacked seals (smaller than on one-line plates), letters; bottom
    row: digits and the optional ``E``/``H``; the EU band runs the full height on the left
    (stars at the top, ``D`` at the bottom). ``size_mm`` is one of ``TWO_LINE_MM`` (280 x 200
    motorcycle, 340 x 200 car, 220 x 200 small motorcycle); ``None`` picks 280 x 200 without
    ``rng``, a random one with it. Same glyphs and style choices as ``render_plate``; the
    seasonal field is not drawn. The image is ``height`` px high (1 px per mm at 200).
    """
    district, letters, digits, suffix = parse_label(plate)
    style = _plate_style(rng, glyphs)
    if size_mm is None:
        size_mm = TWO_LINE_MM[0] if rng is None else TWO_LINE_MM[int(rng.integers(3))]
    if size_mm not in TWO_LINE_CAP_MM:
        raise ValueError(f"two-line plate size must be one of {TWO_LINE_MM}, not {size_mm}")
    s = float(_SS)
    W, H = int(size_mm[0] * s), int(size_mm[1] * s)
    img = _blank_plate(W, H, s, style)
    left = 3 * s
    if style["band"]:
        _draw_band(img, 3 * s, 42 * s, 3 * s, H - 3 * s, s, d_top=H - 46 * s)
        left = 42 * s
    right = W - 5 * s
    cap_mm = TWO_LINE_CAP_MM[size_mm]
    cap = int(cap_mm * s)
    margin = (size_mm[1] - 2 * cap_mm) / 3 * s  # above, between and below the rows
    y_top, y_bottom = int(margin), int(2 * margin + cap)
    top = _row_masks([list(district), None, list(letters)], style, cap, rng)
    bottom = _row_masks([list(digits + suffix)], style, cap, rng)
    seal_k = cap_mm / 88.0  # the seals stand 82 mm high beside 75 mm characters: a bit less
    seal_top = y_top + cap / 2 - 53 * s * seal_k
    _draw_row(img, top, left, right, y_top, cap, s, style, seal_top, seal_k)
    _draw_row(img, bottom, left, right, y_bottom, cap, s, style)
    out_w = int(round(height * size_mm[0] / size_mm[1]))
    return cv2.resize(img, (out_w, height), interpolation=cv2.INTER_AREA)
