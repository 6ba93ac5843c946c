"""Resume and step caching: reuse what an earlier run already paid for (docs/execution.md "Resume").

Modules: ``fingerprint`` (what a step's answer depends on, hashed: computed for every step of
every run and journaled with its ``step_finished``), ``source`` (an earlier run's journal read
back strictly: which steps succeeded, with which fingerprint and record), ``reuse`` (the
executor's side: find a success of the same fingerprint, restore its record, journal it).
Only ``fingerprint`` is imported by a run that neither resumes nor has a ``cache: true`` step.
"""
