"""The secrets every output of runner.observe must hide (shared by the observe tests)."""

from __future__ import annotations

import base64
import json
import urllib.parse

PLAIN = "s3cr3t-Value-0123456789"
MULTI = "-----BEGIN KEY-----\nMIIEpAIBAAKCAQEA1b2c3d4e5f6\nZm9vYmFyYmF6cXV4cXV1eA==\n-----END KEY-----"
WEIRD = 'p@ss "quoted" \\back/slash & more'


def embeddings(secret: str) -> list[str]:
    """Ways a secret ends up inside an output: as is, in JSON, URL-encoded."""
    return [secret, json.dumps({"token": secret, "nested": json.dumps({"v": secret})}),
            "https://example.com/cb?k=" + urllib.parse.quote(secret, safe="")]


def _forms(piece: str) -> set[str]:
    return {piece, json.dumps(piece)[1:-1], urllib.parse.quote(piece, safe=""), urllib.parse.quote_plus(piece),
            base64.b64encode(piece.encode()).decode().rstrip("=")[:-2]}


def leaks(text: str, secrets) -> list[str]:
    """Every secret, or line of a multi-line one, still readable in ``text`` (plain or encoded)."""
    found = []
    for secret in secrets:
        for piece in [secret, *secret.splitlines()]:
            if len(piece) < 8 or "-----" in piece:
                continue
            found += [form for form in _forms(piece) if len(form) >= 8 and form in text]
    return found
