"""Benchmarks of the book's training loops (``make benchmark``)."""
