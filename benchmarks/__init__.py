"""Benchmarks: run `python benchmarks/run.py` from the repository root."""
