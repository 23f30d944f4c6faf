"""``read`` with EasyOCR's real weights on the sample frames and on real photos."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.detection.types import Box
from pipeline.frames.sources import read_image
from pipeline.reading.plate_reader import PlateReader

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_frames"

pytestmark = pytest.mark.real


def labels(folder: Path) -> list[dict[str, str]]:
    with (folder / "labels.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_read_cli_reads_the_nearest_frame_of_each_sample_car(
        capsys: pytest.CaptureFixture[str]) -> None:
    rows = labels(SAMPLES)
    last = {}
    for row in rows:
        last[row["plate"]] = row  # the last frame of each car: nearest to the camera
    files = [str(SAMPLES / r["file"]) for r in last.values()]
    assert main(["read", *files, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [o["file"] for o in out] == files
    exact = 0
    for item, row in zip(out, last.values(), strict=True):
        assert item["plates"], f"no plate candidate in {item['file']}"
        best = item["plates"][0]
        assert set(best) == {"text", "compact", "raw", "confidence", "box", "source"}
        assert best["source"] in ("detector", "merged", "whole image")
        gt_box = Box(*map(int, row["bbox_x_y_w_h"].split()))
        exact += best["compact"] == row["plate"].replace("-", "") \
            and Box(*best["box"]).iou(gt_box) >= 0.3
    assert exact >= 8, f"only {exact}/10 sample plates read exactly"


def test_real_german_crops_are_read(plate_reader: PlateReader, shared_data: Path) -> None:
    folder = shared_data / "plates_real"
    rows = labels(folder)
    got, raw = {}, {}
    for row in rows:
        image = read_image(folder / row["file"])
        assert image is not None
        h, w = image.shape[:2]
        read = plate_reader.read_box(image, Box(0, 0, w, h))
        got[row["plate"]] = read.plate.label if read and read.plate else None
        raw[row["plate"]] = read.raw if read else ""
    # two crops only: a smoke test (the figures come from the evaluation benchmark)
    assert sum(k == v for k, v in got.items()) >= 1, got
    assert raw["DÜW-AS870"].startswith("DÜ"), raw  # the umlaut is read


def test_read_reports_an_unreadable_file(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"nope")
    assert main(["read", str(bad), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out == [{"file": str(bad), "error": "not a readable image (corrupt or truncated?)",
                    "plates": []}]
    assert main(["read", str(tmp_path / "missing.jpg"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)[0]["error"] == "no such file"


def test_real_german_crops_are_read_with_no_box_given(plate_reader: PlateReader,
                                                      shared_data: Path) -> None:
    """What ``read`` makes of a crop: the image as a whole is the first candidate, and the
    plate is not split at the seals (``DÜW-AS870`` once came out as ``A-S 870``)."""
    got = {}
    for name in ("plates_real", "plates_crops_de"):
        for row in labels(shared_data / name):
            reads = plate_reader.read(read_image(shared_data / name / row["file"]))
            got[row["file"]] = (row["plate"], reads[0].plate.label
                                if reads and reads[0].plate else None)
    exact = sum(truth == read for truth, read in got.values())
    assert exact >= 32, got
    assert got["de_s01.jpg"] == ("DÜW-AS870", "DÜW-AS870")


def test_read_without_a_config_does_not_take_the_drive_in_sign_for_a_plate(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 23: with no config (so no region of interest), the DRIVE-IN sign beside the
    entrance came out of ``read`` as plate ``D-R 1`` (0.77). Every candidate must be the
    car's plate where there is a car, and there must be none where there is only the sign."""
    boxes = {row["file"]: Box(*map(int, row["bbox_x_y_w_h"].split()))
             for row in labels(SAMPLES)}
    files = ["frame_0001.jpg", "frame_0005.jpg"]  # a car and the sign; the sign alone
    assert "frame_0005.jpg" not in boxes
    assert main(["read", *[str(SAMPLES / f) for f in files], "--json"]) == 0
    out = {Path(o["file"]).name: o["plates"] for o in json.loads(capsys.readouterr().out)}
    assert out["frame_0005.jpg"] == []
    car = out["frame_0001.jpg"]
    assert car and car[0]["text"] == "DI-PH 3"
    for plate in car:
        assert Box(*plate["box"]).iou(boxes["frame_0001.jpg"]) >= 0.3, plate
