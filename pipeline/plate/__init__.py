"""plate stage."""
