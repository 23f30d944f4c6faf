"""Stock ``english_g2`` vs the fine-tuned ``kennzeichen_de`` recogniser, side by side.

Both read with the plate box given (downloads disabled): stock through
``easyocr.Reader.recognize``, the fine-tuned model through the product's
``PlateModelRecogniser`` (the same network, preprocessing and decoding, with frame scores),
and "after grammar" is the product's ``parse_read`` (grammar, then the district scored).
Sets: real German crops (``../shared/data/plates_crops_de``, ``plates_real``; box = whole
crop), real European photos (``plates_eu``; box from
``labels.csv``, raw alphanumerics compared to ``plate_raw``) and held-out synthetic
plates (split TEST, or with ``--synth-split test_fe`` plates in the real FE-Schrift glyphs
of the bank's validation part; never used in training or model selection). Evaluation
only: nothing here feeds back into training.

    python -m pipeline.training.evaluate_recogniser [--shared ../shared/data] [--synth 1000]
                                                    [--first 0] [--synth-split test_fe]
                                                    [--misses]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import cv2
import numpy as np

from pipeline.plate.edits import levenshtein
from pipeline.plate.grammar import parse_plate, plate_chars
from pipeline.reading.recognisers import STOCK_ALLOWLIST, PlateModelRecogniser, TextRead
from pipeline.reading.rescore import parse_read
from pipeline.training.synth_data import TEST, TEST_FE, sample

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"


def load_reader(name: str, quantize: bool = True, models: Path = MODELS):
    """EasyOCR reader for ``stock`` (english_g2) or ``finetuned`` (models/kennzeichen_de)."""
    import easyocr
    import easyocr_en_models

    if name == "stock":
        return easyocr.Reader(["en"], gpu=False, model_storage_directory=easyocr_en_models
                              .model_dir(), download_enabled=False, detector=False,
                              verbose=False, quantize=quantize)
    return easyocr.Reader(["en"], gpu=False, model_storage_directory=str(models),
                          user_network_directory=str(models), recog_network="kennzeichen_de",
                          download_enabled=False, detector=False, verbose=False,
                          quantize=quantize)


def read(reader, name: str, gray: np.ndarray, box: list[int] | None = None) -> TextRead:
    """What ``name`` reads in ``box`` (x0, x1, y0, y1; default: whole crop); ``reader`` is
    EasyOCR's for stock, the product's ``PlateModelRecogniser`` for the fine-tuned model."""
    if box is not None:
        gray = gray[box[2]:box[3], box[0]:box[1]]
    if name != "stock":
        return reader.recognise(gray) or TextRead("", 0.0)
    h, w = gray.shape
    res = reader.recognize(gray, horizontal_list=[[0, w, 0, h]], free_list=[], detail=1,
                           allowlist=STOCK_ALLOWLIST)
    return TextRead(" ".join(r[1] for r in res), min((r[2] for r in res), default=0.0))


def grammar_label(text: TextRead, districts) -> str | None:
    res = parse_read(text, districts)
    return None if res is None else res.plate.label


def official_districts():
    try:
        from pipeline.plate.districts import district_codes
    except ImportError:
        return None
    return district_codes()


PRODUCT_KEY = "official codes, grammar + district scoring"


def umlaut_checks(truth: str, read: TextRead, districts, wide: bool) -> dict[str, bool]:
    """Was the umlaut district of ``truth`` read? Raw (all crops, crops >= 120 px wide) and,
    for official codes, as the product reads it: the grammar alone, and the grammar with the
    district scored (``parse_read``), on all crops and on wide ones."""
    district = truth.split("-")[0]
    raw = plate_chars(read.raw).startswith(district)
    checks = {"all, raw": raw} | ({">=120 px wide, raw": raw} if wide else {})
    if districts is not None and district in districts:
        alone = parse_plate(read.raw, districts)
        scored = parse_read(read, districts)
        checks["official codes, grammar alone"] = (alone is not None
                                                   and alone.plate.district == district)
        checks[PRODUCT_KEY] = scored is not None and scored.plate.district == district
        if wide:
            checks[PRODUCT_KEY + ", >=120 px wide"] = checks[PRODUCT_KEY]
    return checks


class Tally:
    """Exact (compact), exact after grammar, character errors and time for one model/set."""

    def __init__(self) -> None:
        self.n = self.exact = self.grammar = self.errors = self.chars = 0
        self.seconds = 0.0
        self.misses: list[str] = []

    def add(self, truth: str, read: TextRead, seconds: float, districts,
            label: str | None) -> None:
        self.n += 1
        self.seconds += seconds
        pred = read.raw
        t, p = plate_chars(truth), plate_chars(pred)
        self.exact += t == p
        self.errors += levenshtein(p, t)
        self.chars += len(t)
        if label is not None:
            self.grammar += grammar_label(read, districts) == label
        if t != p:
            self.misses.append(f"{truth}->{pred}")

    def row(self, with_grammar: bool) -> str:
        g = f" | {self.grammar}/{self.n} ({self.grammar / self.n:.1%})" if with_grammar else ""
        return (f"{self.exact}/{self.n} ({self.exact / self.n:.1%}){g} | "
                f"CER {self.errors / max(1, self.chars):.1%} | "
                f"{1000 * self.seconds / self.n:.1f} ms/crop")


def real_sets(shared: Path) -> dict[str, list[tuple[np.ndarray, list[int] | None, str, bool]]]:
    """(grey image, box, truth, truth_is_german_label) per real set that is present."""
    sets = {}
    for name in ("plates_crops_de", "plates_real"):
        d = shared / name
        if (d / "labels.csv").exists():
            with (d / "labels.csv").open(encoding="utf-8") as f:
                sets[name] = [(cv2.imread(str(d / r["file"]), cv2.IMREAD_GRAYSCALE), None,
                               r["plate"], True) for r in csv.DictReader(f)]
    d = shared / "plates_eu"
    if (d / "labels.csv").exists():
        rows = []
        with (d / "labels.csv").open(encoding="utf-8") as f:
            for r in csv.DictReader(f):
                x, y, w, h = (int(v) for v in r["bbox_x_y_w_h"].split())
                img = cv2.imread(str(d / r["file"]), cv2.IMREAD_GRAYSCALE)
                rows.append((img, [x, x + w, y, y + h], r["plate_raw"], False))
        sets["plates_eu"] = rows
    return sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--synth", type=int, default=1000, help="held-out synthetic samples")
    ap.add_argument("--synth-split", choices=("test", "test_fe"), default="test",
                    help="held-out synthetic plates: fonts and drawn FE-like glyphs (test) or "
                         "the real FE-Schrift glyph bank's validation part (test_fe)")
    ap.add_argument("--first", type=int, default=0,
                    help="first held-out sample (a range nothing has looked at yet)")
    ap.add_argument("--no-quantize", action="store_true",
                    help="float weights (EasyOCR quantizes to int8 on CPU by default)")
    ap.add_argument("--misses", action="store_true", help="list the misread plates")
    ap.add_argument("--models", default=str(MODELS), help="directory with kennzeichen_de.*")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-stock", action="store_true", help="the fine-tuned model only")
    a = ap.parse_args()

    import torch

    torch.set_num_threads(a.threads)
    districts = official_districts()
    models = ("finetuned",) if a.skip_stock else ("stock", "finetuned")
    readers = {m: load_reader(m, not a.no_quantize, Path(a.models)) for m in models}
    readers["finetuned"] = PlateModelRecogniser(readers["finetuned"])
    sets = real_sets(Path(a.shared))
    split = TEST_FE if a.synth_split == "test_fe" else TEST
    synth = [sample(split, i) for i in range(a.first, a.first + a.synth)]
    if synth:
        sets["synthetic_heldout"] = [(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY), None, lbl, True)
                                     for lbl, c in synth]
    print(f"districts: {'official list' if districts else 'none (any 1-3 letters)'}; "
          f"int8 dynamic quantization: {not a.no_quantize}")
    print("columns: exact plates (alphanumerics) | exact after grammar | CER | time")
    for set_name, items in sets.items():
        german = items[0][3]
        print(f"\n== {set_name} ({len(items)} crops)")
        for m in models:
            tally, uml = Tally(), {}
            for img, box, truth, _ in items:
                t0 = time.perf_counter()
                pred = read(readers[m], m, img, box)
                # held-out synthetic plates use random districts too: grammar without list
                tally.add(truth, pred, time.perf_counter() - t0,
                          None if set_name == "synthetic_heldout" else districts,
                          truth if german else None)
                district = truth.split("-")[0]
                if set_name == "synthetic_heldout" and any(c in district for c in "ÄÖÜ"):
                    wide = img.shape[1] >= 120
                    for key, ok in umlaut_checks(truth, pred, districts, wide).items():
                        uml.setdefault(key, [0, 0, []])
                        uml[key][0] += 1
                        uml[key][1] += ok
                        if not ok:
                            uml[key][2].append(f"{truth}->{pred.raw}({img.shape[1]}px)")
            print(f"  {m:9s} {tally.row(german)}")
            for key, (n, ok, _) in uml.items():
                print(f"  {'':9s} umlaut districts read with the umlaut ({key}): "
                      f"{ok}/{n} ({ok / n:.1%})")
            if a.misses and tally.misses:
                print(f"  {'':9s} misses: {', '.join(tally.misses[:40])}")
            if a.misses and uml.get(PRODUCT_KEY, [0, 0, []])[2]:
                print(f"  {'':9s} umlaut misses ({PRODUCT_KEY}): {', '.join(uml[PRODUCT_KEY][2])}")


if __name__ == "__main__":
    main()
