"""JSON logs parse line by line, carry the context fields, and never show a secret."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import threading

import pytest
from observe_secrets import MULTI, PLAIN, embeddings, leaks

from runner.observe.log import get_logger, log_context, setup_logging


@pytest.fixture
def out():
    yield io.StringIO()
    logger = logging.getLogger("runner")
    for handler in [h for h in logger.handlers if getattr(h, "runner_owned", False)]:
        logger.removeHandler(handler)
    logger.propagate = True


def records(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_lines_carry_context(out, redactor):
    setup_logging("json", "debug", redactor, out)
    log = get_logger("execute")
    with log_context(runId="r1", patternName="review"):
        log.info("run started")
        with log_context(stepId="lint", agentId="a1", runtime="local", type="command"):
            log.debug("attempt %d", 1, extra={"attempt": 1})
        log.warning("after step")
    log.error("outside")
    docs = records(out)
    assert [d["msg"] for d in docs] == ["run started", "attempt 1", "after step", "outside"]
    assert docs[1] | {"time": "T"} == {"level": "debug", "time": "T", "msg": "attempt 1", "logger": "runner.execute",
                                       "runId": "r1", "patternName": "review", "stepId": "lint", "agentId": "a1",
                                       "runtime": "local", "type": "command", "attempt": 1}
    assert "stepId" not in docs[2] and docs[2]["runId"] == "r1"
    assert "runId" not in docs[3]
    assert all(d["time"].endswith("Z") and d["time"][10] == "T" for d in docs)


def test_context_is_copied_into_worker_threads(out):
    setup_logging("json", "info", None, out)
    with log_context(run_id="r2", step_id="s"):
        ctx = contextvars.copy_context()
    t = threading.Thread(target=ctx.run, args=(get_logger().info, "from worker"))
    t.start()
    t.join()
    assert records(out)[0]["runId"] == "r2" and records(out)[0]["stepId"] == "s"


@pytest.mark.parametrize("fmt", ["json", "human"])
def test_no_secret_in_logs(out, redactor, secrets, fmt):
    setup_logging(fmt, "info", redactor, out)
    log = get_logger()
    with log_context(agentId="a1"):
        for secret in secrets:
            for embedded in embeddings(secret):
                log.info("agent said %s", embedded, extra={"detail": embedded})
        log.info("env %s", {"KEY": PLAIN})
        log.info("answer: %s", json.dumps({"out": MULTI}))
        log.info("pem\n%s", MULTI, extra={"detail": PLAIN})
        try:
            raise RuntimeError(f"refused key {PLAIN}")
        except RuntimeError:
            log.exception("failed")
    text = out.getvalue()
    assert not leaks(text, secrets)
    if fmt == "json":
        assert len(records(out)) == 13  # each record stays one line, even multi-line ones
        decoded = json.dumps(records(out), ensure_ascii=False)
        assert not leaks(decoded, secrets)  # nor once the JSON is decoded


def test_human_format_is_redacted_and_short(out, redactor, secrets):
    setup_logging("human", "info", redactor, out)
    with log_context(runId="r1", stepId="lint"):
        get_logger().info("key is %s", PLAIN)
    line = out.getvalue().strip()
    assert line.endswith("INFO    [r1 lint] key is ***")
    assert not leaks(line, secrets)


def test_default_is_json_when_not_a_tty(out):
    setup_logging(None, "info", None, out)
    setup_logging(None, "info", None, out)  # again: replaces, does not duplicate
    get_logger().info("x")
    assert records(out) == [records(out)[0]] and records(out)[0]["msg"] == "x"
    assert len([h for h in logging.getLogger("runner").handlers if getattr(h, "runner_owned", False)]) == 1


def test_bad_format_is_refused(out):
    with pytest.raises(ValueError):
        setup_logging("xml", "info", None, out)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_default_is_human_with_colours_on_a_terminal():
    term = FakeTerminal()
    try:
        setup_logging(None, "info", None, term)
        get_logger().warning("careful")
    finally:
        logger = logging.getLogger("runner")
        for handler in [h for h in logger.handlers if getattr(h, "runner_owned", False)]:
            logger.removeHandler(handler)
    assert term.getvalue().startswith("\x1b[33m") and "WARNING careful" in term.getvalue()
