"""The class report's data and its gradebook file: plain functions from SubmissionResults.

* :func:`summarise` — the class as data (:class:`ClassSummary`): score bands, the share of
  submissions making each mistake (described in the spec's terms from
  :mod:`gradcheck.mistakes.catalogue`), the pass rate of each check;
* :func:`class_csv` — one row per submission (file, score, max, status, activation, first
  diagnosis, time) for an LMS gradebook import.  File names and diagnoses can be
  student-controlled, so a cell that a spreadsheet would read as a formula (starting with
  = + - @, a tab or a carriage return) gets a leading apostrophe (:func:`csv_cell`).

The HTML pages built from this are in :mod:`gradcheck.reports.classpage`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import NamedTuple

from gradcheck.grading.grade import SubmissionResult
from gradcheck.mistakes import catalogue

__all__ = ["CSV_COLUMNS", "ClassSummary", "MistakeShare", "CheckRate", "summarise", "class_csv", "csv_cell", "describe"]

CSV_COLUMNS = ("file", "score", "max", "status", "activation", "first diagnosis", "time (s)", "feedback")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# the grader's own findings (gradcheck.grading.grade), beside the catalogue's mistakes
_GRADER_FINDINGS = {
    "bug_in_forward": "the gradients are right given the reference intermediates, the forward pass is not",
    "bug_in_gradients": "the forward pass is right; the gradients disagree with finite differences of it",
    "mutates_inputs": "an argument (w_h, θ, x, y) is changed in place",
    "numerical_approximation": "the gradients agree only to ≈ 1e-8: finite differences, not eq. (6) and (11)",
    "unmatched": "a wrong gradient that no catalogued mistake reproduces",
    # the structural patterns judged across every graded (d, m) (gradcheck.grading.advice)
    "crash": "a function raised: nothing it should have computed could be checked there",
    "import_failed": "the file did not import",
    "zero_gradient": "a gradient block (or part of it) is always 0",
    "scaled_gradient": "a gradient block is the right one times a constant (2, ½, −1, 1/m, 1/d, 1/n, …)",
    "columns_all_equal": "every column of ∇w_h is the same (one value of u_j for all hidden units, eq. (11))",
    "columns_shifted": "column j of ∇w_h holds hidden unit j ± 1's value (u built from the wrong slice of θ)",
    "rows_shifted": "row k of ∇w_h holds feature k ± 1's value (x̄ misaligned, eq. (11))",
    "one_row_or_column": "one row or column is always the wrong one (the bias row, the last feature, the last unit)",
    "hard_coded_size": "right for one size of d or m only: a size written into the code",
    "two_mistakes": "∇θ and ∇w_h are wrong in two different ways",
    "activation_mismatch": "the forward pass does not use the activation it was graded for",
    "activation_unknown": "the forward outputs match none of the built-in activations",
}


class MistakeShare(NamedTuple):
    id: str
    description: str  # in the spec's terms, from the catalogue (never student text)
    equation: str
    count: int
    share: float  # of all submissions


class CheckRate(NamedTuple):
    name: str
    title: str
    passed: int
    total: int
    rate: float


class ClassSummary(NamedTuple):
    submissions: int
    graded: int
    max_score: float
    mean: float
    median: float
    bands: tuple  # (low, high, count) for 10 score bands; the last includes the maximum
    mistakes: tuple  # MistakeShare, most common first
    checks: tuple  # CheckRate, in the grader's order
    statuses: tuple  # (status, count), most common first


def describe(mistake_id: str) -> tuple[str, str]:
    """(description, equation) of a diagnosis id in the spec's terms; ('', '') if unknown."""
    if mistake_id in catalogue.ids():
        m = catalogue.get(mistake_id)
        return m.description, m.equation
    return _GRADER_FINDINGS.get(mistake_id, ""), ""


def _median(values: Sequence[float]) -> float:
    v = sorted(values)
    if not v:
        return 0.0
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def _bands(scores: Sequence[float], max_score: float, n: int = 10) -> tuple:
    counts = [0] * n
    for s in scores:
        counts[min(n - 1, max(0, int(n * s / max_score))) if max_score > 0 else 0] += 1
    return tuple((max_score * i / n, max_score * (i + 1) / n, c) for i, c in enumerate(counts))


def summarise(results: Sequence[SubmissionResult]) -> ClassSummary:
    n = len(results)
    scores = [r.score for r in results]
    max_score = max((r.max_score for r in results), default=100.0)
    seen: dict[str, int] = {}
    for r in results:
        for mistake in dict.fromkeys(m for m, _ in r.diagnosis):
            seen[mistake] = seen.get(mistake, 0) + 1
    mistakes = tuple(
        MistakeShare(m, *describe(m), k, k / n)
        for m, k in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))
        if describe(m)[0]  # an id the grader does not know is not a mistake to describe
    )
    rates: dict[str, list] = {}
    for r in results:
        for c in r.checks:
            row = rates.setdefault(c.name, [c.title, 0, 0])
            row[1], row[2] = row[1] + bool(c.passed), row[2] + 1
    checks = tuple(CheckRate(name, t, p, k, p / k) for name, (t, p, k) in rates.items())
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return ClassSummary(
        n,
        statuses.get("graded", 0),
        max_score,
        sum(scores) / n if n else 0.0,
        _median(scores),
        _bands(scores, max_score),
        mistakes,
        checks,
        tuple(sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def csv_cell(value) -> str:
    """A cell a spreadsheet shows as text: a leading apostrophe where it would start a formula."""
    text = f"{value:g}" if isinstance(value, float) else str(value)
    text = "'" + text if text.startswith(_FORMULA_START) else text
    return text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def first_diagnosis(r: SubmissionResult) -> str:
    if not r.diagnosis:
        return ""
    mistake, message = r.diagnosis[0]
    return f"{mistake}: {message}"


def class_csv(results: Sequence[SubmissionResult], names: Sequence[str]) -> str:
    """One row per submission; ``names`` are the report names (feedback/<name>.md)."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(CSV_COLUMNS)
    for r, name in zip(results, names):
        row = (
            r.path,
            r.score,
            r.max_score,
            r.status,
            r.activation,
            first_diagnosis(r),
            round(r.wall_time, 3),
            f"feedback/{name}.md",
        )
        out.writerow([csv_cell(v) for v in row])
    return buf.getvalue()
