"""Benchmarks: jobmodule on Temporal against Celery + Redis (``make bench``)."""
