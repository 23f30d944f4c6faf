"""Two-line plates (motorcycles, two-line car plates): generated, detected, split and read."""

from __future__ import annotations

import csv
import filecmp
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.detection.morphology import MorphologyConfig, MorphologyDetector
from pipeline.detection.two_line import find_rows, split_rows
from pipeline.detection.types import Box, Detection
from pipeline.frames.sources import read_image
from pipeline.plate.districts import district_codes
from pipeline.reading.plate_reader import PlateRead, PlateReader
from pipeline.reading.recognisers import TextRead
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


def _rendered(seed: int, count: int) -> list[tuple[str, tuple[int, int], np.ndarray]]:
    """``count`` random two-line plates: label, size in mm, image at 40..200 px high."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        label = pr.random_plate(rng)
        size = pr.TWO_LINE_MM[int(rng.integers(3))]
        img = pr.render_two_line_plate(label, rng, size_mm=size, height=int(rng.integers(40, 201)))
        out.append((label, size, img))
    return out


def _gap_px(size: tuple[int, int], height: int) -> tuple[float, float]:
    """Where the renderer leaves the strip between the rows, in pixel rows."""
    cap = pr.TWO_LINE_CAP_MM[size]
    margin = (size[1] - 2 * cap) / 3
    f = height / size[1]
    return (margin + cap) * f, (2 * margin + cap) * f


@needs_fonts
def test_find_rows_cuts_rendered_two_line_plates_between_the_rows() -> None:
    rng = np.random.default_rng(0)
    for label, size, img in _rendered(41, 60):
        # as the reader cuts it: padded by 15 % of the height with some car body around
        pad_y, pad_x = int(0.15 * img.shape[0]), int(0.06 * img.shape[1])
        body = [int(c) for c in rng.integers(30, 230, 3)]
        padded = cv2.copyMakeBorder(img, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT,
                                    value=body)
        for crop, offset in ((img, 0), (padded, pad_y)):
            rows = find_rows(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY))
            assert rows is not None, (label, size, crop.shape)
            gap0, gap1 = _gap_px(size, img.shape[0])
            assert offset + gap0 - 1 <= rows.split <= offset + gap1 + 1, (label, rows)
            assert rows.top[1] <= rows.split < rows.bottom[0]
            assert rows.clarity > 0.5


@needs_fonts
def test_split_rows_gives_the_top_and_the_bottom_row() -> None:
    img = pr.render_two_line_plate("OF-AB123")  # 280 x 200 mm at 1 px per mm
    parts = split_rows(img)
    assert parts is not None
    top, bottom = parts
    assert top.shape[1] == bottom.shape[1] == img.shape[1]
    gap0, gap1 = _gap_px((280, 200), 200)
    assert gap0 - 1 <= top.shape[0] and 200 - bottom.shape[0] <= gap1 + 1
    # each part holds one row of characters: the ink of the top row is in the top part
    assert find_rows(top) is None and find_rows(bottom) is None
    ink_top = (top[:, 60:].min(axis=2) < 100).mean()
    ink_bottom = (bottom[:, 60:].min(axis=2) < 100).mean()
    assert ink_top > 0.1 and ink_bottom > 0.1


@needs_fonts
def test_split_rows_looks_for_the_rows_in_the_plate_only() -> None:
    """What lies around the plate in the padded crop (a grille) does not move the cut when
    the plate's box is given."""
    img = pr.render_two_line_plate("OF-AB1", height=120)  # 168 x 120, a light bottom row
    clean = cv2.copyMakeBorder(img, 40, 40, 10, 10, cv2.BORDER_CONSTANT, value=(150, 150, 150))
    grille = clean.copy()
    for x in range(0, grille.shape[1], 12):  # dark bars below the plate
        cv2.rectangle(grille, (x, 164), (x + 5, 196), (30, 30, 30), -1)
    core = (10, 40, 168, 120)
    a, b = split_rows(clean, core=core), split_rows(grille, core=core)
    assert a is not None and b is not None
    assert np.array_equal(a[0], b[0]) and a[1].shape == b[1].shape
    assert find_rows(b[0]) is None and find_rows(b[1]) is None


@needs_fonts
def test_find_rows_rejects_one_line_plates_and_blank_crops() -> None:
    rng = np.random.default_rng(43)
    for _ in range(60):
        img = pr.render_plate(pr.random_plate(rng), rng, height=int(rng.integers(24, 111)))
        pad_y, pad_x = int(0.15 * img.shape[0]), int(0.06 * img.shape[1])
        padded = cv2.copyMakeBorder(img, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_REPLICATE)
        assert find_rows(img) is None and find_rows(padded) is None
        assert split_rows(padded) is None
    assert find_rows(np.full((80, 100), 200, np.uint8)) is None
    noise = np.random.default_rng(1).integers(0, 255, (80, 100)).astype(np.uint8)
    assert find_rows(noise) is None


def _labelled(folder: Path) -> list[tuple[np.ndarray, Box, str, int]]:
    return [(read_image(folder / r["file"]), Box(*map(int, r["bbox_x_y_w_h"].split())),
             r.get("plate") or r["plate_raw"], int(r.get("lines") or 1))
            for r in _rows(folder / "labels.csv")]


@needs_fonts
def test_two_line_plates_in_scenes_are_detected_as_two_line(tmp_path: Path) -> None:
    make_sequence(tmp_path, 8, 5210, frames_per_car=2, two_line=1.0)
    detector = MorphologyDetector()
    near = far = 0
    for k, (image, truth, plate, lines) in enumerate(_labelled(tmp_path)):
        assert lines == 2
        found = [d for d in detector.detect(image) if d.box.iou(truth) >= 0.5]
        hit = bool(found) and found[0].lines == 2
        if k % 2:
            near += hit
        else:
            far += hit
        # the rows of a detected plate are not candidates of their own
        rows_too = [d for d in detector.detect(image) if d.lines == 1
                    and truth.iou(d.box) > 0 and d.box.area < 0.7 * truth.area]
        assert not (hit and rows_too), plate
    assert near == 8, f"{near}/8 near two-line plates detected as two-line"
    assert far >= 5, f"{far}/8 far two-line plates detected as two-line"


