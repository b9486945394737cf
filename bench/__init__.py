"""Benchmark harness comparing the relay with nginx and a minimal Python proxy."""
