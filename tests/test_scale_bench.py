"""The scale benchmark runs end to end on both engines (tiny numbers; the figures come from
`python -m pipeline.bench.scale`, see README)."""

from __future__ import annotations

import json

import pytest

from pipeline.bench.scale import generate_plates, main
from pipeline.plate.districts import district_codes
from pipeline.plate.grammar import plate_from_label

pytestmark = pytest.mark.real


def test_generated_plates_are_distinct_german_plates() -> None:
    plates = generate_plates(3000)
    assert len(set(plates)) == 3000
    districts = district_codes()
    for plate in plates[:3000:7]:
        assert plate_from_label(plate, districts).display == plate


def test_scale_benchmark_reports_both_engines(postgres_url: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--accounts", "2000", "--workers", "2", "--events", "50", "--samples", "200",
                 "--postgres-url", postgres_url, "--json"]) == 0
    figures = {f["engine"]: f for f in json.loads(capsys.readouterr().out)}
    assert set(figures) == {"sqlite", "postgres"}
    for f in figures.values():
        assert f["accounts"] == 2000 and f["events"] == 100 and f["duplicates"] == 0
        assert f["match_p95_ms"] > 0 and f["arrivals_per_s"] > 0
