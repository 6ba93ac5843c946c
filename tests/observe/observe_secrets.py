"""The secrets every output of runner.observe must hide (shared by the observe tests)."""

from __future__ import annotations

PLAIN = "s3cr3t-Value-0123456789"
MULTI = "-----BEGIN KEY-----\nMIIEpAIBAAKCAQEA1b2c3d4e5f6\nZm9vYmFyYmF6cXV4cXV1eA==\n-----END KEY-----"
WEIRD = 'p@ss "quoted" \\back/slash & more'


def leaks(text: str, secrets) -> list[str]:
    """Every secret, or line of a multi-line one, still readable in ``text``."""
    found = []
    for secret in secrets:
        for piece in [secret, *secret.splitlines()]:
            if len(piece) >= 8 and "-----" not in piece and piece in text:
                found.append(piece)
    return found
