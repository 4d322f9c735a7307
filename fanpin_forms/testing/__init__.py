"""Helpers for tests, benchmarks and the shipped samples: invented data only."""
