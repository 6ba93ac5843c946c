"""Runner's container images: recipes in ``images/`` of the source tree, built with the cache
keyed by a hash of each recipe (``runner.images.build``)."""
