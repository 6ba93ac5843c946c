"""OpenTelemetry spans for a run; free when tracing is off.

Tracing is on when ``OTEL_TRACES_EXPORTER`` names ``console`` or ``otlp``, or an OTLP endpoint
(``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, unless
``OTEL_SDK_DISABLED=true``. Only then is ``opentelemetry`` imported (the ``otel`` extra); the
SDK reads the other standard variables itself (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_EXPORTER_OTLP_*``, ``OTEL_BSP_*``, ``OTEL_PROPAGATORS``). Off, ``span()`` returns one
shared no-op object: no import, no allocation.

The executor's span tree::

    pattern-execution            pattern.name, run.id
    ├── select-agents            step.id, capabilities, agent.count
    ├── spawn-agent              agent.id, agent.type, runtime
    ├── execute-task             step.id, agent.id, confidence, duration_ms
    └── cleanup-agents           agent.count

``inject_headers`` puts the W3C ``traceparent`` into HTTP headers / gRPC metadata so an agent
server's spans (``with span("handle-task", context=extract(headers))``) join the run's trace.
String attributes, exception messages and stack traces are redacted (``set_redactor``) before
any exporter sees them.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from typing import IO, Any

from runner.errors import ConfigurationError
from runner.observe.redact import Redactor

PATTERN_EXECUTION = "pattern-execution"
SELECT_AGENTS = "select-agents"
SPAWN_AGENT = "spawn-agent"
EXECUTE_TASK = "execute-task"
CLEANUP_AGENTS = "cleanup-agents"
# Python keywords cannot hold dots: ``agent_id=`` becomes the attribute ``agent.id``.
ATTRIBUTE_ALIASES = {"agent_count": "agent.count", "agent_type": "agent.type", "agent_id": "agent.id",
                     "run_id": "run.id", "step_id": "step.id", "pattern_name": "pattern.name",
                     "error_kind": "error.kind"}

_lock = threading.Lock()
_state: dict[str, Any] = {"provider": None, "tracer": None, "configured": False, "redactor": Redactor()}


def set_redactor(redactor: Redactor) -> None:
    """Redact span attributes and recorded exceptions with the run's secrets (exporters send them away)."""
    _state["redactor"] = redactor


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the standard ``OTEL_*`` variables ask for traces."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    exporters = {e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",") if e.strip()}
    if exporters & {"console", "otlp"}:
        return True
    if exporters == {"none"}:
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def _attrs(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """OpenTelemetry-valid attributes: None dropped, sequences as lists of str, dicts as JSON."""
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        key = ATTRIBUTE_ALIASES.get(key, key)
        if isinstance(value, (list, tuple, set, frozenset)):
            value = [str(v) for v in value]
        elif isinstance(value, Mapping):
            value = json.dumps(value, default=str, sort_keys=True)
        elif not isinstance(value, (str, bool, int, float)):
            value = str(value)
        out[key] = _state["redactor"].redact_obj(value) if isinstance(value, (str, list)) else value
    return out


class Span:
    """What ``span()`` yields: set attributes later (``s.set(confidence=0.9)``), or no-op."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any = None) -> None:
        self.raw = raw  # the opentelemetry span, None when tracing is off

    def set(self, **attributes: Any) -> None:
        if self.raw is not None:
            self.raw.set_attributes(_attrs(attributes))

    def error(self, kind: str, message: str = "") -> None:
        """Mark the span failed (an attempt's failure the executor handled without raising)."""
        if self.raw is not None:
            from opentelemetry.trace import Status, StatusCode  # lazy: optional extra [otel]

            self.raw.set_attributes({"error.kind": kind})
            self.raw.set_status(Status(StatusCode.ERROR, _state["redactor"].redact(message)))


_NOOP_SPAN = Span()
_NOOP_CM = contextlib.nullcontext(_NOOP_SPAN)


class _NoopRawSpan:
    """Stands in for an opentelemetry span when tracing is off (for code using ``tracer()``)."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None

    def is_recording(self) -> bool:
        return False

    def __enter__(self) -> _NoopRawSpan:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class NoopTracer:
    """What ``tracer()`` returns when tracing is off: the two tracer methods, doing nothing."""

    _span = _NoopRawSpan()

    def start_as_current_span(self, name: str, *args: Any, **kwargs: Any) -> _NoopRawSpan:
        return self._span

    def start_span(self, name: str, *args: Any, **kwargs: Any) -> _NoopRawSpan:
        return self._span


NOOP_TRACER = NoopTracer()


def configure(*, stream: IO[str] | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Set up the SDK from ``OTEL_*`` (once; ``tracer()`` calls it). ``stream``: console output.

    Returns whether tracing is on. A missing ``otel`` extra is a ``ConfigurationError``.
    """
    with _lock:
        if _state["configured"]:
            return _state["tracer"] is not None
        _state["configured"] = True
        env = os.environ if environ is None else environ
        if not enabled(env):
            return False
        try:
            from opentelemetry.sdk.resources import Resource  # lazy: optional extra [otel]
            from opentelemetry.sdk.trace import TracerProvider  # lazy: optional extra [otel]
            from opentelemetry.sdk.trace.export import (  # lazy: optional extra [otel]
                BatchSpanProcessor,
                ConsoleSpanExporter,
                SimpleSpanProcessor,
            )
        except ImportError as exc:
            raise ConfigurationError("OTEL_* asks for traces but OpenTelemetry is not installed: "
                                     "pip install 'runner[otel]'") from exc
        resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", "runner")})
        provider = TracerProvider(resource=resource)
        exporters = {e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",")}
        if not exporters & {"console", "otlp"}:
            exporters.add("otlp")  # only an endpoint was given
        if "console" in exporters:
            out = stream or sys.stderr
            # One compact JSON object per line, so the output can be read line by line.
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(
                out=out, formatter=lambda s: s.to_json(indent=None) + "\n")))
        if "otlp" in exporters:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # lazy: optional extra [otel]
                OTLPSpanExporter,
            )

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _state["provider"] = provider
        _state["tracer"] = provider.get_tracer("runner")
        return True


