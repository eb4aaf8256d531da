"""The pytest plugin, through pytester: ``pytest --submission FILE`` runs the grading checks.

The plugin is loaded explicitly with ``-p gradcheck.pytest_plugin`` and entry-point
autoloading is disabled, so these tests behave the same whether or not the package is
installed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gradcheck.grading.checks import CHECKS

SUBS = Path(__file__).resolve().parent / "submissions"
N = len(CHECKS)


@pytest.fixture
def run(pytester, monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

    def go(*args):
        return pytester.runpytest("-p", "gradcheck.pytest_plugin", "-p", "no:cacheprovider", *args)

    return go


def test_without_submission_the_plugin_does_nothing(pytester, run):
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = run("-v")
    result.assert_outcomes(passed=1)
    # no header, no item, no summary: every line the plugin writes starts with "gradcheck"
    # (paths may contain the word, e.g. a virtualenv named gradcheck-ci-venv)
    assert not [line for line in result.stdout.lines if line.startswith("gradcheck")]
    assert "gradcheck scores" not in result.stdout.str()


def test_a_correct_submission_passes_every_check(run):
    result = run("--submission", str(SUBS / "correct" / "sigmoid.py"), "-v")
    result.assert_outcomes(passed=N)
    result.stdout.fnmatch_lines(
        [
            "gradcheck: 1 submission(s), contract ftml, activation detected, seed 0*",
            "*sigmoid.py::grad_w_h_values PASSED*",
            "*gradcheck scores*",
            "sigmoid.py*graded*100/100*",
        ]
    )


def test_a_buggy_submission_fails_the_right_checks_with_the_diagnosis(run, tmp_path):
    xml = tmp_path / "junit.xml"
    result = run(
        "--submission",
        str(SUBS / "buggy" / "sign_flip.py"),
        "--submission-seed",
        "3",
        f"--junitxml={xml}",
        "-m",
        "gradcheck",
    )
    result.assert_outcomes(failed=5, passed=N - 5)
    out = result.stdout.str()
    assert "seed 3 (replay: --submission-seed=3)" in out
    assert "diagnosis: sign_flipped" in out and "y − ŷ instead of ŷ − y" in out
    assert "grad_theta_values: 0/20" not in out and "∇θ: values (reference intermediates): 0/20" in out
    props = {
        (tc.get("name"), p.get("name")): p.get("value")
        for tc in ET.parse(xml).iter("testcase")
        for p in tc.iter("property")
    }
    assert props[("grad_theta_values", "score")] == "0.0" and props[("imports", "score")] == "5.0"


def test_options_reach_the_grader(run):
    result = run(
        "--submission", str(SUBS / "correct" / "sigmoid.py"), "--submission-activation", "relu", "-k", "forward_values"
    )
    result.assert_outcomes(failed=1, deselected=N - 1)
    assert "activation relu" in result.stdout.str()


def test_a_missing_or_hostile_submission_fails_closed(run):
    result = run(
        "--submission",
        str(SUBS / "missing.py"),
        "--submission",
        str(SUBS / "hostile" / "infinite_loop.py"),
        "--submission-timeout",
        "1",
    )
    result.assert_outcomes(failed=2 * N)
    out = result.stdout.str()
    assert "no such submission file" in out and "submission status: timeout" in out


# ------------------------------------------------------- trust boundary (issue 10, finding 3)
MARKER_CODE = """
import os

try:  # benign probe: outside the sandbox this marks the folder pytest collects
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "IMPORTED.marker"), "a") as fh:
        fh.write(__file__ + "\\n")
except OSError:
    pass
"""


@pytest.fixture
def run_subprocess(pytester, monkeypatch):
    """pytest in a fresh process, so that a failure of the plugin's boundary (an import of the
    submission) could never happen in this test process."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

    def go(*args):
        return pytester.runpytest_subprocess("-p", "gradcheck.pytest_plugin", "-p", "no:cacheprovider", *args)

    return go


def test_a_submission_in_the_collected_tree_is_never_imported_by_pytest(pytester, run_subprocess):
    names = ["subs/test_student.py", "subs/conftest.py", "conftest.py", "test_student.py"]
    for name in names:  # each one pytest would import: by collection, or as a conftest (initial or found)
        path = pytester.path / name
        path.parent.mkdir(exist_ok=True)
        path.write_text((SUBS / "correct" / "sigmoid.py").read_text() + MARKER_CODE)
    pytester.makepyfile(test_course="def test_course():\n    assert True\n")
    result = run_subprocess(*(f"--submission={pytester.path / name}" for name in names), "-v")
    markers = list(pytester.path.rglob("*.marker"))
    assert markers == [], [m.read_text() for m in markers]  # imported outside the sandbox
    result.assert_outcomes(passed=len(names) * N)  # graded in the sandbox: full marks, and nothing else ran
    assert "test_course" not in result.stdout.str()


@pytest.mark.parametrize("where", ["repository root", "elsewhere"])
def test_from_anywhere_only_the_submissions_items_run(tmp_path, where):
    repo = Path(__file__).resolve().parents[1]
    cwd = repo if where == "repository root" else tmp_path
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONPATH=str(repo))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "gradcheck.pytest_plugin", "-p", "no:cacheprovider", "-q"]
        + ["--submission", os.path.relpath(SUBS / "correct" / "sigmoid.py", cwd)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert re.fullmatch(rf"=* ?{N} passed in [\d.]+s ?=*", last), proc.stdout[-3000:]


def test_positional_test_paths_are_refused_with_a_submission(run):
    result = run("--submission", str(SUBS / "correct" / "sigmoid.py"), str(SUBS))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--submission runs only the submission's checks*"])


# ------------------------------------------------ hostile text (issue 10, finding 5)
def test_hostile_names_and_messages_reach_the_terminal_flattened(pytester, run_subprocess, tmp_path):
    name = "\x1b]52;c;cHduZWQ=\x07\x1b[2J\n## forged\x9b.py"
    path = pytester.path / name
    path.write_bytes((SUBS / "hostile" / "report_injection.py").read_bytes())
    xml = tmp_path / "junit.xml"
    result = run_subprocess("--submission", str(path), "-v", "-rA", "--color=no", f"--junitxml={xml}")
    out = result.stdout.str() + result.stderr.str()
    # only "imports" passes: compute_gradients always raises, so the checks that observe a completed
    # call ("inputs not mutated", "same result twice") are not run and earn nothing
    result.assert_outcomes(passed=1, failed=N - 1)
    bad = re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]", out)
    assert bad is None, repr(out[max(bad.start() - 80, 0) : bad.end() + 80])
    assert not [line for line in out.splitlines() if line.startswith(("## ", "**Score", "<script", "```"))]
    assert "<script>" in out  # shown, as text on one line of the failure
    assert "\x1b" not in xml.read_text(encoding="utf-8") and "\x07" not in xml.read_text(encoding="utf-8")
