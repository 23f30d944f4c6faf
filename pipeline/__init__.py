"""kennzeichen-checkin: licence-plate check-in for a drive-in customer service."""

__version__ = "0.1.0"
