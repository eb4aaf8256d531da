"""Report writers: results.json, Markdown feedback, JUnit XML, Gradescope, terminal output."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest

from gradcheck.grading.checks import CHECKS, MAX_SCORE, CheckResult
from gradcheck.grading.grade import SubmissionResult
from gradcheck.reports.grading import (
    FORMATS,
    Progress,
    feedback_markdown,
    gradescope_json,
    junit_xml,
    results_json,
    summary_table,
    write_reports,
)


def make(path="subs/alice.py", status="graded", failed=("grad_w_h_values",), output="", diagnosis=None):
    checks = []
    for name, title, points, _ in CHECKS:
        bad = name in failed
        checks.append(
            CheckResult(
                name,
                title,
                points,
                points / 2 if bad else points,
                not bad,
                "3 of 16 failed; first: w_h[bias row, 0] <&> \x01" if bad else "ok",
                ("dl_dwh returned as a list (accepted)",) if bad else (),
            )
        )
    score = sum(c.score for c in checks)
    diagnosis = (
        (("bias_dropped_w_h", "it looks like x was used instead of x̄ = (x, 1), eq. (11)"),)
        if diagnosis is None
        else diagnosis
    )
    return SubmissionResult(
        path,
        status,
        score,
        MAX_SCORE,
        "relu,relu",
        "detected",
        tuple(checks),
        diagnosis,
        output,
        "" if status == "graded" else "wall-clock limit of 2 s exceeded; killed",
        "namespaces",
        "theta=flat,intermediates=row",
        ("a note",),
        0,
        0.42,
    )


def test_results_json_has_the_issue_schema():
    doc = json.loads(results_json([make(), make("subs/bob.py", "timeout", failed=[n for n, *_ in CHECKS])], seed=3))
    assert doc["seed"] == 3 and doc["contract"] == "ftml"
    a, b = doc["submissions"]
    assert {"path", "status", "score", "max_score", "activation", "checks", "diagnosis", "output"} <= set(a)
    assert a["score"] == MAX_SCORE - 10 and a["max_score"] == MAX_SCORE and a["activation"] == "relu,relu"
    assert {"name", "passed", "score", "message"} <= set(a["checks"][0])
    assert a["diagnosis"] == [{"mistake": "bias_dropped_w_h", "message": make().diagnosis[0][1]}]
    assert b["status"] == "timeout" and not any(c["passed"] for c in b["checks"])


def test_feedback_is_actionable_markdown():
    text = feedback_markdown(make(output="hello from the student\n"))
    assert "**Score: 90 / 100**" in text and "relu (hidden), relu (output)" in text
    assert "## What to fix" in text and "x̄ = (x, 1), eq. (11)" in text
    assert "## Failed checks" in text and "∇w_h: values" in text
    assert "hello from the student" in text and "| check | score | result |" in text
    timeout = feedback_markdown(make(status="timeout"))
    assert "ran past the time limit" in timeout and "What happened" in timeout
    assert "## What to fix" not in feedback_markdown(make(failed=(), diagnosis=()))


def test_junit_xml_parses_and_counts():
    text = junit_xml([make(), make("subs/bob.py", "crashed", failed=("imports", "deterministic"))])
    root = ET.fromstring(text.encode())
    suite = root.find("testsuite")
    assert suite.get("tests") == str(2 * len(CHECKS)) and suite.get("failures") == "1" and suite.get("errors") == "2"
    failure = next(iter(root.iter("failure")))
    assert "w_h[bias row, 0]" in failure.get("message") and "\x01" not in failure.get("message")
    assert {c.get("classname") for c in root.iter("testcase")} == {"gradcheck.alice", "gradcheck.bob"}


def test_gradescope_follows_the_documented_schema():
    doc = json.loads(gradescope_json(make()))
    assert doc["score"] == pytest.approx(sum(t["score"] for t in doc["tests"]))
    assert doc["output_format"] == "md" and doc["visibility"] == "visible" and "execution_time" in doc
    for i, test in enumerate(doc["tests"], 1):
        assert set(test) == {"name", "number", "score", "max_score", "status", "output", "output_format", "visibility"}
        assert test["status"] in ("passed", "failed") and test["number"] == str(i)
    failed = [t for t in doc["tests"] if t["status"] == "failed"]
    assert len(failed) == 1 and "accepted" in failed[0]["output"]


def test_summary_table_and_progress():
    table = summary_table([make(), make("subs/bob.py", "timeout")])
    assert "alice.py" in table and "timeout" in table and "2 submission(s), 1 graded" in table
    stream = io.StringIO()
    bar = Progress(stream, width=10)
    bar(1, 2, make())
    bar(2, 2, make("subs/bob.py"))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[#####.....] 1/2") and "alice.py 90/100 graded" in lines[0]
    assert lines[1].startswith("[##########] 2/2")


def test_write_reports_makes_unique_names(tmp_path):
    results = [make("a/alice.py"), make("b/alice.py"), make("c/b o b.py")]
    written = write_reports(results, tmp_path / "out", formats=FORMATS, seed=1)
    names = sorted(p.relative_to(tmp_path / "out").as_posix() for p in written)
    assert names == [
        "class.csv",
        "class.html",
        "feedback/a_alice.html",  # two alice.py: named by their relative paths
        "feedback/a_alice.md",
        "feedback/b_alice.html",
        "feedback/b_alice.md",
        "feedback/b_o_b.html",
        "feedback/b_o_b.md",
        "gradescope/a_alice.json",
        "gradescope/b_alice.json",
        "gradescope/b_o_b.json",
        "junit.xml",
        "results.json",
    ]
    only = write_reports(results[:1], tmp_path / "json", formats=("json",))
    assert [p.name for p in only] == ["results.json"]
