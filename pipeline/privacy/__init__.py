"""Privacy by design: keyed pseudonyms and retention rules for plate data (see PRIVACY.md)."""
