"""Fine-tune EasyOCR's ``english_g2`` recogniser on synthetic German plate crops (CPU, CTC).

Reads shards from ``make_dataset`` (re-scanning for new train shards while it runs),
trains with EasyOCR's exact inference preprocessing (``recognisers.model_input``), prints
loss and validation accuracy, keeps ``last.pt`` (resumable) and ``best.pt`` (best
validation score, see ``validate``; only written when it beats the starting model) in the
run directory.

    python -m pipeline.training.train_recogniser --run training_runs/kz1 --steps 4000
    python -m pipeline.training.train_recogniser --run training_runs/kz1 --steps 4000 --resume
    python -m pipeline.training.train_recogniser --run training_runs/kz4 --steps 2500 \
        --lr 2e-4 --init models/kennzeichen_de.pth      # continue from the shipped model
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from pipeline.plate.edits import levenshtein
from pipeline.reading.recognisers import model_input
from pipeline.training.make_dataset import load_shard
from pipeline.training.recog_common import (
    encode,
    greedy_decode,
    input_width,
    model_from_english_g2,
    model_from_export,
)

FROZEN_CONVS = (0, 3, 6)  # first three conv layers of the VGG feature extractor


class ShardPool:
    """All crops of the shards of some splits found so far, grouped by EasyOCR input width."""

    def __init__(self, data_dir: Path, splits: tuple[str, ...]) -> None:
        self.data_dir, self.splits = data_dir, splits
        self.loaded: set[str] = set()
        self.labels: list[str] = []
        self.crops: list[np.ndarray] = []
        self.buckets: dict[int, list[int]] = defaultdict(list)

    def refresh(self) -> int:
        """Load shards that appeared since the last call; returns the number of samples."""
        paths = sorted(p for split in self.splits
                       for p in self.data_dir.glob(f"{split}_[0-9][0-9][0-9][0-9].npz"))
        for path in paths:
            if path.name in self.loaded:
                continue
            labels, crops = load_shard(path)
            for label, crop in zip(labels, crops, strict=True):
                self.buckets[input_width(crop)].append(len(self.crops))
                self.labels.append(label)
                self.crops.append(crop)
            self.loaded.add(path.name)
        return len(self.crops)

    def batch(self, rng: np.random.Generator, size: int) -> list[int]:
        """Indices of one batch from a single width bucket (picked by bucket size)."""
        widths = sorted(self.buckets)
        sizes = np.array([len(self.buckets[w]) for w in widths], np.float64)
        bucket = self.buckets[widths[int(rng.choice(len(widths), p=sizes / sizes.sum()))]]
        return [bucket[int(i)] for i in rng.integers(0, len(bucket), size)]


def tensors(pool: ShardPool, idx: list[int], rng: np.random.Generator | None
            ) -> torch.Tensor:
    """Batch tensor; in training 10 % of crops get EasyOCR's contrast-adjusted second pass."""
    return torch.stack([
        model_input(pool.crops[i], 0.5 if rng is not None and rng.random() < 0.1 else 0.0)
        for i in idx])


def district(label: str) -> str:
    return label.split("-", 1)[0] if "-" in label else ""


def evaluate(model: torch.nn.Module, pool: ShardPool, batch: int = 64) -> dict:
    """Exact-plate accuracy (with and without the '-'), CER and umlaut-district accuracy.
    Leaves the model in eval mode; the training loop restores its own mode."""
    model.eval()
    preds: dict[int, str] = {}
    with torch.no_grad():
        for members in pool.buckets.values():
            for k in range(0, len(members), batch):
                idx = members[k:k + batch]
                out = model(tensors(pool, idx, None), None)
                preds.update(zip(idx, greedy_decode(out), strict=True))
    exact = compact = errors = chars = uml_n = uml_ok = 0
    for i, label in enumerate(pool.labels):
        p = preds[i]
        exact += p == label
        compact += p.replace("-", "") == label.replace("-", "")
        errors += levenshtein(p.replace("-", ""), label.replace("-", ""))
        chars += len(label) - 1
        if any(c in district(label) for c in "ÄÖÜ"):
            uml_n += 1
            uml_ok += district(p) == district(label)
    n = len(pool.labels)
    return {"n": n, "exact": exact / n, "compact": compact / n, "cer": errors / chars,
            "umlaut_n": uml_n, "umlaut_district": uml_ok / max(1, uml_n)}


def lr_at(step: int, total: int, base: float, warmup: int = 100) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


