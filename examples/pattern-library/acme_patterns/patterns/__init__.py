"""The pattern files of acme-patterns: ``pkg:acme-patterns/greet``, ``pkg:acme-patterns/shout``."""
