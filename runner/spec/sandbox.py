"""The Jinja sandbox templates render in: bounded in size, and stoppable while it runs.

Templates come from files that may be shared, and Jinja folds constant expressions when it
compiles (``runner validate`` compiles every template), so a template must not be able to take
gigabytes or run for ever. ``BoundedSandbox`` adds to Jinja's ``SandboxedEnvironment`` (which
already refuses Python internals and ``range`` of more than 100,000 items):

- sizes: ``*``, ``+``, ``%`` and ``**``, ``~`` (concatenation), string methods and filters
  (``center``, ``join``, ``replace``, ``format``...) refuse to build a string or list of more than
  ``MAX_SIZE`` items or an integer of more than ``MAX_INT_BITS`` bits, before building it; a
  rendered text longer than ``MAX_SIZE`` is refused too.
- stopping: ``render`` / ``evaluate`` take a ``stop`` event (the run's: set on SIGTERM, SIGINT,
  the run's timeout, fail-fast). Every loop iteration, call, attribute or item access and output
  chunk checks it and raises ``Stopped``: checks in the template's own operations, because a
  thread cannot be interrupted from outside and a loop can run for ever without calling anything.

Why cooperative checks and not a worker thread the executor abandons: an abandoned render keeps
its CPU and memory until the process exits, and with ``concurrency`` renders at once that is
the machine. The checks cost one attribute read per operation.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import Environment, nodes
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

from runner.errors import FailureKind, StepFailed

MAX_SIZE = 10_000_000  # characters or items of one value, and of a rendered text
MAX_INT_BITS = 100_000  # ~30,000 digits: beyond, arithmetic and printing get slow
_NUMBER = re.compile(r"\d+")


class Stopped(StepFailed):  # noqa: N818 - it is not an error: the run asked rendering to stop
    """Rendering stopped because the run is stopping (signal, timeout, fail-fast): the step is
    ``cancelled``."""

    def __init__(self, message: str) -> None:
        super().__init__(FailureKind.CANCELLED, message)


class TooLarge(ValueError):
    """A template would build a value past the sandbox's limits."""


_local = threading.local()  # .stop: the Event of the render running on this thread, if any


def check() -> None:
    """Raise ``Stopped`` when the render on this thread was asked to stop."""
    stop = getattr(_local, "stop", None)
    if stop is not None and stop.is_set():
        raise Stopped("stopped while rendering a template: the run is stopping")


class stopping_on:  # noqa: N801 - used as `with stopping_on(event):`
    """Make ``check`` (and so every template operation) on this thread watch ``stop``."""

    def __init__(self, stop: threading.Event | None) -> None:
        self.stop = stop

    def __enter__(self) -> None:
        self.previous = getattr(_local, "stop", None)
        _local.stop = self.stop

    def __exit__(self, *exc: object) -> None:
        _local.stop = self.previous


def join_bounded(chunks: Iterable[str]) -> str:
    """``"".join(chunks)``, checking ``stop`` and the size after each chunk."""
    out: list[str] = []
    size = 0
    for chunk in chunks:
        check()
        size += len(chunk)
        if size > MAX_SIZE:
            raise TooLarge(f"the rendered text is longer than {MAX_SIZE:,} characters")
        out.append(chunk)
    return "".join(out)


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


def _ensure(size: int, what: str) -> None:
    if size > MAX_SIZE:
        raise TooLarge(f"{what} would have {size:,} items or characters (at most {MAX_SIZE:,})")


def _ensure_format(fmt: Any) -> None:
    """A printf or ``str.format`` width or precision past MAX_SIZE (``%999999999d``)."""
    if isinstance(fmt, str) and any(len(n) > 7 and int(n) > MAX_SIZE for n in _NUMBER.findall(fmt)):
        raise TooLarge(f"a width or precision in the format is more than {MAX_SIZE:,}")


