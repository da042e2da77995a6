"""Conbench: a continuous-benchmarking server."""

__version__ = "2026.11.0"
