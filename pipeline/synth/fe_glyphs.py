"""Real FE-Schrift glyphs for the plate renderer, from the glyph bank in ``../shared/train``.

The bank (``leu.germany.exp0.tif`` + ``.box``, OpenALPR's train-ocr, AGPL-3.0, see its
README) lists 1,299 binarised FE-Schrift characters, 27-51 per character. Each one is cut
out, cleaned (upscaled, smoothed and re-thresholded, so that no 1-bit staircase is left at
training sizes, specks dropped) and kept as a high-resolution ink mask.

Measured on the sheet (2026-12-01): all instances of a character are byte-identical, so
the bank holds 36 distinct bitmaps, one per character, not 1,299 cuts. Identical bitmaps
are merged before the split into training and validation instances (fixed seed), so a
validation bitmap is never also a training bitmap; a character with a single bitmap has
nothing to hold out and lends it to both parts. The variety real plates show (wear, ink
spread, stamping, print tolerances) is therefore drawn per glyph by :func:`vary`.

Training-time material only: the product never imports this module and never needs the bank.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

BANK_ENV = "KENNZEICHEN_FE_GLYPHS"
DEFAULT_BANK = Path(__file__).resolve().parents[2].parent / "shared" / "train" / "fe_glyphs"
SHEET, BOXES = "leu.germany.exp0.tif", "leu.germany.exp0.box"
CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MASK_HEIGHT = 176  # px of the cleaned masks (4x the sheet's ~44 px glyphs)
VAL_SHARE = 0.25  # of a character's distinct bitmaps kept for validation and test plates
SPLIT_SEED = 20261201
PARTS = ("train", "val")


@dataclass(frozen=True)
class GlyphBank:
    """Cleaned ink masks (float32 0..1, ``MASK_HEIGHT`` high, cropped to the ink) per
    character, one per distinct bitmap; ``part`` says which (``train``, ``val``, ``all``)."""

    part: str
    glyphs: dict[str, tuple[np.ndarray, ...]]

    def pick(self, char: str, rng: np.random.Generator) -> np.ndarray:
        """A random bitmap of ``char``, varied as one print of it (KeyError if none)."""
        instances = self.glyphs[char]
        return vary(instances[int(rng.integers(len(instances)))], rng)


def bank_dir(path: Path | None = None) -> Path:
    """The bank's folder: ``path``, else ``$KENNZEICHEN_FE_GLYPHS``, else ``../shared``'s."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(BANK_ENV) or DEFAULT_BANK)


def clean_glyph(cut: np.ndarray) -> np.ndarray | None:
    """Ink mask of one glyph cut from the 1-bit sheet (black ink on white), or ``None``
    when nothing is left: drops specks, crops to the ink, upscales to ``MASK_HEIGHT`` and
    smooths the staircase away (blur, threshold, slight anti-aliasing)."""
    ink = (cut < 128).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.flatnonzero(areas >= 0.15 * areas.max())
    ink = np.isin(labels, keep).astype(np.float32)
    rows, cols = np.flatnonzero(ink.max(axis=1)), np.flatnonzero(ink.max(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = ink.shape
    if h < 10:
        return None
    scale = MASK_HEIGHT / h
    big = cv2.resize(ink, (max(2, round(w * scale)), MASK_HEIGHT), interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(big, (0, 0), scale * 0.6)
    big = (big > 0.5).astype(np.float32)
    return cv2.GaussianBlur(big, (0, 0), 1.0)


def vary(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One plausible print of a glyph: a small shear and width change and a smooth elastic
    wobble of the outline (about 1 % of the height), as stamping, wear and print
    tolerances give real plates of the same typeface."""
    h, w = mask.shape
    pad = h // 10
    m = cv2.copyMakeBorder(mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, 0)
    hh, ww = m.shape
    shear, sx = rng.uniform(-0.04, 0.04), rng.uniform(0.94, 1.06)
    affine = np.float32([[sx, shear, ww * (1 - sx) / 2 - shear * hh / 2], [0, 1, 0]])
    m = cv2.warpAffine(m, affine, (ww, hh), flags=cv2.INTER_LINEAR)
    amp = h * rng.uniform(0.0, 0.012)
    field = [cv2.resize(rng.normal(0, 1, (4, 3)).astype(np.float32), (ww, hh),
                        interpolation=cv2.INTER_CUBIC) * amp for _ in range(2)]
    yy, xx = np.mgrid[0:hh, 0:ww].astype(np.float32)
    m = cv2.remap(m, xx + field[0], yy + field[1], cv2.INTER_LINEAR)
    rows, cols = np.flatnonzero(m.max(axis=1) > 0.05), np.flatnonzero(m.max(axis=0) > 0.05)
    return m[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def split_indices(n: int, char: str) -> dict[str, list[int]]:
    """Fixed split of ``n`` distinct bitmaps of ``char`` into training and validation ones;
    a single bitmap goes to both (there is nothing to hold out)."""
    if n == 1:
        return {"val": [0], "train": [0]}
    order = np.random.default_rng([SPLIT_SEED, ord(char)]).permutation(n)
    n_val = max(1, round(n * VAL_SHARE))
    return {"val": sorted(int(i) for i in order[:n_val]),
            "train": sorted(int(i) for i in order[n_val:])}


@lru_cache(maxsize=4)
def _all_glyphs(folder: Path) -> dict[str, tuple[np.ndarray, ...]]:
    sheet_path, box_path = folder / SHEET, folder / BOXES
    missing = [p.name for p in (sheet_path, box_path) if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"FE-Schrift glyph bank incomplete in {folder}: {', '.join(missing)} missing. "
            f"It is training material from ../shared/train/fe_glyphs (see its README); put "
            f"the shared folder beside the checkout or set {BANK_ENV} to the folder.")
    sheet = cv2.imread(str(sheet_path), cv2.IMREAD_GRAYSCALE)
    if sheet is None:
        raise ValueError(f"cannot decode the glyph sheet {sheet_path}")
    height = sheet.shape[0]
    glyphs: dict[str, list[np.ndarray]] = {c: [] for c in CHARS}
    seen: set[bytes] = set()
    for line_no, line in enumerate(box_path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 6:
            raise ValueError(f"{box_path}:{line_no}: expected 'CHAR left bottom right top "
                             f"page', got {line!r}")
        char, (left, bottom, right, top) = parts[0], (int(v) for v in parts[1:5])
        if char not in glyphs:
            continue
        # box origin is the bottom-left corner: row from the top = height - y
        cut = sheet[max(0, height - top):height - bottom, max(0, left):right]
        key = f"{char}{cut.shape}".encode() + cut.tobytes()
        if key in seen:  # the sheet repeats its bitmaps: one copy of each
            continue
        seen.add(key)
        mask = clean_glyph(cut) if cut.size else None
        if mask is not None:
            glyphs[char].append(mask)
    empty = [c for c, g in glyphs.items() if not g]
    if empty:
        raise ValueError(f"glyph bank {folder} has no usable instance of {''.join(empty)}")
    return {c: tuple(g) for c, g in glyphs.items()}


def load_bank(part: str = "train", path: Path | None = None) -> GlyphBank:
    """The bank's ``train`` or ``val`` instances (or ``all``); FileNotFoundError naming
    what is missing when the bank is absent."""
    if part not in (*PARTS, "all"):
        raise ValueError(f"part must be one of {PARTS} or 'all', not {part!r}")
    everything = _all_glyphs(bank_dir(path).resolve())
    if part == "all":
        return GlyphBank(part, everything)
    return GlyphBank(part, {c: tuple(g[i] for i in split_indices(len(g), c)[part])
                            for c, g in everything.items()})
