"""A tiny package the quality-gate example checks."""

from calc.core import add, mean

__all__ = ["add", "mean"]
