"""Prometheus metrics of the long-running processes (``run``, ``queue run``, ``display``)."""