def _ensure_args(args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_SIZE:
            raise TooLarge(f"the number {arg if arg.bit_length() < 64 else 'given'} is too large here "
                           f"(at most {MAX_SIZE:,})")


def _ensure_join(sep: Any, items: Any) -> None:
    if isinstance(items, list | tuple):
        sizes = [len(x) if isinstance(x, str) else 20 for x in items]
        _ensure(sum(sizes) + len(str(sep)) * max(0, len(sizes) - 1), "the joined text")


def _ensure_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        n = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            n = min(n, count)
        _ensure(len(text) + n * (len(new) - len(old)), "the replaced text")


def _guard_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)  # keeps Jinja's pass_context / pass_environment marks
    def guarded(*args: Any, **kwargs: Any) -> Any:
        check()
        values = [a for a in args if not isinstance(a, _PASSED)]  # the value, then the filter's arguments
        _ensure_args([*values[1:], *kwargs.values()])
        if name == "join" and values:
            _ensure_join(kwargs.get("d", values[1] if len(values) > 1 else ""), values[0])
        elif name == "replace" and len(values) >= 3:
            _ensure_replace(*values[:4])
        elif name == "format" and values:
            _ensure_format(values[0])
        return fn(*args, **kwargs)

    return guarded


_PASSED = (Context, nodes.EvalContext, Environment)  # what pass_context & co. put before the value


class _Bounded(NodeTransformer):
    """Compile-time rewrite: each ``for`` iterates through ``environment.tick_iter`` (so a loop
    that calls nothing still checks ``stop``) and ``a ~ b`` goes through ``environment.concat_bounded``."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802 - NodeTransformer's naming
        self.generic_visit(node)
        node.iter = nodes.Call(nodes.EnvironmentAttribute("tick_iter"), [node.iter], [], None, None,
                               lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        return nodes.Call(nodes.EnvironmentAttribute("concat_bounded"), list(node.nodes), [], None, None,
                          lineno=node.lineno)


class BoundedSandbox(SandboxedEnvironment):
    """``SandboxedEnvironment`` with size limits and ``stop`` checks (see the module docstring)."""

    intercepted_binops = frozenset({"*", "+", "%", "**"})  # also keeps them out of constant folding

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _guard_filter(name, fn) for name, fn in self.filters.items()}

    def add_filter(self, name: str, fn: Callable[..., Any]) -> None:
        """Register a filter behind the same guard as the built-in ones."""
        self.filters[name] = _guard_filter(name, fn)

    def _generate(self, source: nodes.Template, *args: Any, **kwargs: Any) -> str:
        return super()._generate(_Bounded().visit(source), *args, **kwargs)

    @staticmethod
    def tick_iter(iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            check()
            yield item

    @staticmethod
    def concat_bounded(*parts: Any) -> str:
        texts = [str(p) for p in parts]
        _ensure(sum(map(len, texts)), "the concatenated text")
        return "".join(texts)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check()
        ls, rs = _size(left), _size(right)
        if operator == "*":
            if ls is not None and isinstance(right, int):
                _ensure(ls * max(right, 0), "the repeated value")
            elif rs is not None and isinstance(left, int):
                _ensure(rs * max(left, 0), "the repeated value")
            elif isinstance(left, int) and isinstance(right, int):
                _ensure_bits(left.bit_length() + right.bit_length())
        elif operator == "+" and ls is not None and rs is not None:
            _ensure(ls + rs, "the joined value")
        elif operator == "%" and isinstance(left, str):
            _ensure_format(left)
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            _ensure_bits(left.bit_length() * max(right, 0))
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        check()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | list | tuple | dict):  # a method of a value: 'x'.center(...)
            _ensure_args([*args, *kwargs.values()])
            name = getattr(__obj, "__name__", "")
            if name == "join":
                _ensure_join(owner, args[0] if args else None)
            elif name == "replace" and len(args) >= 2:
                _ensure_replace(owner, *args[:3])
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        check()
        # In a mapping, a key wins over a method of the same name: `inputs.items` is the input
        # named `items`, not dict.items (Jinja tries the attribute first).
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        if attribute in ("format", "format_map") and isinstance(obj, str):
            _ensure_format(obj)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        check()
        return super().getitem(obj, argument)


def _ensure_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise TooLarge(f"the number would have more than {MAX_INT_BITS:,} bits")
