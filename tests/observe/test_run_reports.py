"""result.json schema, JUnit XML (validated against JUnit.xsd), Markdown summary; no secret in any."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from observe_secrets import MULTI, PLAIN, WEIRD, embeddings, leaks
from sample_result import sample_result

from runner.observe.report import append_github_summary, junit_xml, markdown_summary, validate_result

XSD = xmlschema.XMLSchema(Path(__file__).with_name("JUnit.xsd"))


def test_sample_result_is_valid():
    assert validate_result(sample_result()) == []
    assert validate_result(json.loads(json.dumps(sample_result(PLAIN)))) == []


@pytest.mark.parametrize(("breakage", "where"), [
    (lambda r: r.pop("runId"), "$"),
    (lambda r: r.update(status="done"), "$.status"),
    (lambda r: r.update(startedAt="yesterday"), "$.startedAt"),
    (lambda r: r["steps"][0].update(status="ok"), "$.steps[0].status"),
    (lambda r: r["steps"][0].update(confidence=1.5), "$.steps[0].confidence"),
    (lambda r: r["steps"][1]["attempts"][0].update(errorKind="oops"), "$.steps[1].attempts[0].errorKind"),
    (lambda r: r["steps"][1].update(error={"kind": "crash"}), "$.steps[1].error"),
    (lambda r: r["agents"][0].update(source="somewhere"), "$.agents[0].source"),
    (lambda r: r.update(extra=1), "$"),
    (lambda r: r.update(schemaVersion=2), "$.schemaVersion"),
])
def test_broken_results_are_refused(breakage, where):
    result = sample_result()
    breakage(result)
    errors = validate_result(result)
    assert errors and any(e.startswith(where + ":") for e in errors), errors


def test_junit_validates_and_describes_each_step(redactor):
    xml = junit_xml(sample_result(), redactor)
    XSD.validate(xml)
    root = ET.fromstring(xml)
    suite = root.find("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("skipped")) == \
        ("code-review", "3", "1", "1")
    assert suite.get("timestamp") == "2026-11-25T14:00:00" and suite.get("time") == "9.000"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == ["lint", "test", "deploy"]
    assert all(c.get("classname") == "code-review" for c in cases.values())
    assert cases["lint"].get("time") == "2.000" and len(cases["lint"]) == 1  # only system-out
    failure = cases["test"].find("failure")
    assert failure.get("type") == "crash"
    assert failure.get("message").startswith("all 2 attempts failed <&>")
    assert "attempt 1 on a1: failed (timeout) no answer in 2 s" in failure.text
    assert "\x1b" not in xml
    assert cases["deploy"].find("skipped") is not None
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert (props["usage.input_tokens"], props["usage.cost_usd"], props["usage.lint.input_tokens"]) == \
        ("30", "0.01", "30")


def test_junit_of_a_run_that_failed_outside_steps():
    result = sample_result()
    result.update(status="error", error={"kind": "infrastructure", "message": "docker is not running"},
                  steps=[])
    xml = junit_xml(result)
    XSD.validate(xml)
    case = ET.fromstring(xml).find("testsuite/testcase")
    assert case.get("name") == "(run)" and case.find("error").get("type") == "infrastructure"


def test_markdown_summary_has_a_row_per_step():
    md = markdown_summary(sample_result())
    assert md.startswith("### ❌ runner: code-review failed")
    rows = [line for line in md.splitlines() if line.startswith("| ")][1:]
    assert rows[0] == "| lint | ✅ succeeded | pass \\| ok | 0.90 | pass 2 · fail 1 (66%) | 2.000 s | 30 | $0.0100 |"
    assert rows[1].startswith("| test | ❌ failed | – | – | – | 5.000 s | – | – |")
    assert " · 30 tokens · $0.0100\n" in md  # the run's usage in the headline
    assert rows[2].startswith("| deploy | ⏭️ skipped |")
    assert "- `test` (crash): all 2 attempts failed" in md


def test_github_summary_is_appended(tmp_path):
    target = tmp_path / "summary.md"
    target.write_text("before\n")
    assert append_github_summary(sample_result(), environ={"GITHUB_STEP_SUMMARY": str(target)}) == target
    assert target.read_text().startswith("before\n### ❌ runner: code-review")
    assert append_github_summary(sample_result(), environ={}) is None


@pytest.mark.parametrize("secret", [e for s in (PLAIN, MULTI, WEIRD) for e in embeddings(s)])
def test_no_secret_in_any_report(redactor, secrets, secret):
    result = sample_result(secret)
    cleaned = redactor.redact_obj(result)
    assert validate_result(cleaned) == []
    for text in (junit_xml(result, redactor), markdown_summary(result, redactor), json.dumps(cleaned)):
        assert not leaks(text, secrets)
    # XML and JSON decoders restore escapes: the decoded texts must be clean too.
    assert not leaks(json.dumps(json.loads(json.dumps(cleaned)), ensure_ascii=False), secrets)
    root = ET.fromstring(junit_xml(result, redactor))
    assert not leaks(" ".join(root.itertext()), secrets)
    assert not leaks(" ".join(v for e in root.iter() for v in e.attrib.values()), secrets)


def test_the_leak_check_itself_finds_unredacted_secrets(secrets):
    # Without the run's redactor the outputs hold the secrets: the checks above can fail.
    for secret in (PLAIN, MULTI, WEIRD):
        for embedded in embeddings(secret):
            result = sample_result(embedded)
            assert leaks(markdown_summary(result) + junit_xml(result) + json.dumps(result), [secret]), embedded