def test_one_line_plates_are_not_two_line() -> None:
    """The bundled one-line sample frames: every plate is still found as before, as one
    line, and nothing in them is taken for a two-line plate."""
    with_two, without = MorphologyDetector(), MorphologyDetector(MorphologyConfig(two_line=False))
    for image, _, plate, _ in _labelled(SAMPLES):
        found = with_two.detect(image)
        assert found == without.detect(image), plate
        assert all(d.lines == 1 for d in found), plate


def test_real_photos_detect_as_before(shared_data: Path) -> None:
    """Real scenes (mostly foreign one-line plates, trucks, headlamps): the candidates are the
    same as without two-line detection."""
    with_two, without = MorphologyDetector(), MorphologyDetector(MorphologyConfig(two_line=False))
    for image, _, plate, _ in _labelled(shared_data / "plates_eu"):
        found = with_two.detect(image)
        assert found == without.detect(image), plate


class _Scripted:
    """A recogniser that answers from a list and keeps the crops it was given."""

    name = "scripted"

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.crops: list[np.ndarray] = []

    def recognise(self, crop: np.ndarray) -> TextRead | None:
        self.crops.append(crop)
        answer = self.answers.pop(0)
        return None if answer is None else TextRead(answer, 0.9)


@needs_fonts
@pytest.mark.parametrize(("top", "bottom", "plate"), [
    ("OF-AB", "123", "OF-AB123"),  # the rows joined as TOP BOTTOM
    ("OF-AB", None, None),  # a row not read: no plate
    (None, "123", None),
    ("OF-AB1", "23", None),  # a digit read into the top row: not made up into OF-AB 123
    ("OF", "AB123", None),  # the letters read with the digits
    ("OF-AB", "D123", None),  # the band's D read with the digits
])
def test_two_line_read_joins_the_rows(top: str | None, bottom: str | None,
                                      plate: str | None) -> None:
    image = cv2.copyMakeBorder(pr.render_two_line_plate("OF-AB123"), 60, 60, 80, 80,
                               cv2.BORDER_CONSTANT, value=(90, 90, 90))
    box = Box(80, 60, 280, 200)
    recogniser = _Scripted(top, bottom)
    read = PlateReader(MorphologyDetector(), recogniser, district_codes()).read_box(
        image, box, lines=2)
    assert len(recogniser.crops) == 2  # one crop per row, each a row of its own
    assert all(find_rows(c) is None and c.shape[1] > 1.5 * c.shape[0]
               for c in recogniser.crops)
    if top is None and bottom is None:
        assert read is None
        return
    assert read is not None and read.box == box
    assert (read.plate.label if read.plate else None) == plate
    assert read.raw == " ".join(t for t in (top, bottom) if t)


@needs_fonts
def test_detected_two_line_plates_go_to_the_reader_as_two_lines(tmp_path: Path) -> None:
    make_sequence(tmp_path, 1, 5211, frames_per_car=2, two_line=1.0)
    image, truth, _, _ = _labelled(tmp_path)[-1]
    calls: list[tuple[Box, int]] = []

    class Spy(PlateReader):
        def read_detection(self, image: np.ndarray, det: Detection) -> PlateRead | None:
            calls.append((det.box, det.lines))
            return super().read_detection(image, det)

    Spy(MorphologyDetector(), _Scripted(*["X"] * 20), district_codes()).read(image)
    assert [lines for box, lines in calls if box.iou(truth) >= 0.5] == [2]


@needs_fonts
@pytest.mark.real
def test_real_model_reads_rendered_two_line_plates_or_nothing(plate_reader: PlateReader) -> None:
    """With the real weights a two-line plate is read as its own plate or as no plate at all,
    never as another plate."""
    rng = np.random.default_rng(77)
    exact, wrong = 0, []
    for _ in range(16):
        label = pr.random_plate(rng)
        img = pr.render_two_line_plate(label, rng, height=int(rng.integers(80, 161)))
        h, w = img.shape[:2]
        image = cv2.copyMakeBorder(img, h // 2, h // 2, w // 2, w // 2, cv2.BORDER_CONSTANT,
                                   value=(90, 95, 100))
        read = plate_reader.read_box(image, Box(w // 2, h // 2, w, h), lines=2)
        got = read.plate.label if read is not None and read.plate is not None else None
        exact += got == label
        if got not in (None, label):
            wrong.append((label, got, read.raw if read else None))
    assert not wrong
    assert exact >= 14, f"only {exact}/16 rendered two-line plates read"


@needs_fonts
@pytest.mark.real
def test_real_model_reads_two_line_plates_in_scenes(plate_reader: PlateReader,
                                                    tmp_path: Path) -> None:
    make_sequence(tmp_path, 4, 5212, frames_per_car=2, two_line=1.0)
    exact, wrong = 0, []
    for image, truth, plate, _ in _labelled(tmp_path)[1::2]:  # each car's nearer frame
        at_plate = [r for r in plate_reader.read(image) if r.box.iou(truth) >= 0.5]
        labels = [r.plate.label for r in at_plate if r.plate is not None]
        exact += plate in labels
        wrong += [(plate, p) for p in labels if p != plate]
    assert not wrong
    assert exact >= 3, f"only {exact}/4 two-line plates read in the scenes"
