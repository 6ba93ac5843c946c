"""Warm pools: agents started ahead of need by ``runner pool up`` (see ``docs/lifecycle.md``)."""
