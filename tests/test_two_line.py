"""Two-line plates (motorcycles, two-line car plates): generated, detected, split and read."""

from __future__ import annotations

import csv
import filecmp
from pathlib import Path

import pytest

from pipeline.synth import plate_render as pr
from pipeline.synth.scenes import make_sequence

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_frames"

needs_fonts = pytest.mark.skipif(
    not (pr.FONT_DIN.exists() and pr.FONT_DEJAVU.exists()),
    reason="rendering fonts (fonts-opendin, fonts-dejavu-core) not installed")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@needs_fonts
def test_scenes_without_two_line_reproduce_the_sample_frames(tmp_path: Path) -> None:
    """The option is off by default and draws nothing from the rng then: the bundled
    sample frames' seed gives the same ground truth, boxes and accounts as before."""
    make_sequence(tmp_path, 10, 1000)
    for name in ("ground_truth.csv", "labels.csv", "accounts.csv"):
        assert filecmp.cmp(tmp_path / name, SAMPLES / name, shallow=False), name
    assert "lines" not in _rows(tmp_path / "labels.csv")[0]


@needs_fonts
def test_scenes_record_two_line_plates(tmp_path: Path) -> None:
    make_sequence(tmp_path, 6, 5201, frames_per_car=2, two_line=0.5)
    truth = _rows(tmp_path / "ground_truth.csv")
    boxes = _rows(tmp_path / "labels.csv")
    assert {t["lines"] for t in truth} == {"1", "2"}
    lines_of = {t["plate"]: t["lines"] for t in truth}
    for row in boxes:
        assert row["lines"] == lines_of[row["plate"]]
        w, h = map(int, row["bbox_x_y_w_h"].split()[2:])
        # two-line plates are 1.1-1.7 times as wide as high, one-line ones about 4.7 times
        assert (w / h < 2.0) == (row["lines"] == "2"), row
    with pytest.raises(ValueError):
        make_sequence(tmp_path, 1, 1, two_line=1.5)
