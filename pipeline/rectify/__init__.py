"""Plate crops made readable: levelled, contrast-stretched, seals located."""
