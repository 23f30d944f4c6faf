"""Benchmarks that measure the pipeline's stages on simulated or recorded data."""
