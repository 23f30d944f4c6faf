"""Tests for the synthetic plate renderer (needs fonts-opendin / fonts-dejavu-core)."""

from __future__ import annotations

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
