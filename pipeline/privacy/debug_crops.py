"""``[debug] save_crops``: keep plate crops for troubleshooting, and delete them on time.

Off by default: the product stores no images. When an installer turns it on to tune the
camera, crops are written without plate text in their names and deleted after
``crops_max_age_h`` (default 24 h) by the retention purge.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.reading.plate_reader import PlateRead

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DebugSettings:
    save_crops: bool = False
    crops_dir: str = "data/debug-crops"
    crops_max_age_h: float = 24.0


class CropSaver:
    """Writes each German plate crop as ``<epoch ms>_<confidence>.jpg``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, crop: np.ndarray, read: PlateRead) -> None:
        if read.plate is None:
            return
        name = f"{int(time.time() * 1000)}_{read.confidence:.2f}.jpg"
        if not cv2.imwrite(str(self.folder / name), crop):
            log.warning("could not save a debug crop to %s", self.folder)


def purge_crops(folder: Path, max_age_h: float, now: float | None = None) -> int:
    """Delete saved crops older than ``max_age_h``; returns how many went."""
    if not folder.is_dir():
        return 0
    horizon = (now if now is not None else time.time()) - max_age_h * 3600
    removed = 0
    for path in folder.glob("*.jpg"):
        if path.stat().st_mtime < horizon:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
