"""Benchmarks: accuracy drop, size, latency, end-to-end time and memory, float vs int8 (``python -m benchmarks``)."""
