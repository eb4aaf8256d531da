"""`gradcheck verify`, the property runner, and the seed the test suite prints."""

import json
import os
import types
from pathlib import Path

import pytest

from gradcheck.checking import verify as verify_module
from gradcheck.checking.properties import PROPERTIES, by_name
from gradcheck.checking.runner import run_properties, run_property
from gradcheck.checking.verify import verify
from gradcheck.cli.main import main
from gradcheck.model import formulas
from gradcheck.reports.verify import verify_json, verify_markdown

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


def test_parallel_verify_reports_exactly_what_a_serial_run_does(tmp_path, monkeypatch):
    """The grid's cells in worker processes, merged in grid order: the same report, field for field,
    and progress in the same order (no wall-time fields to exclude: the report has none)."""
    names = [
        "grad_w_h vs autodiff",
        "grad_theta vs finite differences",
        "batch gradient = mean of per-sample gradients",
    ]
    props = [by_name(n) for n in names]
    pids = tmp_path / "pids.txt"

    def recording(*a, **k):  # (forked workers inherit the patch) which process ran each cell
        with pids.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return run_properties(*a, **k)

    monkeypatch.setattr(verify_module, "run_properties", recording)
    kw = dict(activation_names=["relu", "tanh"], examples=3, seed=11, properties=props)
    seen, where = {1: [], 2: []}, {}
    for j in (1, 2):
        pids.write_text("")
        report = verify(**kw, jobs=j, progress=lambda r, j=j: seen[j].append((r.name, r.hidden, r.output)))
        where[j] = (report, {int(x) for x in pids.read_text().split()})
    (serial, in_serial), (parallel, in_parallel) = where[1], where[2]
    assert in_serial == {os.getpid()} and os.getpid() not in in_parallel and in_parallel  # really in workers
    assert repr(serial) == repr(parallel)  # repr: NaN-safe, every field
    assert verify_json(serial) == verify_json(parallel) and verify_markdown(serial) == verify_markdown(parallel)
    assert seen[1] == seen[2] and len(seen[1]) == len(props) * 4


@pytest.mark.parametrize("factor", [1.0, 1 + 1e-6])
def test_properties_sharing_one_hypothesis_run_get_exactly_their_own_runs(factor):
    """run_properties draws each example once for all the properties: a passing property's run equals
    its own run_property's (hypothesis's draws do not depend on the test while it passes); a failing
    one is re-run alone (its shrunk example, index and counts are its own)."""
    F = formulas if factor == 1.0 else _off_by(factor)
    props = [p for p in PROPERTIES if not p.batch][:6] + [by_name("grad_w_h vs autodiff")]
    for hidden, output in (("sigmoid", "relu"), ("softplus", "tanh")):
        together = run_properties(props, F, hidden=hidden, output=output, examples=6, seed=5)
        alone = [run_property(p, F, hidden=hidden, output=output, examples=6, seed=5) for p in props]
        assert repr(together) == repr(alone)
        assert all(r.passed for r in together) == (factor == 1.0)
    with pytest.raises(ValueError, match="one kind of problem"):
        run_properties(
            [props[0], by_name("batch gradient = mean of per-sample gradients")], F, hidden="relu", output="relu"
        )


def test_parallel_verify_runs_unportable_formulas_here_and_still_fails_them():
    report = verify(
        activation_names=["sigmoid"],
        examples=5,
        F=_off_by(1.01),
        jobs=2,
        properties=[by_name("grad_w_h vs autodiff"), by_name("grad_theta vs autodiff")],
    )
    assert [c.passed for c in report.checks] == [False, True]


def test_verify_jobs_is_validated():
    with pytest.raises(ValueError, match=r"jobs: expected a positive integer, got 0"):
        verify(activation_names=["sigmoid"], examples=1, jobs=0)


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
