"""Loopback servers used by the test-suite and benchmarks."""
