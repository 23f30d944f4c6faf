"""Render synthetic plate crops into shards for training and validation.

Shard ``<split>_<k>.npz`` holds samples ``k*size .. (k+1)*size-1`` of that split as
grayscale crops (EasyOCR's ``Reader.recognize`` converts BGR to grey with
``cv2.COLOR_BGR2GRAY`` before anything else, so grey is all the model ever sees).
Existing shards are skipped, so the command can be rerun to resume or extend.

    python -m pipeline.training.make_dataset --split train --shards 0:30 --workers 2
    python -m pipeline.training.make_dataset --split val --shards 0:1
"""

from __future__ import annotations

import argparse
import os
import time
from multiprocessing import Pool
from pathlib import Path

import cv2
import numpy as np

from pipeline.training.synth_data import (
    TEST,
    TEST_FE,
    TRAIN,
    TRAIN_CONFUSABLE,
    TRAIN_FE,
    TRAIN_FE_UMLAUT,
    TRAIN_FREE,
    TRAIN_ROWS,
    TRAIN_UMLAUT,
    VAL,
    VAL_FE,
    VAL_FREE,
    VAL_ROWS,
    VAL_UMLAUT,
    sample,
)

SPLITS = {"train": TRAIN, "train_w": TRAIN_CONFUSABLE, "train_u": TRAIN_UMLAUT,
          "val": VAL, "val_u": VAL_UMLAUT, "test": TEST,
          "train_fe": TRAIN_FE, "train_fe_u": TRAIN_FE_UMLAUT, "val_fe": VAL_FE, "test_fe": TEST_FE,
          "train_rows": TRAIN_ROWS, "val_rows": VAL_ROWS,
          "train_free": TRAIN_FREE, "val_free": VAL_FREE}


def save_shard(path: Path, labels: list[str], crops: list[np.ndarray]) -> None:
    """Write crops (2-D uint8) with labels to ``path`` atomically."""
    shapes = np.array([c.shape for c in crops], np.int32)
    pixels = np.concatenate([c.ravel() for c in crops])
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, pixels=pixels, shapes=shapes, labels=np.array(labels))
    os.replace(tmp, path)


def load_shard(path: Path) -> tuple[list[str], list[np.ndarray]]:
    """Read a shard written by :func:`save_shard`."""
    with np.load(path) as z:
        pixels, shapes, labels = z["pixels"], z["shapes"], [str(s) for s in z["labels"]]
    crops, off = [], 0
    for h, w in shapes:
        crops.append(pixels[off:off + h * w].reshape(h, w))
        off += h * w
    return labels, crops


def make_shard(args: tuple[str, int, int, str]) -> str:
    split, k, size, out = args
    path = Path(out) / f"{split}_{k:04d}.npz"
    if path.exists():
        return f"{path} exists"
    t = time.time()
    labels, crops = [], []
    for i in range(k * size, (k + 1) * size):
        label, bgr = sample(SPLITS[split], i)
        labels.append(label)
        crops.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    save_shard(path, labels, crops)
    return f"{path} {size} samples in {time.time() - t:.0f}s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=sorted(SPLITS), default="train")
    ap.add_argument("--shards", default="0:1", help="shard range a:b")
    ap.add_argument("--shard-size", type=int, default=2000)
    ap.add_argument("--out", default="training_runs/data")
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    Path(a.out).mkdir(parents=True, exist_ok=True)
    lo, hi = (int(x) for x in a.shards.split(":"))
    jobs = [(a.split, k, a.shard_size, a.out) for k in range(lo, hi)]
    cv2.setNumThreads(1)
    with Pool(a.workers) as pool:
        for msg in pool.imap(make_shard, jobs):
            print(msg, flush=True)


if __name__ == "__main__":
    main()
