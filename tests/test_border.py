"""A candidate's box on the plate's border: refined to the white field and the EU band in
both directions (an inflated blob shrinks, a glyph row grows), left alone where no closed
plate-shaped field is there; the detector's work copy serves large boxes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.detection.border import refine
from pipeline.detection.morphology import MorphologyDetector
from pipeline.detection.types import WHOLE_IMAGE, Box, Detection, WorkCopy
from pipeline.synth import plate_render as pr

pytestmark = pytest.mark.skipif(
    not (pr.FONT_DIN.exists() and pr.FONT_DEJAVU.exists()),
    reason="rendering fonts (fonts-opendin, fonts-dejavu-core) not installed")


def small_plate_photo(width: int = 70, size: tuple[int, int] = (530, 400), x: int = 240,
                      y: int = 160, body: int = 35) -> tuple[np.ndarray, Box]:
    """A dark car body with a rendered German plate ``width`` px wide pasted at ``x, y``."""
    plate = pr.render_plate("OF-AB123")  # the default style: OpenDIN, EU band
    height = round(width * plate.shape[0] / plate.shape[1])
    image = np.full((size[1], size[0], 3), body, np.uint8)
    image[y:y + height, x:x + width] = cv2.resize(plate, (width, height),
                                                  interpolation=cv2.INTER_AREA)
    return image, Box(x, y, width, height)


def work_copy(image: np.ndarray, width: int = 640) -> WorkCopy:
    scale = min(1.0, width / image.shape[1])
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if scale < 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return WorkCopy(image, gray, scale)


def test_an_inflated_box_shrinks_to_the_plate() -> None:
    image, truth = small_plate_photo()
    # the morphology's blob over a 16 px plate: 10 px too high, too far left
    blob = Detection(Box(truth.x - 12, truth.y - 5, truth.w + 8, truth.h + 11), 0.6)
    assert blob.box.iou(truth) < 0.5
    refined = refine(work_copy(image), blob)
    assert refined.box.iou(truth) >= 0.8
    assert (refined.score, refined.source) == (blob.score, blob.source)


def test_a_glyph_row_grows_to_the_plate_with_its_band() -> None:
    image, truth = small_plate_photo(width=220, size=(900, 600), x=300, y=300)
    band = round(truth.w * 40 / 520)
    row = Detection(Box(truth.x + band + 12, truth.y + 8, truth.w - band - 24, truth.h - 16),
                    0.5)
    refined = refine(work_copy(image), row)
    assert refined.box.iou(truth) >= 0.85
    assert refined.box.x <= truth.x + 2  # the band is in


def test_large_boxes_are_refined_in_the_work_copy_as_at_full_resolution() -> None:
    image, truth = small_plate_photo(width=600, size=(1920, 1080), x=600, y=500)
    row = Detection(Box(truth.x + 60, truth.y + 20, truth.w - 100, truth.h - 40), 0.5)
    work = work_copy(image)
    assert row.box.h * work.scale >= 24  # refined in the work copy
    refined = refine(work, row)
    assert refined.box.iou(truth) >= 0.85
    assert work._colour is None  # refining needs no colour copy


@pytest.mark.parametrize("det", [
    Detection(Box(230, 150, 90, 30), 0.5, angle=12.0),
    Detection(Box(230, 150, 90, 30), 0.5, lines=2),
    Detection(Box(0, 0, 530, 400), 1.0, source=WHOLE_IMAGE),
])
def test_rolled_two_line_and_whole_image_boxes_stay(det: Detection) -> None:
    image, _ = small_plate_photo()
    assert refine(work_copy(image), det) == det


def test_no_closed_plate_field_leaves_the_box() -> None:
    # the plate on a body as white as itself: the field runs out of any window
    image, truth = small_plate_photo(body=250)
    blob = Detection(Box(truth.x - 12, truth.y - 5, truth.w + 8, truth.h + 11), 0.6)
    assert refine(work_copy(image), blob) == blob
    flat = Detection(Box(10, 10, 80, 20), 0.4)
    assert refine(work_copy(np.full((100, 200, 3), 90, np.uint8)), flat) == flat


def test_a_small_plate_in_a_small_photo_is_found_on_its_border() -> None:
    image, truth = small_plate_photo()
    found = MorphologyDetector().detect(image)
    assert found and found[0].box.iou(truth) >= 0.6
