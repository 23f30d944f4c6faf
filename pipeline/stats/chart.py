"""The day's statistics as one PNG (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
logging.getLogger("matplotlib").setLevel(logging.WARNING)  # no per-axis INFO chatter
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from pipeline.domain import Status  # noqa: E402
from pipeline.stats.queries import STATUSES, DayStats  # noqa: E402

COLOURS = {Status.MATCHED: "#2e7d32", Status.UNREGISTERED: "#9e9e9e",
           Status.NEEDS_REVIEW: "#f9a825"}
LABELS = {Status.MATCHED: "registered", Status.UNREGISTERED: "unregistered",
          Status.NEEDS_REVIEW: "needs review"}


def render_png(stats: DayStats, path: Path) -> Path:
    """Four panels: arrivals per 15 min by status (midday marked), waiting times per hour,
    registered share, corrections per hour. A day without facts is said so, in words."""
    if not stats.arrivals and not stats.served:
        return _save(_no_facts(stats), path)
    fig, axes = plt.subplots(2, 2, figsize=(14, 9), dpi=100,
                             gridspec_kw={"width_ratios": [3, 1]})
    (arr, share), (wait, corr) = axes
    _arrivals(arr, stats)

    counts = [stats.share[s] for s in STATUSES]
    if stats.arrivals:
        share.pie(counts, labels=[LABELS[s] for s in LABELS], autopct="%.0f%%",
                  colors=[COLOURS[s] for s in COLOURS], startangle=90)
    share.set_title(f"{stats.arrivals} arrivals")

    hours = [f"{r.hour:02d}" for r in stats.hours]
    wait.bar(hours, [r.mean_wait_min or 0 for r in stats.hours], color="#1565c0",
             label="mean")
    wait.plot(hours, [r.max_wait_min or 0 for r in stats.hours], "o-", color="#c62828",
              label="longest")
    wait.set_title("Waiting time (arrival to window), by hour served")
    wait.set_ylabel("minutes")
    wait.set_xlabel("hour")
    wait.legend(loc="upper right")

    corr.bar(hours, [r.corrections for r in stats.hours], color="#6a1b9a")
    corr.set_title(f"Read corrections per hour ({stats.corrections})")
    corr.set_xlabel("hour")
    for counted in (arr, wait, corr):  # counts and minutes: never below 0, whole ticks
        counted.set_ylim(bottom=0)
        counted.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"Drive-in {stats.day}", fontsize=16)
    fig.tight_layout()
    return _save(fig, path)


def _arrivals(arr: Axes, stats: DayStats) -> None:
    """Arrivals per 15 minutes stacked by status, midday marked; the legend in the bars'
    own colours."""
    starts = [b.start for b in stats.buckets]
    bottom = [0] * len(starts)
    for status in STATUSES:
        values = [getattr(b, status) for b in stats.buckets]
        arr.bar(starts, values, bottom=bottom, color=COLOURS[status])
        bottom = [x + y for x, y in zip(bottom, values, strict=True)]
    if "12:00" in starts:
        arr.axvline(starts.index("12:00") - 0.5, color="black", linestyle="--", linewidth=1)
    arr.set_title(f"Arrivals per 15 minutes — before 12:00: {stats.morning_per_hour:.0f}/h, "
                  f"after: {stats.afternoon_per_hour:.0f}/h")
    arr.set_xticks(range(0, len(starts), 4), starts[::4])
    arr.set_ylabel("cars")
    arr.legend(handles=[Patch(color=COLOURS[s], label=LABELS[s]) for s in STATUSES],
               loc="upper right")


def _no_facts(stats: DayStats) -> Figure:
    """A day nothing was recorded on: a chart of zeros would look like a closed drive-in."""
    fig, ax = plt.subplots(figsize=(14, 9), dpi=100)
    ax.set_axis_off()
    ax.text(0.5, 0.55, f"No queue facts for {stats.day}", ha="center", va="center",
            fontsize=22, transform=ax.transAxes)
    ax.text(0.5, 0.45, "They are recorded by 'kennzeichen-checkin queue run' while it runs: "
            "is it running, and is this the right --day and database?", ha="center",
            va="center", fontsize=13, transform=ax.transAxes)
    fig.suptitle(f"Drive-in {stats.day}", fontsize=16)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
