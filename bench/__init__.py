"""Data generator and benchmarks at 10k / 100k / 1M leads (see bench/README.md)."""
