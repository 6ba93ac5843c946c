"""Bearer-token auth and TLS settings for both protocols.

The token comes from an environment variable or a file the pool names
(``auth: {tokenEnv: NAME}`` / ``{tokenFile: PATH}``, plus optional ``caFile`` for TLS); it
is never put on a command line, and ``repr`` hides it so it cannot reach a log by accident.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import ConfigurationError


@dataclass(frozen=True, kw_only=True)
class AuthConfig:
    """What a client sends (``token``) and trusts (``ca_file``: PEM for https:// / grpcs://)."""

    token: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    @classmethod
    def from_pool(cls, auth: Mapping[str, Any], environ: Mapping[str, str] | None = None,
                  base: Path | None = None) -> AuthConfig | None:
        """Build from a pool's ``auth`` mapping; None when the pool sets none.

        ``base`` is the folder relative file paths are read from (the pool file's folder).
        """
        if not auth:
            return None
        environ = os.environ if environ is None else environ
        token = None
        if auth.get("tokenEnv"):
            name = str(auth["tokenEnv"])
            if name not in environ:
                raise ConfigurationError(f"pool auth: environment variable {name} (tokenEnv) is not set")
            token = environ[name]
        elif auth.get("tokenFile"):
            token = read_token_file(_resolve(str(auth["tokenFile"]), base), "pool auth tokenFile")
        ca = _resolve(str(auth["caFile"]), base) if auth.get("caFile") else None
        return cls(token=token, ca_file=str(ca) if ca else None)


def _resolve(path: str, base: Path | None) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() or base is None else base / p


def read_token_file(path: Path | str, what: str = "token file") -> str:
    """The token in ``path`` (surrounding whitespace stripped); the message never shows it."""
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"{what} {path}: cannot read it ({exc.strerror})") from exc
    if not token:
        raise ConfigurationError(f"{what} {path} is empty")
    return token


def bearer(token: str | None) -> str | None:
    return f"Bearer {token}" if token else None


def authorized(expected: str | None, header: str | None) -> bool:
    """Whether an ``Authorization`` header value carries the expected token (constant time)."""
    if not expected:
        return True
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), expected.encode())
