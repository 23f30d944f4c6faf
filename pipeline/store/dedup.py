"""The time window within which a customer counts as already announced, by any camera."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def window_bounds(seen_at: str, dedup_s: float) -> tuple[str, str]:
    """ISO UTC bounds ``seen_at`` ± ``dedup_s``, in the stored format (ms, ``Z``), so they
    compare as text against ``reads.seen_at`` on either engine."""
    when = datetime.fromisoformat(seen_at.replace("Z", "+00:00")).astimezone(UTC)
    delta = timedelta(seconds=dedup_s)
    return _iso(when - delta), _iso(when + delta)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
