"""runner: run AI coding agents from declarative YAML patterns and pools."""

__version__ = "0.1.0"
