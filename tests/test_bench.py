"""The real-time benchmark runs end to end (a short stream; its figures are reported by the
full benchmark, not asserted here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.bench.realtime import bench

pytestmark = pytest.mark.real

FONT = Path("/usr/share/fonts/truetype/opendin/OSP-DIN.ttf")


@pytest.mark.skipif(not FONT.exists(), reason="fonts-opendin (stream rendering) not installed")
def test_bench_replays_a_stream_through_the_pipeline(tmp_path: Path) -> None:
    result = bench("720p", 14.0, seed=7000, cache=tmp_path, baseline_frames=0,
                   progress=lambda _m: None)
    assert result["frames_from_camera"] >= 300
    assert result["frames_processed"] + result["frames_dropped"] <= result["frames_from_camera"]
    assert result["cars"] >= 1 and result["wrong_accounts"] == 0
    assert set(result["stages_ms"]) >= {"decode", "gate", "detect", "recognise_per_crop",
                                         "vote", "match", "store"}
    assert result["peak_rss_mb"] > 0 and result["device"] in ("cpu", "cuda")
