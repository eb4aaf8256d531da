"""Grading student files: correct ones get full marks, buggy ones lose marks with the right
diagnosis, hostile ones are contained, scored 0 and leave nothing behind.

Submissions are graded once per module (two at a time, as ``gradcheck grade --jobs 2``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from proc_scan import live_with

from gradcheck.grading import problems as P
from gradcheck.grading.checks import CHECKS, MAX_SCORE
from gradcheck.grading.grade import collect_paths, grade_many, grade_submission, parse_activation
from gradcheck.grading.sandbox.runner import namespaces_available
from gradcheck.model import activations, network

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SUBS = HERE / "submissions"
NS_OK, _ = namespaces_available()

BUGGY = {  # name: (checks that must fail, checks that must pass, a diagnosis id)
    "bias_via_x": ({"grad_w_h_shape", "grad_w_h_values", "sgd_lowers_loss"}, {"grad_theta_values"}, "bias_dropped_w_h"),
    "missing_sigma_prime": (
        {"grad_theta_values", "grad_w_h_values", "consistent_with_own_forward"},
        {"forward_values"},
        "missing_output_derivative",
    ),
    "sign_flip": ({"grad_theta_values", "grad_w_h_values", "sgd_lowers_loss"}, {"forward_values"}, "sign_flipped"),
    "transposed": ({"grad_w_h_shape", "grad_w_h_values"}, {"grad_theta_values"}, "jacobian_not_transposed"),
    "finite_differences": (
        {"grad_theta_values", "grad_w_h_values"},
        {"consistent_with_own_forward", "sgd_lowers_loss"},
        "numerical_approximation",
    ),
    "forward_bug": (
        {"forward_values", "consistent_with_own_forward", "course_pipeline_d1"},
        {"grad_theta_values", "grad_w_h_values"},
        "bug_in_forward",
    ),
    "aliasing": ({"inputs_not_mutated"}, {"grad_theta_values", "grad_w_h_values", "deterministic"}, "mutates_inputs"),
}
CORRECT = {
    "course_relu": "relu,relu",
    "sigmoid": "sigmoid,sigmoid",
    "tanh_identity": "tanh,identity",
    "theta_column": "sigmoid,identity",
    "float32": "softplus,sigmoid",
}


@pytest.fixture(scope="module")
def private_tmp(tmp_path_factory):
    """Sandboxes are made under a private directory that must be empty afterwards."""
    box_parent = tmp_path_factory.mktemp("sandboxes")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tempfile, "tempdir", str(box_parent))
        yield box_parent
    assert os.listdir(box_parent) == []
    assert live_with(str(box_parent)) == []


@pytest.fixture(scope="module")
def graded(private_tmp):
    seen = []
    files = [SUBS / "correct" / f"{n}.py" for n in CORRECT] + [SUBS / "buggy" / f"{n}.py" for n in BUGGY]
    results = grade_many(files, jobs=2, progress=lambda done, total, r: seen.append((done, total)))
    assert [Path(r.path) for r in results] == files  # input order, whatever the completion order
    assert sorted(seen) == [(i, len(files)) for i in range(1, len(files) + 1)]
    return {Path(r.path).stem: r for r in results}


def _by_name(result):
    return {c.name: c for c in result.checks}


# -------------------------------------------------------------------- correct
@pytest.mark.parametrize("name", CORRECT)
def test_correct_submissions_get_full_marks(graded, name):
    r = graded[name]
    assert (r.status, r.score, r.max_score) == ("graded", MAX_SCORE, MAX_SCORE), [
        (c.name, c.message) for c in r.checks if not c.passed
    ]
    assert all(c.passed for c in r.checks) and r.diagnosis == ()
    assert (r.activation, r.activation_source) == (CORRECT[name], "detected")
    assert [c.name for c in r.checks] == [name for name, *_ in CHECKS]


def test_harmless_variants_are_accepted_and_said(graded):
    column = graded["theta_column"]
    assert column.layout == "theta=column,intermediates=row"
    assert any("θ passed as a column" in n for n in column.notes)
    assert any("column of shape (n, 1)" in n for n in column.notes)
    f32 = graded["float32"]
    assert any("∇θ returned as float32" in n for n in f32.notes)
    assert graded["sigmoid"].notes and not any("float32" in n for n in graded["sigmoid"].notes)


# ---------------------------------------------------------------------- buggy
@pytest.mark.parametrize("name", BUGGY)
def test_buggy_submissions_lose_marks_with_the_right_diagnosis(graded, name):
    r = graded[name]
    must_fail, must_pass, mistake = BUGGY[name]
    checks = _by_name(r)
    assert r.status == "graded" and r.score < r.max_score
    assert {n for n in must_fail if checks[n].passed} == set()
    assert {n for n in must_pass if not checks[n].passed} == set()
    assert mistake in [m for m, _ in r.diagnosis], r.diagnosis


def test_diagnosis_messages_name_the_equation(graded):
    msg = dict(graded["bias_via_x"].diagnosis)["bias_dropped_w_h"]
    assert "x̄" in msg and "(11)" in msg
    assert "approximation" in _by_name(graded["finite_differences"])["grad_theta_values"].message


def test_a_transposed_gradient_is_charged_where_its_shape_cannot_show_it(graded):
    values = _by_name(graded["transposed"])["grad_w_h_values"]
    assert 0 < values.score < values.points and "d=3, m=4" in values.message  # d + 1 = m: square


# ---------------------------------------------------------- the problem set
def test_problem_set_is_deterministic_and_sane_for_every_activation():
    P._make.cache_clear()
    a, b = P.make_problems(5), P._make.__wrapped__(5, activations.names(), activations.names())
    for ca, cb in zip(a.cases, b.cases):
        assert all(np.array_equal(getattr(ca, f), getattr(cb, f)) for f in ("X", "Y", "w_h", "theta", "directions"))
    assert not np.array_equal(a.cases[0].X, P.make_problems(6).cases[0].X)
    dims = [(c.d, c.m) for c in a.cases]
    assert (1, 1) in dims and any(d > 1 and m == 1 for d, m in dims) and any(d + 1 == m for d, m in dims)
    for c in a.cases:
        pre_h = network.append_one(c.X) @ c.w_h
        assert np.all(np.abs(pre_h) >= P.PRE_H[0]) and np.all(np.abs(pre_h) <= P.PRE_H[1]) and len(c.X) >= 3
        pre_y = P._pre_y(c.X, c.w_h, c.theta, activations.names())
        assert np.all(np.abs(pre_y) >= P.PRE_Y[0]) and np.all(pre_y[:, 0] > 0)
        if c.m >= 2:
            assert np.all(pre_y[:, 1] < 0)  # relu output inactive: told apart from the identity


def test_reference_sgd_descends_for_every_pair():
    problems = P.make_problems(0)
    for hidden in activations.names():
        for output in activations.names():
            ref = P.reference(problems, hidden, output)
            assert ref.sgd_end < ref.sgd_start * 2 / 3


def test_parse_activation_and_paths(tmp_path):
    assert parse_activation("relu") == ("relu", "relu") and parse_activation(" tanh, identity ") == ("tanh", "identity")
    assert parse_activation(None) is None
    with pytest.raises(ValueError, match="activation"):
        parse_activation("relu,tanh,sigmoid")
    with pytest.raises(ValueError, match="expected one of"):
        parse_activation("swish")
    (tmp_path / "b").mkdir()
    for name in ("b/z.py", "a.py", "notes.txt"):
        (tmp_path / name).write_text("")
    assert [p.name for p in collect_paths([tmp_path])] == ["a.py", "z.py"]
    with pytest.raises(FileNotFoundError, match="PATH"):
        collect_paths([tmp_path / "missing.py"])


def test_results_do_not_depend_on_the_activation_guess(private_tmp):
    path = SUBS / "correct" / "course_relu.py"
    right, wrong = (grade_submission(path, guess=g) for g in (("relu", "relu"), ("tanh", "sigmoid")))
    assert right.checks == wrong.checks and right.activation == wrong.activation == "relu,relu"


def test_the_fast_pass_agrees_with_compare():
    from gradcheck.checking.tolerance import compare
    from gradcheck.grading.judge import passes as _passes

    rng = np.random.default_rng(0)
    for _ in range(300):
        ref = rng.normal(size=6) * 10.0 ** rng.integers(-8, 3)
        scale = np.abs(ref) * rng.uniform(0.5, 2) + (rng.random(6) < 0.3) * 0.0
        rel = 10.0 ** rng.uniform(-16, -10)
        actual = ref * (1 + rel * rng.normal(size=6))
        if rng.random() < 0.1:
            actual[2] = np.nan
        for rtol in (2.2e-13, 1.2e-4):
            assert _passes(actual, ref, scale, rtol) == compare(actual, ref, scale=scale, rtol=rtol).passed


def test_a_given_activation_is_used(private_tmp):
    r = grade_submission(SUBS / "correct" / "sigmoid.py", activation="tanh,identity")
    assert (r.activation, r.activation_source) == ("tanh,identity", "given")
    assert not _by_name(r)["forward_values"].passed and r.score < r.max_score


# -------------------------------------------------------------------- hostile
HOSTILE = {  # name: expected status(es)
    "infinite_loop": "timeout",
    "ignore_sigterm": "timeout",
    "exit_at_import": "crashed",
    "memory_bomb": "memory",
    "print_flood": "output",  # 110 MB of output: stopped by the output quota, whatever the machine's speed
    "patch_allclose": "graded",
    "lying_subclass": "graded",
    "syntax_error": "graded",
    "exit_in_call": "graded",
    "tamper": "graded",
    "grade_spawner": ("graded", "timeout"),  # 130 forks of python: slow on a loaded machine
    "grade_import": "graded",
    "grade_planter": "graded",
}


@pytest.fixture(scope="module")
def hostile(private_tmp):
    runaway = [n for n, status in HOSTILE.items() if status == "timeout"]
    results = grade_many([SUBS / "hostile" / f"{n}.py" for n in runaway], jobs=2, timeout=2.0)
    results += grade_many(
        [SUBS / "hostile" / f"{n}.py" for n in HOSTILE if n not in runaway], jobs=2, timeout=10.0, memory_mb=256
    )
    return {Path(r.path).stem: r for r in results}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_submissions_are_contained_and_score_nothing(hostile, name):
    r = hostile[name]
    assert r.status in HOSTILE[name] if isinstance(HOSTILE[name], tuple) else r.status == HOSTILE[name], r.message
    assert r.score == 0 and not any(c.passed for c in r.checks), [(c.name, c.score) for c in r.checks]
    if r.status != "graded":
        assert all(c.message.startswith("not run") for c in r.checks) or r.status == "memory"


def test_hostile_details(hostile):
    assert "SyntaxError" in _by_name(hostile["syntax_error"])["imports"].message
    flood = hostile["print_flood"]
    assert "output limit of 16 MiB" in flood.message and "truncated" in flood.message
    assert len(flood.output) < 20_000
    assert live_with("gradcheck-grade-spawner-3f9c1e") == []


@pytest.mark.skipif(not NS_OK, reason="namespaces unavailable")
def test_planted_results_change_nothing(tmp_path):
    """The grader runs as a real command whose command line names its --out folder and the
    submissions folder; the submission plants fake results wherever it can reach."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    (subs / "grade_planter.py").write_bytes((SUBS / "hostile" / "grade_planter.py").read_bytes())
    shared = [REPO, REPO / "tests", SUBS / "hostile", Path("/tmp"), Path.home()]  # others write here too
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "gradcheck", "grade", str(subs), "--out", str(out), "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    assert [(s["status"], s["score"]) for s in doc["submissions"]] == [("graded", 0.0)]
    assert doc["submissions"][0]["path"].endswith("grade_planter.py")
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == [
        "out/class.csv",
        "out/class.html",
        "out/feedback/grade_planter.html",
        "out/feedback/grade_planter.md",
        "out/gradescope/grade_planter.json",
        "out/junit.xml",
        "out/results.json",
        "subs/grade_planter.py",
    ]
    assert all(b"pwned" not in (tmp_path / f).read_bytes() for f in files if f.startswith("out/"))
    for d in shared:
        assert not any(p.name.startswith("PLANTED_BY_GRADE_PLANTER") for p in d.iterdir())


