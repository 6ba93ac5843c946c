"""The HTML run report opened in real headless Chromium (over the DevTools protocol): reports of
a passing run, a failed run with retries, a race and a vote, made by `runner apply --html` with
real `command` agents. Checked from the page itself: no console error and no request but the
file, one DAG node per step in its final state, one timeline bar per attempt with its outcome,
the vote table, hostile answers shown as text; screenshots at two widths are not blank."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser import CHROMIUM, Browser, png_variance
from report_runs import HOSTILE, make_run

pytestmark = [pytest.mark.pty, pytest.mark.browser]

KINDS = ("pass", "retry", "race", "vote")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    return {kind: make_run(folder, kind)[:2] for kind in KINDS}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("chromium is missing: run `bash .ci/setup-chromium.sh` (make test does)")
    with Browser() as b:
        yield b


def js_list(page, selector: str, *attrs: str):
    fields = ", ".join(f"e.getAttribute('{a}')" for a in attrs)
    return page.eval(f"Array.from(document.querySelectorAll({selector!r})).map(e => [{fields}])")


@pytest.mark.parametrize("kind", KINDS)
def test_report_in_the_browser_matches_the_run(kind, reports, browser):
    path, result = reports[kind]
    page = browser.open(path)
    assert page.errors == []
    assert page.requests == [path.resolve().as_uri()]  # no network: every asset is inline
    # one DAG node per step, in the state the result records
    nodes = js_list(page, "svg.dag .node", "data-step", "data-state")
    assert sorted(map(tuple, nodes)) == sorted((s["id"], s["status"]) for s in result["steps"])
    # one bar per attempt, coloured by its outcome, in the row of its agent
    bars = js_list(page, ".timeline .bar", "data-agent", "data-step", "data-outcome")
    attempts = [(a["agentId"], s["id"], a["status"]) for s in result["steps"] for a in s["attempts"]]
    assert sorted(map(tuple, bars)) == sorted(attempts)
    lanes = page.eval("Array.from(document.querySelectorAll('.timeline .lane')).map(e => "
                      "[e.dataset.agent, e.querySelectorAll('.bar').length])")
    assert sorted(map(tuple, lanes)) == sorted({(a, sum(1 for x in attempts if x[0] == a)) for a, _, _ in attempts})
    assert page.eval("document.getElementById('run-state').dataset.state") == result["status"]
    for width in (1280, 420):
        shot = page.screenshot(width, scale=0.25)
        assert png_variance(shot) > 100, f"a blank screenshot at {width}px"


def test_the_vote_table_shows_votes_weights_and_the_winner(reports, browser):
    page = browser.open(reports["vote"][0])
    rows = page.eval("Array.from(document.querySelectorAll('table.votes tbody tr')).map(r => "
                     "[r.cells[0].textContent, r.cells[1].textContent, r.classList.contains('winner')])")
    assert rows == [["yes", "2", True], ["no", "1", False]]
    weights = page.eval("Array.from(document.querySelectorAll('table.weights tbody tr')).map(r => r.cells[0].textContent)")
    assert sorted(weights) == ["nay", "yes-a", "yes-b"]
    assert "majority: 2 of 3 votes for 'yes'" in page.eval("document.querySelector('p.why').textContent")
    answers = page.eval("Array.from(document.querySelectorAll('tr.answer')).map(r => [r.dataset.agent, r.cells[4].textContent])")
    assert sorted(map(tuple, answers)) == [("nay", "0.60"), ("yes-a", "0.90"), ("yes-b", "0.80")]


def test_retries_and_failures_are_all_shown(reports, browser):
    page = browser.open(reports["retry"][0])
    failures = page.eval("Array.from(document.querySelectorAll('ul.failures li')).map(e => e.textContent)")
    assert sum("the disk is full" in f for f in failures) >= 4  # the step's error and each of 3 attempts
    outcomes = page.eval("Array.from(document.querySelectorAll('.bar')).map(e => e.dataset.attempt + e.dataset.outcome)")
    assert outcomes == ["1failed", "2failed", "3failed"]


def test_a_race_shows_the_loser_cancelled(reports, browser):
    page = browser.open(reports["race"][0])
    bars = dict(map(tuple, js_list(page, ".bar", "data-agent", "data-outcome")))
    assert bars == {"fast": "ok", "slow": "cancelled"}


def test_html_in_an_answer_and_a_task_is_text_never_markup(reports, browser):
    page = browser.open(reports["pass"][0])
    assert page.eval("document.getElementById('pwn') === null && document.querySelectorAll('img, script').length")\
        == 0
    assert page.eval("typeof window.pwned") == "undefined"
    texts = page.eval("Array.from(document.querySelectorAll('pre.task, pre.output')).map(e => e.textContent)")
    assert HOSTILE in texts  # the task as sent, and the answer that echoed it, as the characters they are
    assert page.errors == []


def test_the_blank_check_can_fail(tmp_path, browser):
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body style='background:#fff'></body></html>")
    page = browser.open(blank)
    assert png_variance(page.screenshot(1280, scale=0.25)) < 1
