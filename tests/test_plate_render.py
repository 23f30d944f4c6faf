"""Tests for the synthetic plate renderer (needs fonts-opendin / fonts-dejavu-core)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.synth import plate_render as pr

pytestmark = pytest.mark.skipif(
    not (pr.FONT_DIN.exists() and pr.FONT_DEJAVU.exists()),
    reason="rendering fonts (fonts-opendin, fonts-dejavu-core) not installed")


def test_random_plate_is_valid_and_varied() -> None:
    rng = np.random.default_rng(123)
    plates = [pr.random_plate(rng) for _ in range(2000)]
    for p in plates:
        district, letters, digits, suffix = pr.parse_label(p)
        assert 1 <= len(district) <= 3 and 1 <= len(letters) <= 2 and 1 <= len(digits) <= 4
        assert not digits.startswith("0")
        assert len(district + letters + digits + suffix) <= pr.MAX_CHARS
    assert len(set(plates)) > 1900
    assert any(p.endswith(("E", "H")) for p in plates)
    assert any(len(p.split("-")[0]) == 3 for p in plates)


def test_random_plate_is_deterministic_per_seed() -> None:
    a = [pr.random_plate(np.random.default_rng(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]


@pytest.mark.parametrize("bad", ["OFAB123", "OF-AB0123", "ABCD-A1", "OF-ABC1", "OF-A12345",
                                 "DÜW-AS8701"])
def test_parse_label_rejects_invalid(bad: str) -> None:
    with pytest.raises(ValueError):
        pr.parse_label(bad)


def test_render_default_is_deterministic_plate_image() -> None:
    a = pr.render_plate("DÜW-AS870")
    b = pr.render_plate("DÜW-AS870")
    assert a.dtype == np.uint8 and a.shape == (110, 520, 3)
    assert np.array_equal(a, b)
    # blue EU band on the left, white plate, black characters in the middle
    band = a[46:62, 6:38].reshape(-1, 3).mean(axis=0)
    assert band[0] > 120 and band[2] < 60
    middle = a[20:90, 60:500]
    assert (middle.min(axis=2) < 60).mean() > 0.15
    assert (middle.min(axis=2) > 200).mean() > 0.3


def test_render_random_style_and_height() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        img = pr.render_plate(pr.random_plate(rng), rng, height=64)
        assert img.shape == (64, 303, 3)
    assert not np.array_equal(pr.render_plate("F-X1", np.random.default_rng(1)),
                              pr.render_plate("F-X1", np.random.default_rng(2)))


def test_umlaut_differs_from_base_letter() -> None:
    assert not np.array_equal(pr.render_plate("GÖ-A1"), pr.render_plate("GO-A1"))


def test_missing_font_names_the_debian_package(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="fonts-opendin"):
        pr._require_font(tmp_path / "OSP-DIN.ttf")


def _ink_rows(img: np.ndarray) -> np.ndarray:
    """Share of dark pixels per row, right of the EU band."""
    gray = img.min(axis=2)[:, int(img.shape[1] * 0.2):-6]
    return (gray < 100).mean(axis=1)


def test_two_line_default_layout() -> None:
    a = pr.render_two_line_plate("OF-AB123")
    assert a.dtype == np.uint8 and a.shape == (200, 280, 3)
    assert np.array_equal(a, pr.render_two_line_plate("OF-AB123"))
    # the EU band runs the full height on the left
    for y in (20, 100, 140):
        band = a[y - 4:y + 4, 12:34].reshape(-1, 3).mean(axis=0)
        assert band[0] > 120 and band[2] < 60, y
    # two rows of characters with a clear, bright gap between them
    ink = _ink_rows(a)
    top, gap, bottom = ink[25:90], ink[96:104], ink[112:180]
    assert top.mean() > 0.15 and bottom.mean() > 0.1
    assert gap.max() < 0.02
    # the seals (coloured HU sticker) are in the top row only
    hsv = cv2.cvtColor(a, cv2.COLOR_BGR2HSV)
    coloured = (hsv[..., 1] > 120) & (hsv[..., 2] > 120)
    coloured[:, :45] = False  # not the band's stars
    ys = np.flatnonzero(coloured.any(axis=1))
    assert ys.size and ys.max() < 100
    # digits only at the bottom: the top row of "F-X1" holds F and X, the bottom one 1
    b = _ink_rows(pr.render_two_line_plate("F-X1"))
    assert b[25:90].mean() > b[112:180].mean()


@pytest.mark.parametrize("size", pr.TWO_LINE_MM)
def test_two_line_sizes(size: tuple[int, int]) -> None:
    img = pr.render_two_line_plate("MTK-WM123", size_mm=size, height=100)
    assert img.shape == (100, round(100 * size[0] / size[1]), 3)


def test_two_line_random_style_and_invalid_size() -> None:
    rng = np.random.default_rng(11)
    widths = {pr.render_two_line_plate(pr.random_plate(rng), rng).shape[1] for _ in range(20)}
    assert widths == {280, 340, 220}
    with pytest.raises(ValueError, match="two-line plate size"):
        pr.render_two_line_plate("OF-AB123", size_mm=(520, 110))
    with pytest.raises(ValueError):
        pr.render_two_line_plate("OFAB123")


def test_two_line_rendering_leaves_one_line_plates_alone() -> None:
    """The one-line renderer draws the same plate and uses the rng the same way whether or not
    two-line plates were rendered before (training data and sample frames depend on it)."""
    def one_line(seed: int) -> tuple[np.ndarray, float]:
        rng = np.random.default_rng(seed)
        img = pr.render_plate(pr.random_plate(rng), rng)
        return img, float(rng.random())

    before = one_line(5)
    pr.render_two_line_plate("OF-AB123", np.random.default_rng(1))
    after = one_line(5)
    assert np.array_equal(before[0], after[0]) and before[1] == after[1]
