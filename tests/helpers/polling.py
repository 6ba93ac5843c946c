"""The tests' one way to wait: on a condition, polled, with a deadline (never a sleep to pass)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def poll(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition",
         interval: float = 0.02) -> Any:
    """``predicate()``'s first truthy value; fails the test after ``timeout`` seconds without one."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