# ------------------------------------------------------------------------ CLI
def test_cli_grades_and_writes_every_format(tmp_path, private_tmp, capsys):
    from gradcheck.cli.main import main

    out = tmp_path / "grades"
    code = main(
        [
            "grade",
            str(SUBS / "correct" / "sigmoid.py"),
            str(SUBS / "buggy" / "sign_flip.py"),
            "--out",
            str(out),
            "--jobs",
            "2",
            "--quiet",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "sign_flip.py" in text and "100/100" in text
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert names == {
        "results.json",
        "junit.xml",
        "feedback/sigmoid.md",
        "feedback/sign_flip.md",
        "gradescope/sigmoid.json",
        "gradescope/sign_flip.json",
        "class.csv",
        "class.html",
        "feedback/sigmoid.html",
        "feedback/sign_flip.html",
    }


def test_cli_usage_errors(tmp_path, capsys):
    from gradcheck.cli.main import main

    assert main(["grade", str(tmp_path / "missing.py")]) == 2
    assert main(["grade", str(tmp_path)]) == 2  # no .py file
    assert main(["grade", str(SUBS / "correct"), "--contract", str(tmp_path / "x.py")]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["grade", str(SUBS / "correct"), "--format", "pdf"])
    assert exc.value.code == 2
    assert "no .py or .ipynb files" in capsys.readouterr().err


# --------------------------------------------------------------- the zygote
FD_PROBE = """import os, stat

def fds():
    names = [n for n in os.listdir("/proc/self/fd") if int(n) > 2]
    kinds = []
    for n in names:
        try:
            kinds.append(stat.S_IFMT(os.fstat(int(n)).st_mode))
        except OSError:
            pass
    return {"extra": float(len(names)), "sockets": float(sum(k == stat.S_IFSOCK for k in kinds))}
"""


@pytest.mark.skipif(not NS_OK, reason="the zygote serves the namespaces mode only")
def test_the_zygote_socket_never_reaches_the_student(tmp_path, private_tmp):
    from gradcheck.grading import Call, run_submission

    probe = tmp_path / "probe.py"
    probe.write_text(FD_PROBE)
    result = run_submission(probe, [Call("fds", {}, "f")])
    assert result.status == "ok", result.message
    assert result.calls["f"].values["sockets"] == 0 and result.calls["f"].values["extra"] <= 1  # listdir's own fd


@pytest.mark.parametrize("how", ["exec path", "broken zygote"])
def test_grading_without_the_zygote(how, monkeypatch, private_tmp):
    from gradcheck.grading.sandbox import runner as sandbox
    from gradcheck.grading.sandbox import zygote

    if how == "exec path":
        monkeypatch.setattr(sandbox, "USE_ZYGOTE", False)
    else:  # the zygote dies at once: the run must fall back to the exec path, not be lost
        monkeypatch.setattr(zygote, "CHILD", Path("/nonexistent/child.py"))
        monkeypatch.setattr(zygote, "_LOCAL", __import__("threading").local())
    r = grade_submission(SUBS / "correct" / "sigmoid.py")
    assert (r.status, r.score) == ("graded", MAX_SCORE), r.message


def test_a_grader_bug_on_one_file_does_not_stop_the_batch(monkeypatch, private_tmp):
    from gradcheck.grading import grade as G

    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(G, "run_checks", broken)
    results = grade_many([SUBS / "correct" / "sigmoid.py", SUBS / "buggy" / "sign_flip.py"], jobs=2)
    assert [(r.status, r.score) for r in results] == [("error", 0.0), ("error", 0.0)]
    assert "grader error: RuntimeError: boom" in results[0].message
