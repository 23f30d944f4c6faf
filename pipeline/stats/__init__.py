"""The day's statistics from the anonymous queue facts (they survive every privacy purge):
arrivals per 15 minutes, waiting times, registered share, corrections per hour."""
