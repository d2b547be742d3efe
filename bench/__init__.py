"""Benchmark harness: the pipeline vs the engine's limit vs a pandas baseline (see BENCHMARKS.md)."""
