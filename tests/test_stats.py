"""The day's statistics: from the anonymous facts only, they survive purge, forget and campaign
close; the table and the PNG show the quieter afternoon."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from pipeline import cli
from pipeline.bench.queue_simulation import write_day_to_store
from pipeline.domain import Account, ReadRecord
from pipeline.stats.chart import render_png
from pipeline.stats.queries import load_day
from pipeline.stats.report import format_table
from pipeline.store.sqlite_store import SqliteStore

DAY = date(2026, 11, 24)
TZ = "Europe/Berlin"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "kc.sqlite3"
    write_day_to_store(path, seed=3, day=DAY.isoformat(), tz=TZ)
    return path


def test_statistics_survive_every_privacy_deletion(store_path: Path) -> None:
    store = SqliteStore(store_path)
    try:
        before = load_day(store, DAY, TZ)
        store.import_accounts([Account("10001", "Anna Schmidt", ("OFAB123",), "Tarif",
                                       ("OF-AB 123",))])
        store.record_passage(ReadRecord("r1", "2026-11-24T08:00:00.000Z", "cam", "OF-AB 123",
                                        "OFAB123", 0.9, "matched", "10001", "e1"), None)
        store.purge("2099-01-01T00:00:00.000Z", "2099-01-01T00:00:00.000Z")
        store.forget_customer("10001")
        store.close_campaign()
        assert load_day(store, DAY, TZ) == before
        columns = {r[1] for r in store._db.execute("PRAGMA table_info(visit_facts)")}
        assert columns == {"id", "kind", "at", "status", "wait_s", "service_s"}
    finally:
        store.close()


def test_table_and_chart_show_the_quieter_afternoon(store_path: Path, tmp_path: Path) -> None:
    store = SqliteStore(store_path)
    try:
        stats = load_day(store, DAY, TZ)
    finally:
        store.close()
    assert stats.arrivals > 150 and stats.served == stats.arrivals
    assert stats.morning_per_hour > 1.3 * stats.afternoon_per_hour
    assert sum(b.arrivals for b in stats.buckets) == stats.arrivals
    assert stats.buckets[0].start == "07:30"
    assert abs(sum(stats.share.values()) - 1) < 0.01 and stats.share["matched"] > 0.5
    assert stats.corrections == sum(h.corrections for h in stats.hours) > 0
    assert 3 <= (stats.mean_service_min or 0) <= 8
    table = format_table(stats)
    assert "before 12:00" in table and "09:00" in table
    png = render_png(stats, tmp_path / "day.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_stats_command(store_path: Path, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "out" / "day.png"
    assert cli.main(["--database", str(store_path), "stats", "--day", DAY.isoformat(),
                     "--png", str(png), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["day"] == DAY.isoformat() and data["arrivals"] > 0 and png.is_file()
    assert cli.main(["--database", str(store_path), "stats", "--day", "2026-11-20"]) == 0
    assert "no queue facts" in capsys.readouterr().out
    assert cli.main(["--database", str(store_path), "stats", "--day", "yesterday"]) == 1


def _drawn(stats: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Figure:
    figures: list[Figure] = []
    real = Figure.savefig

    def keep(self: Figure, *args: object, **kwargs: object) -> None:
        figures.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    render_png(stats, tmp_path / "day.png")  # type: ignore[arg-type]
    (figure,) = figures
    return figure


def test_a_day_without_facts_is_said_in_the_chart_not_drawn_empty(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 23: it drew four empty panels with ticks down to -0.04 and a legend of three
    entries in one colour."""
    store = SqliteStore(tmp_path / "empty.sqlite3")
    try:
        stats = load_day(store, DAY, TZ)
    finally:
        store.close()
    figure = _drawn(stats, tmp_path, monkeypatch)
    words = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert any(f"No queue facts for {DAY}" in w for w in words), words
    assert [ax for ax in figure.axes if ax.axison] == []


def test_the_charts_axes_start_at_zero_and_the_legend_has_the_bars_colours(
        store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SqliteStore(store_path)
    try:
        stats = load_day(store, DAY, TZ)
    finally:
        store.close()
    figure = _drawn(stats, tmp_path, monkeypatch)
    for ax in figure.axes:
        if ax.get_ylabel() in ("cars", "minutes"):
            assert ax.get_ylim()[0] == 0, ax.get_title()
    legend = figure.axes[0].get_legend()
    colours = {tuple(h.get_facecolor()) for h in legend.legend_handles}
    assert len(colours) == 3
