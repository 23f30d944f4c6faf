"""The time window within which a customer counts as already announced, by any camera."""

from __future__ import annotations

from datetime import timedelta

from pipeline.domain import ReadRecord, iso, parse_iso

# Another camera's matched read of the same customer's same car (by the registered plate's
# pseudonym; rows without one, from before migration 7, count by customer) in the window.
# ``%s`` placeholders (psycopg); SQLite swaps them for ``?``.
SAME_VISIT = ("customer_number=%s AND status='matched' AND seen_at BETWEEN %s AND %s "
              "AND camera_id<>%s AND (matched_plate_hmac IS NULL OR CAST(%s AS TEXT) IS NULL "
              "OR matched_plate_hmac=%s)")


def same_visit_args(read: ReadRecord, lo: str, hi: str) -> tuple[object, ...]:
    return (read.customer_number, lo, hi, read.camera_id, read.matched_plate_hmac,
            read.matched_plate_hmac)


def window_bounds(seen_at: str, dedup_s: float) -> tuple[str, str]:
    """ISO UTC bounds ``seen_at`` ± ``dedup_s``, in the stored format (ms, ``Z``), so they
    compare as text against ``reads.seen_at`` on either engine."""
    when = parse_iso(seen_at)
    delta = timedelta(seconds=dedup_s)
    return iso(when - delta), iso(when + delta)
