"""The day's statistics as a plain-text table for the terminal."""

from __future__ import annotations

from pipeline.stats.queries import DayStats


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def format_table(stats: DayStats) -> str:
    if not stats.arrivals and not stats.served:
        return (f"{stats.day}: no queue facts (is 'kennzeichen-checkin queue run' running? "
                "it records them)")
    share = stats.share
    lines = [
        f"Drive-in statistics {stats.day} ({stats.timezone}, anonymous queue facts)",
        f"arrivals {stats.arrivals}: registered {share['matched']:.0%}, unregistered "
        f"{share['unregistered']:.0%}, needs review {share['needs_review']:.0%}; served "
        f"{stats.served}, left without service {stats.left}; corrections {stats.corrections}",
        f"waiting (arrival to window): mean {_num(stats.mean_wait_min)} min, median "
        f"{_num(stats.median_wait_min)}, 90% within {_num(stats.p90_wait_min)}; service "
        f"{_num(stats.mean_service_min)} min",
        f"arrivals per hour: before 12:00 {stats.morning_per_hour:.1f}, after 12:00 "
        f"{stats.afternoon_per_hour:.1f}",
        "",
        "hour  arrivals  served  left  wait mean  wait max  corrections",
    ]
    for row in stats.hours:
        lines.append(f"{row.hour:02d}:00 {row.arrivals:8d} {row.served:7d} {row.left:5d} "
                     f"{_num(row.mean_wait_min):>10} {_num(row.max_wait_min):>9} "
                     f"{row.corrections:12d}")
    lines += ["", "15 min  arrivals (# registered, + unregistered, ? needs review)"]
    for b in stats.buckets:
        bar = "#" * b.matched + "+" * b.unregistered + "?" * b.needs_review
        lines.append(f"{b.start}  {b.arrivals:3d} {bar}")
    return "\n".join(lines)
