"""Fixtures of the observe tests: the run's secrets and a redactor that knows them."""

from __future__ import annotations

import pytest
from observe_secrets import MULTI, PLAIN, WEIRD

from runner.observe.redact import Redactor, from_environment


@pytest.fixture
def secrets() -> tuple[str, ...]:
    return (PLAIN, MULTI, WEIRD)


@pytest.fixture
def redactor(secrets) -> Redactor:
    environ = {"RUNNER_KEY": PLAIN, "RUNNER_PEM": MULTI, "RUNNER_PW": WEIRD, "HOME": "/root"}
    return from_environment({"KEY": "RUNNER_KEY", "PEM": "RUNNER_PEM", "PW": "RUNNER_PW"}, environ,
                            by_name=False)
