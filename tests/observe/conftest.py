"""Shared fixtures of the observe tests: the secrets every output must hide."""

from __future__ import annotations

import pytest

from runner.observe.redact import Redactor, from_environment

PLAIN = "s3cr3t-Value-0123456789"
MULTI = "-----BEGIN KEY-----\nMIIEpAIBAAKCAQEA1b2c3d4e5f6\nZm9vYmFyYmF6cXV4cXV1eA==\n-----END KEY-----"
WEIRD = 'p@ss "quoted" \\back/slash & more'


@pytest.fixture
def secrets() -> tuple[str, ...]:
    return (PLAIN, MULTI, WEIRD)


@pytest.fixture
def redactor(secrets) -> Redactor:
    environ = {"RUNNER_KEY": PLAIN, "RUNNER_PEM": MULTI, "RUNNER_PW": WEIRD, "HOME": "/root"}
    return from_environment({"KEY": "RUNNER_KEY", "PEM": "RUNNER_PEM", "PW": "RUNNER_PW"}, environ,
                            by_name=False)


def leaks(text: str, secrets) -> list[str]:
    """Every secret, or line of a multi-line one, still readable in ``text``."""
    found = []
    for secret in secrets:
        for piece in [secret, *secret.splitlines()]:
            if len(piece) >= 8 and "-----" not in piece and piece in text:
                found.append(piece)
    return found
