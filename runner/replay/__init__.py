"""Record & replay: cassettes of agent exchanges (``runner apply --record/--replay``)."""
