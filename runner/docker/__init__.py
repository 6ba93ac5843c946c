"""Shared Docker plumbing: the client binary, python-on-whales clients, labels."""
