"""The pytest plugin, through pytester: ``pytest --submission FILE`` runs the grading checks.

The plugin is loaded explicitly with ``-p gradcheck.pytest_plugin`` and entry-point
autoloading is disabled, so these tests behave the same whether or not the package is
installed.
"""

from __future__ import annotations

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
