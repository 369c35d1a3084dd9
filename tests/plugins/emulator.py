"""Fixtures for this real part; filled in by its owner."""
