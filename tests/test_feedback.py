"""Feedback a student can act on (issue 11): crashes as crashes with file:line, one failing case
to rerun per failed check, no internal ids, readable numbers, structural diagnoses for mistakes
outside the catalogue, and a wrong --activation said as such.

The submissions are graded once per module in the sandbox (never imported here)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from proc_scan import live_with

from gradcheck.grading.grade import grade_many, grade_submission
from gradcheck.grading.judge import worst_entries
from gradcheck.reports.grading import feedback_markdown

SUBS = Path(__file__).resolve().parent / "submissions"
NEW = (
    "crash_name_error",
    "w_h_over_m",
    "u_shifted",
    "fd_theta",
    "m_hardcoded",
    "last_feature_row",
    "columns_equal",
    "theta_halved_w_h_doubled",
    "relu_output_always_active",
    "leaky_hidden",
)
INTERNAL_ID = re.compile(r"\b(ref|row|own|fwd|fd|probe)/\d")


@pytest.fixture(scope="module")
def private_tmp(tmp_path_factory):
    box_parent = tmp_path_factory.mktemp("sandboxes")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tempfile, "tempdir", str(box_parent))
        yield box_parent
    assert os.listdir(box_parent) == []
    assert live_with(str(box_parent)) == []


@pytest.fixture(scope="module")
def graded(private_tmp):
    files = [SUBS / "buggy" / f"{n}.py" for n in NEW] + [SUBS / "buggy" / "missing_sigma_prime.py"]
    return {Path(r.path).stem: r for r in grade_many(files, jobs=2)}


def _checks(r):
    return {c.name: c for c in r.checks}


def _advice(r):
    return dict(r.diagnosis)


# ------------------------------------------------------------------ crashes
def test_a_crash_is_reported_as_a_crash_with_its_line(graded):
    r = graded["crash_name_error"]
    first_id, first = r.diagnosis[0]
    assert first_id == "crash" and first.startswith("compute_gradients raised NameError")
    assert "crash_name_error.py:22 in compute_gradients" in first and "`return {" in first
    assert "on every one of its" in first
    ids = [m for m, _ in r.diagnosis]
    assert ids == ["crash"], r.diagnosis  # no numerical claim about a function that never returned
    checks = _checks(r)
    assert "crash_name_error.py:22" in checks["grad_theta_values"].message
    for name in ("inputs_not_mutated", "deterministic", "sgd_lowers_loss"):
        assert checks[name].score == 0 and checks[name].message.startswith("not run: "), checks[name]
    assert r.score == 20  # imports 5, forward shapes 5, forward values 10: what did run and is right
    text = feedback_markdown(r)
    assert "## What to fix" in text and "NameError" in text.split("## Failed checks")[0]


# ------------------------------------------------------------- reproducible
def test_every_failed_gradient_check_has_a_case_to_rerun(graded):
    for name, r in graded.items():
        for c in r.checks:
            credited_away = c.message.startswith("not credited") and not c.failures  # it passed, 0 credited
            if not c.passed and not credited_away and c.name.startswith(("grad_", "course_", "consistent_")):
                assert c.example, (name, c.name)
                assert "import numpy as np" in c.example and f"from {name} import" in c.example
                assert re.search(r"^x = np\.array\(\[", c.example, re.M) and "theta = np.array(" in c.example
                if r.diagnosis[0][0] != "crash":
                    assert "returned" in c.example and "expected (eq." in c.example, c.example


def test_the_case_is_valid_python_with_exact_inputs(graded):
    c = _checks(graded["u_shifted"])["grad_w_h_values"]
    code = "\n".join(line for line in c.example.splitlines() if not line.startswith(("from ", "g = ")))
    scope: dict = {}
    exec(code, scope)  # only our own literals: no student code
    assert scope["x"].shape == (1,) and scope["theta"].shape == (2,)  # the smallest case: d = m = 1
    assert "# worst: w_h[" in c.example and "abs. error" in c.example


def test_no_internal_ids_and_no_zero_relative_error(graded):
    for r in graded.values():
        texts = [c.message for c in r.checks] + [c.example for c in r.checks] + [m for _, m in r.diagnosis]
        texts += list(r.notes) + [feedback_markdown(r)]
        for text in texts:
            assert not INTERNAL_ID.search(text), text
            assert "rel. error 0.0e+00" not in text


def test_a_zero_reference_gets_an_absolute_error():
    text = worst_entries([0.5, 2.0], [0.0, 2.0], [1.0, 1.0], 2.2e-13)
    assert text == "[0] = 0.5, expected 0 (abs. error 5.0e-01; the expected value is 0)"
    assert "rel. error 2.0e-01" in worst_entries([1.2], [1.0], [1.0], 2.2e-13)


def test_failing_entries_whose_reference_is_0_get_their_absolute_error(graded):
    r = graded["relu_output_always_active"]
    assert "missing_output_derivative" in _advice(r)  # a catalogue mistake: named as before
    message = _checks(r)["grad_theta_values"].message
    assert re.search(r"expected 0 \(abs\. error [0-9.e+-]+; the expected value is 0\)", message), message


def test_notes_say_what_their_numbers_mean(graded):
    notes = [n for n in graded["u_shifted"].notes if "SGD" in n]
    assert notes and "training loss from" in notes[0] and "reference gradients reach" in notes[0]


def test_catalogue_feedback_is_unchanged(graded):
    assert "missing_output_derivative" in _advice(graded["missing_sigma_prime"])


# --------------------------------------------------------- structural patterns
STRUCTURAL = {  # submission: (the first advice after any crash, phrases it must hold)
    "w_h_over_m": ("scaled_gradient", ("∇w_h is the right one ×1/m", "divided by m", "eq. (11)")),
    "u_shifted": ("columns_shifted", ("column j holds the right column j + 1", "θ̃ = θ[:-1]", "∇θ is right")),
    "fd_theta": ("numerical_approximation", ("∇θ agrees", "forward differences", "step of about 1e-03", "eq. (6)")),
    "m_hardcoded": ("hard_coded_size", ("right only when m = 3", "hard-coded to 3")),
    "last_feature_row": ("one_row_or_column", ("the last feature's row (row d − 1) is 0", "range(d − 1)")),
    "columns_equal": ("columns_all_equal", ("all m columns equal", "sum of the right columns", "θ̃ ⊙ σ'(pre_h)")),
    "theta_halved_w_h_doubled": ("two_mistakes", ("∇w_h is the right one ×2", "∇θ is the right one ×½")),
}


@pytest.mark.parametrize("name", STRUCTURAL)
def test_mistakes_outside_the_catalogue_get_their_structural_pattern(graded, name):
    advice = [(m, msg) for m, msg in graded[name].diagnosis if m != "crash"]
    want, phrases = STRUCTURAL[name]
    assert advice and advice[0][0] == want, graded[name].diagnosis
    for phrase in phrases:
        assert phrase in advice[0][1], (phrase, advice[0][1])
    assert all("No catalogue mistake" not in msg for _, msg in graded[name].diagnosis)


def test_a_hard_coded_size_that_raises_is_also_a_crash(graded):
    ids = [m for m, _ in graded["m_hardcoded"].diagnosis]
    assert ids[:2] == ["crash", "hard_coded_size"]


# ------------------------------------------------------- activation mismatch
def test_a_wrong_activation_is_said_with_what_the_outputs_look_like(private_tmp):
    r = grade_submission(SUBS / "correct" / "course_relu.py", activation="tanh,identity")
    assert r.activation_source == "given" and r.score < r.max_score
    first_id, first = r.diagnosis[0]
    assert first_id == "activation_mismatch"
    assert "graded as tanh" in first and "it looks like relu (h = relu(pre_h))" in first
    assert "graded as identity" in first and "y_hat = relu(pre_y)" in first and "→ 0" in first
    ids = {m for m, _ in r.diagnosis}
    assert not ids & {"unmatched", "bug_in_gradients", "bug_in_forward", "scaled_gradient", "zero_gradient"}
    right = grade_submission(SUBS / "correct" / "sigmoid.py", activation="sigmoid")
    assert right.score == right.max_score and right.diagnosis == ()


def test_an_import_error_is_the_one_thing_to_fix(private_tmp):
    r = grade_submission(SUBS / "hostile" / "syntax_error.py")
    assert r.score == 0 and [m for m, _ in r.diagnosis] == ["import_failed"]
    assert "SyntaxError" in r.diagnosis[0][1] and "syntax_error.py, line 4" in r.diagnosis[0][1]
    checks = _checks(r)
    assert "raised not run" not in " ".join(c.message for c in r.checks)
    assert "was not run: the submission failed to import" in checks["grad_theta_values"].message
    assert not any(c.example for c in r.checks)


def test_outputs_that_are_no_built_in_activation_are_said(graded):
    r = graded["leaky_hidden"]
    assert r.activation_source == "assumed" and [m for m, _ in r.diagnosis] == ["activation_unknown"]
    text = r.diagnosis[0][1]
    assert "h is none of the built-in activations" in text and "−2.47 → −0.247" in text
    assert "y_hat looks like relu" in text and "--activation" in text


def test_gradescope_tests_carry_their_failing_case(graded):
    import json

    from gradcheck.reports.grading import gradescope_json

    doc = json.loads(gradescope_json(graded["u_shifted"]))
    failed = {t["name"]: t["output"] for t in doc["tests"] if t["status"] == "failed"}
    assert "A failing case to rerun" in failed["∇w_h: values (reference intermediates)"]
    assert "columns are shifted by one hidden unit" in doc["output"]


def test_the_frames_a_child_reports_are_data_checked(tmp_path):
    """The child's account of where an error happened is untrusted: malformed frames are dropped,
    text is capped, and only the innermost five are kept."""
    import json

    from gradcheck.grading.sandbox.protocol import Call
    from gradcheck.grading.sandbox.results import read_results

    frames = [[3, "f", "src"], ["bad"], [1, 2, 3], [-1, "g", "h"], [True, "g", "h"], [5, "g", "y" * 500]]
    entry = {"id": "a", "status": "error", "message": "E: x", "error_type": "E", "frames": frames}
    (tmp_path / "results.json").write_text(json.dumps({"calls": [entry]}))
    calls, _, _ = read_results(str(tmp_path), [Call("f", {}, "a")])
    assert calls["a"].frames == ((5, "g", "y" * 200),)  # the last five entries, of which one is well formed
    entry["frames"] = "not a list"
    (tmp_path / "results.json").write_text(json.dumps({"calls": [entry]}))
    assert read_results(str(tmp_path), [Call("f", {}, "a")])[0]["a"].frames == ()
