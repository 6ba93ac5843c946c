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
from runner.plugins import closed, described
from runner.plugins import option_errors as plugin_option_errors
from runner.registries.etcd_client import DEFAULT_ENDPOINT, DEFAULT_PREFIX, EtcdClient, TLSFiles
from runner.spec.units import DURATION_RE, parse_duration

_NAME = {"type": "string", "minLength": 1}
OPTIONS_SCHEMA = closed({
    "endpoints": described({"type": ["string", "array"], "items": {"type": "string", "minLength": 1}, "minItems": 1,
                            "minLength": 1, "x-expected": "a list of URLs like http://127.0.0.1:2379"},
                           "the cluster's client URLs, or one string etcd://h1:2379,h2:2379"),
    "prefix": described({"type": "string", "minLength": 1}, "where agents are registered (/runner/agents/)"),
    "ttl": described({"type": "integer", "minimum": 1}, "lease TTL (s) of agents registered for this pool (10)"),
    "timeout": described({"type": ["number", "string"], "exclusiveMinimum": 0, "pattern": DURATION_RE,
                          "x-expected": "a duration like 5s or 500ms"}, "per request and endpoint (5s)"),
    "username": described(_NAME, "etcd user"),
    "usernameEnv": described(_NAME, "the variable holding the etcd user"),
    "passwordEnv": described(_NAME, "the variable holding the password (never the password)"),
    "tls": described(closed({"ca": _NAME, "cert": _NAME, "key": _NAME},
                            dependentSchemas={k: {"required": [o], "x-message": "`cert` and `key` go together"}
                                              for k, o in (("cert", "key"), ("key", "cert"))}),
                     "files for https:// endpoints"),
}, dependentSchemas={"passwordEnv": {"anyOf": [{"required": ["username"]}, {"required": ["usernameEnv"]}],
                                     "x-message": "`passwordEnv` needs `username` (or `usernameEnv`) too"}})
"""The options of an ``etcd`` entry (``EtcdRegistry.options_schema``). A password is never an
option: ``password`` is an unknown key whose near miss is ``passwordEnv``."""


def option_errors(options: Mapping[str, Any]) -> list[str]:
    """Every problem with an etcd registry's options, one message each."""
    return plugin_option_errors(OPTIONS_SCHEMA, options)


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

    try:  # the schema checked its form; a value past the maximum is still refused here
        timeout = parse_duration(options.get("timeout", 5.0)) or 5.0
    except ValueError as exc:
        raise ConfigurationError(f"etcd registry: `timeout`: {exc}") from exc
    endpoints = options.get("endpoints", DEFAULT_ENDPOINT)
    tls = options.get("tls")
    return EtcdSettings(
        endpoints=tuple(endpoints if isinstance(endpoints, list) else [endpoints]),
        prefix=options.get("prefix", DEFAULT_PREFIX),
        ttl=options.get("ttl", 10),
        timeout=timeout,
        username=options.get("username") or from_env("usernameEnv"),
        password=from_env("passwordEnv"),
        tls=TLSFiles(**{k: str(v) for k, v in tls.items()}) if tls else None,
    )