def save_atomic(obj: object, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="training_runs/kz1")
    ap.add_argument("--data", default="training_runs/data")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--val-every", type=int, default=250)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", type=Path, default=None,
                    help="start from an exported model (e.g. models/kennzeichen_de.pth) "
                         "instead of english_g2")
    ap.add_argument("--train-splits", default="train,train_w,train_u",
                    help="shard prefixes to train on (those present are used)")
    ap.add_argument("--val", default="val",
                    help="validation splits, pooled, that select the checkpoint (val_fe: "
                         "plates in the glyph bank's validation instances; val_rows: rows of "
                         "two-line plates)")
    ap.add_argument("--val-u", default="val_u",
                    help="umlaut validation split averaged into the score when present; "
                         "'' for none")
    ap.add_argument("--guard", default="",
                    help="SPLIT:FLOOR, e.g. val_free:0.82: a checkpoint can only become best "
                         "while its exact accuracy on SPLIT stays at or above FLOOR (keeps one "
                         "skill from being traded for the selected one)")
    ap.add_argument("--freeze", choices=("first3", "cnn"), default="first3",
                    help="frozen layers: the first three convolutions (default) or the whole "
                         "VGG feature extractor (only the BiLSTMs and the output layer learn)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    run = Path(a.run)
    run.mkdir(parents=True, exist_ok=True)
    log = (run / "train.log").open("a")

    def say(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    model = model_from_english_g2() if a.init is None else model_from_export(a.init)
    convs = model.FeatureExtraction.ConvNet
    frozen = [convs] if a.freeze == "cnn" else [convs[i] for i in FROZEN_CONVS]
    for p in (p for layer in frozen for p in layer.parameters()):
        p.requires_grad_(False)

    def train_mode() -> None:
        """Training mode, except that a frozen feature extractor keeps its BatchNorm
        statistics (batch statistics would change what it computes)."""
        model.train()
        if a.freeze == "cnn":
            convs.eval()

    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=a.lr)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    step, best, elapsed0 = 0, -1.0, 0.0
    if a.resume and (run / "last.pt").exists():
        ck = torch.load(run / "last.pt", map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, best, elapsed0 = ck["step"], ck["best"], ck.get("elapsed", 0.0)
        torch.set_rng_state(ck["torch_rng"])
        say(f"resumed at step {step}, best score {best:.4f}")

    train = ShardPool(Path(a.data), tuple(a.train_splits.split(",")))
    val = ShardPool(Path(a.data), tuple(a.val.split(",")))
    val_u = ShardPool(Path(a.data), (a.val_u,) if a.val_u else ())
    guard_split, _, floor = a.guard.partition(":")
    guard = ShardPool(Path(a.data), (guard_split,) if guard_split else ())
    say(f"train samples {train.refresh()}, val samples {val.refresh()}, "
        f"umlaut val samples {val_u.refresh()}, guard samples {guard.refresh()}, "
        f"args {vars(a)}")
    if not train.crops or not val.crops:
        raise SystemExit("no data: run pipeline.training.make_dataset first")

    def validate() -> float:
        """Log validation figures; the selection score is val exact-plate accuracy, averaged
        with the umlaut split's umlaut-district accuracy when that split exists, and -1 (never
        best) when the guard split falls below its floor."""
        m = evaluate(model, val)
        say(f"step {step} val {json.dumps(m)}")
        if guard.crops:
            mg = evaluate(model, guard)
            say(f"step {step} guard {json.dumps(mg)}")
            if mg["exact"] < float(floor):
                say(f"step {step} guard {guard_split} below {floor}: not eligible")
                return -1.0
        if not val_u.crops:
            return m["exact"]
        mu = evaluate(model, val_u)
        say(f"step {step} val_u {json.dumps(mu)}")
        return (m["exact"] + mu["umlaut_district"]) / 2

    if step == 0:
        best = validate()
        say(f"step 0 score {best:.4f}")

    train_mode()
    t0, losses = time.time(), []
    while step < a.steps:
        rng = np.random.default_rng([a.seed, step])
        if step % 200 == 0:
            train.refresh()
        idx = train.batch(rng, a.batch)
        x = tensors(train, idx, rng)
        targets, lengths = encode([train.labels[i] for i in idx])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a.steps, a.lr)
        logp = model(x, None).log_softmax(2).permute(1, 0, 2)
        in_len = torch.full((len(idx),), logp.size(0), dtype=torch.long)
        loss = ctc(logp, targets, in_len, lengths)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
        step += 1
        elapsed = elapsed0 + time.time() - t0
        if step % 50 == 0:
            say(f"step {step} loss {np.mean(losses):.4f} lr {lr_at(step, a.steps, a.lr):.2e} "
                f"train_n {len(train.crops)} {elapsed / 60:.1f} min")
            losses = []
        if step % a.val_every == 0 or step == a.steps:
            score = validate()
            train_mode()
            if score > best:
                best = score
                save_atomic({"model": model.state_dict(), "step": step, "score": score,
                             "elapsed": elapsed}, run / "best.pt")
                say(f"new best {best:.4f} at step {step}")
            save_atomic({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                         "best": best, "elapsed": elapsed, "torch_rng": torch.get_rng_state()},
                        run / "last.pt")
    say("done")


if __name__ == "__main__":
    main()
