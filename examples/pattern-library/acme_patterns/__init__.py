"""acme-patterns: an example runner pattern library (the patterns are in ``patterns/``)."""
