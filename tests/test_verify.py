"""`gradcheck verify`, the property runner, and the seed the test suite prints."""

import json
import types
from pathlib import Path

from gradcheck.checking.properties import PROPERTIES, by_name
from gradcheck.checking.runner import run_property
from gradcheck.checking.verify import verify
from gradcheck.cli.main import main
from gradcheck.model import formulas

ROOT = Path(__file__).resolve().parents[1]


def _off_by(factor):
    F = types.SimpleNamespace(**{k: getattr(formulas, k) for k in formulas.__all__})
    F.grad_w_h = lambda f, y, theta, **kw: formulas.grad_w_h(f, y, theta, **kw) * factor
    return F


def test_runner_passes_the_real_formulas_and_is_deterministic():
    prop = by_name("grad_w_h vs autodiff")
    a = run_property(prop, formulas, hidden="tanh", output="identity", examples=20, seed=3)
    b = run_property(prop, formulas, hidden="tanh", output="identity", examples=20, seed=3)
    assert a.passed and a.failure is None and a.examples == 20
    assert a == b


def test_runner_kills_a_one_in_a_million_error_and_shrinks_it():
    run = run_property(
        by_name("grad_w_h vs autodiff"), _off_by(1 + 1e-6), hidden="sigmoid", output="sigmoid", examples=50, seed=0
    )
    assert not run.passed
    f = run.failure
    assert f.worst.startswith("w_h[") and f.example_index >= 1
    assert f.problem["d"] == 1 and f.problem["m"] == 1  # shrunk to the smallest network


def test_verify_report_and_cli(tmp_path, capsys):
    report = verify(activation_names=["relu", "identity"], examples=2, seed=1)
    assert report.passed and len(report.checks) == len(PROPERTIES) and report.checks[0].examples == 8
    code = main(["verify", "--activations", "sigmoid", "--examples", "2", "--out", str(tmp_path)])
    assert code == 0
    data = json.loads((tmp_path / "verify.json").read_text())
    assert data["passed"] is True and data["seed"] == 0
    check = data["checks"][0]
    assert {"name", "equation", "oracle", "examples", "max_rel_error", "passed"} <= set(check)
    assert "| check | equation | oracle | examples | max rel error | verdict |" in (tmp_path / "verify.md").read_text()
    assert "all checks agree" in capsys.readouterr().out


def test_verify_fails_wrong_formulas():
    report = verify(
        activation_names=["sigmoid"],
        examples=10,
        F=_off_by(1.01),
        properties=[by_name("grad_w_h vs autodiff"), by_name("grad_theta vs autodiff")],
    )
    assert not report.passed
    assert [c.passed for c in report.checks] == [False, True]


def test_the_suite_prints_and_honours_its_seed(pytester):
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makepyfile("""
        from hypothesis import given, strategies as st
        seen = []
        @given(st.integers())
        def test_draw(i):
            seen.append(i)
        def test_record():
            open("draws.txt", "a").write(repr(seen[:20]) + "\\n")
    """)
    runs = [pytester.runpytest("--hypothesis-seed=123", "-p", "no:randomly") for _ in range(2)]
    for r in runs:
        r.assert_outcomes(passed=2)
        r.stdout.fnmatch_lines(["gradcheck: hypothesis profile * seed 123 (replay: --hypothesis-seed=123)"])
    first, second = (pytester.path / "draws.txt").read_text().splitlines()
    assert first == second
