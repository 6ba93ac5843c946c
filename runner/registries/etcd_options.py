"""The pool options of an ``etcd`` registry: checked for diagnostics, then turned into settings.

::

    registries:
      - type: etcd
        endpoints: ["http://127.0.0.1:2379"]   # or one string "etcd://h1:2379,h2:2379"
        prefix: /runner/agents/
        ttl: 10                  # lease TTL (s) for agents registered on behalf of this pool
        timeout: 5s              # per request; an unreachable etcd fails within this per endpoint
        username: runner         # or usernameEnv: NAME
        passwordEnv: ETCD_PASSWORD
        tls: {ca: ca.pem, cert: client.pem, key: client-key.pem}

A password is never written in the pool: only the name of the environment variable holding it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.errors import ConfigurationError
from runner.plugins import suggest
from runner.registries.etcd_client import DEFAULT_ENDPOINT, DEFAULT_PREFIX, EtcdClient, TLSFiles

KNOWN = ("endpoints", "prefix", "ttl", "timeout", "username", "usernameEnv", "passwordEnv", "tls")
TLS_KEYS = ("ca", "cert", "key")


def parse_duration(value: Any) -> float | None:
    """Seconds from ``5``, ``"500ms"``, ``"5s"``, ``"1m"``; None when not a positive duration."""
    from runner.spec.units import parse_duration as parse

    try:
        seconds = parse(value)
    except (ValueError, TypeError):
        return None
    return seconds if seconds > 0 else None


def option_errors(options: Mapping[str, Any]) -> list[str]:
    """Every problem with an etcd registry's options, one message each."""
    errors: list[str] = []
    for key in options:
        if key not in KNOWN:
            hint = "keep the password in an environment variable and name it with `passwordEnv`"
            errors.append(
                f"`{key}`: " + (hint if key == "password" else f"unknown etcd option, {suggest(key, KNOWN)}")
            )
    endpoints = options.get("endpoints", DEFAULT_ENDPOINT)
    items = endpoints if isinstance(endpoints, list) else [endpoints]
    if not items or not all(isinstance(e, str) and e.strip() for e in items):
        errors.append("`endpoints`: expected a list of URLs like http://127.0.0.1:2379")
    prefix = options.get("prefix", DEFAULT_PREFIX)
    if not isinstance(prefix, str) or not prefix:
        errors.append("`prefix`: expected a non-empty key prefix like /runner/agents/")
    ttl = options.get("ttl", 10)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
        errors.append(f"`ttl`: expected a whole number of seconds >= 1, got {ttl!r}")
    if "timeout" in options and parse_duration(options["timeout"]) is None:
        errors.append(f"`timeout`: expected a duration like 5s or 500ms, got {options['timeout']!r}")
    for key in ("username", "usernameEnv", "passwordEnv"):
        if key in options and not (isinstance(options[key], str) and options[key]):
            errors.append(f"`{key}`: expected a non-empty string")
    if "passwordEnv" in options and not ("username" in options or "usernameEnv" in options):
        errors.append("`passwordEnv`: needs `username` (or `usernameEnv`) too")
    tls = options.get("tls")
    if tls is not None:
        if not isinstance(tls, Mapping):
            errors.append("`tls`: expected a mapping with `ca`, `cert`, `key`")
        else:
            errors += [
                f"`tls.{k}`: unknown TLS option, {suggest(k, TLS_KEYS)}" for k in tls if k not in TLS_KEYS
            ]
            if ("cert" in tls) != ("key" in tls):
                errors.append("`tls`: `cert` and `key` go together")
    return errors


@dataclass(frozen=True, kw_only=True)
class EtcdSettings:
    """Checked, resolved options (credentials looked up in the environment)."""

    endpoints: tuple[str, ...]
    prefix: str = DEFAULT_PREFIX
    ttl: int = 10
    timeout: float = 5.0
    username: str | None = None
    password: str | None = None
    tls: TLSFiles | None = None

    def client(self) -> EtcdClient:
        """An ``EtcdClient`` for these settings (it connects on its first request)."""
        return EtcdClient(
            list(self.endpoints),
            timeout=self.timeout,
            tls=self.tls,
            username=self.username,
            password=self.password,
        )


def settings_from(options: Mapping[str, Any], environ: Mapping[str, str]) -> EtcdSettings:
    """Settings from pool options; ConfigurationError on bad options or a missing variable."""
    errors = option_errors(options)
    if errors:
        raise ConfigurationError("etcd registry: " + "; ".join(errors))

    def from_env(key: str) -> str | None:
        name = options.get(key)
        if name is None:
            return None
        if name not in environ:
            raise ConfigurationError(f"etcd registry: `{key}` names ${name}, which is not set")
        return environ[name]

    endpoints = options.get("endpoints", DEFAULT_ENDPOINT)
    tls = options.get("tls")
    return EtcdSettings(
        endpoints=tuple(endpoints if isinstance(endpoints, list) else [endpoints]),
        prefix=options.get("prefix", DEFAULT_PREFIX),
        ttl=options.get("ttl", 10),
        timeout=parse_duration(options.get("timeout", 5.0)) or 5.0,
        username=options.get("username") or from_env("usernameEnv"),
        password=from_env("passwordEnv"),
        tls=TLSFiles(**{k: str(v) for k, v in tls.items()}) if tls else None,
    )