def tracer() -> Any:
    """The opentelemetry tracer of runner, or ``NOOP_TRACER`` when tracing is off."""
    if not _state["configured"]:
        configure()
    return _state["tracer"] or NOOP_TRACER


def span(name: str, *, context: Any = None, **attributes: Any) -> contextlib.AbstractContextManager[Span]:
    """A span as a context manager yielding a ``Span``; child of the current span (or ``context``).

    An exception leaving the block is recorded on the span and marks it failed.
    """
    if not _state["configured"]:
        configure()
    t = _state["tracer"]
    if t is None:
        return _NOOP_CM
    return _live_span(t, name, context, attributes)


@contextlib.contextmanager
def _live_span(t: Any, name: str, context: Any, attributes: Mapping[str, Any]) -> Iterator[Span]:
    # Exceptions are recorded here, redacted: their messages may quote a credential.
    with t.start_as_current_span(name, context=context, attributes=_attrs(attributes),
                                 record_exception=False, set_status_on_exception=False) as raw:
        try:
            yield Span(raw)
        except BaseException as exc:
            from opentelemetry.trace import Status, StatusCode  # lazy: optional extra [otel]

            redact = _state["redactor"].redact
            stack = "".join(traceback.format_exception(exc))
            raw.record_exception(exc, attributes={"exception.message": redact(str(exc)),
                                                  "exception.stacktrace": redact(stack)})
            raw.set_status(Status(StatusCode.ERROR, redact(f"{type(exc).__name__}: {exc}")))
            raise


def inject_headers(carrier: dict[str, str] | None = None) -> dict[str, str]:
    """Add the current trace context (``traceparent``, ``tracestate``) to ``carrier``; returns it.

    Use it for HTTP headers, and ``list(inject_headers().items())`` for gRPC metadata (the keys
    are lower case, as gRPC requires). Off: returns ``carrier`` unchanged.
    """
    carrier = {} if carrier is None else carrier
    if _state["tracer"] is not None:
        from opentelemetry import propagate  # lazy: optional extra [otel]

        propagate.inject(carrier)
    return carrier


def extract(carrier: Mapping[str, str] | Any) -> Any:
    """The remote parent context in HTTP headers or gRPC metadata (pairs), for ``span(context=)``."""
    if tracer() is NOOP_TRACER:
        return None
    from opentelemetry import propagate  # lazy: optional extra [otel]

    if not isinstance(carrier, Mapping):
        carrier = {str(k).lower(): v for k, v in carrier}
    return propagate.extract(carrier)


def shutdown() -> None:
    """Flush and stop exporting (the CLI calls it at exit); the next ``tracer()`` configures again."""
    with _lock:
        provider = _state["provider"]
        _state.update(provider=None, tracer=None, configured=False)
    if provider is not None:
        provider.shutdown()
