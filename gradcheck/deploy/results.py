"""Gradescope's ``results.json`` for one student's submission folder, as data.

Each graded file contributes its checks as tests (from :func:`gradcheck.reports.grading.gradescope_json`,
the one Gradescope writer), scaled to the assignment's points.  With several files the score is the
best file's (a student who uploads a helper module beside the solution is not penalised) and each
test is named by its file.  :func:`failure_document` is what a student sees when grading itself
failed: a valid document with score 0 and a message, never a traceback (that goes to stdout, which
only the instructor sees).

Fields and values follow Gradescope's autograder specification (see
tests/schemas/gradescope_results.schema.json): visibility ``visible``, ``hidden``,
``after_due_date``, ``after_published``; output formats ``text``, ``md`` (and others unused here).
"""

from __future__ import annotations

import json
from typing import NamedTuple

from gradcheck.grading.checks import MAX_SCORE
from gradcheck.reports.grading import gradescope_json
from gradcheck.reports.sanitise import clean_path, md_code, one_line

__all__ = ["VISIBILITIES", "Settings", "results_document", "failure_document", "OUTPUT_CAP"]

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
OUTPUT_CAP = 200_000  # characters of the top-level output (a cap of our own, far below Gradescope's)


class Settings(NamedTuple):
    points: float = MAX_SCORE  # the assignment's total on Gradescope
    visibility: str = "visible"  # the results as a whole (score included)
    test_visibility: str = "visible"  # each test
    stdout_visibility: str = "hidden"  # run_autograder's stdout: the instructor's log


def _scaled(value: float, factor: float) -> float:
    return round(value * factor, 4)


def results_document(results, names, settings: Settings, *, execution_time: float) -> dict:
    """``results`` (SubmissionResults) named ``names`` (relative paths) → the results.json dict."""
    if not results:
        return failure_document(
            "No .py or .ipynb file was found in your submission. Upload your solution as a Python file (.py) "
            "or a Jupyter notebook (.ipynb).",
            settings,
            execution_time=execution_time,
        )
    factor = settings.points / MAX_SCORE
    docs = [json.loads(gradescope_json(r, visibility=settings.test_visibility)) for r in results]
    best = max(range(len(results)), key=lambda i: (results[i].score, -i))
    tests = []
    for i, (doc, name) in enumerate(zip(docs, names), 1):
        for j, test in enumerate(doc.get("tests", []), 1):
            test = dict(test)
            test["score"] = _scaled(test.get("score", 0.0), factor)
            test["max_score"] = _scaled(test.get("max_score", 0.0), factor)
            test["visibility"] = settings.test_visibility
            if len(results) > 1:
                test["name"] = f"{one_line(clean_path(name), limit=120)}: {test.get('name', '')}"
                test["number"] = f"{i}.{j}"
                test["tags"] = [f"file {i}"]
            tests.append(test)
    output = docs[best].get("output", "")
    if len(results) > 1:
        best_name = md_code(clean_path(names[best]), limit=120)
        listing = "\n".join(
            f"- {md_code(clean_path(n), limit=120)}: {_scaled(r.score, factor):g} / {settings.points:g} ({r.status})"
            for n, r in zip(names, results)
        )
        output = (
            f"{len(results)} files were graded; your score is the best file's, {best_name}.\n\n"
            f"{listing}\n\nFeedback on {best_name}:\n\n{output}"
        )
    return {
        "score": _scaled(results[best].score, factor),
        "execution_time": round(execution_time, 3),
        "output": output[:OUTPUT_CAP],
        "output_format": "md",
        "visibility": settings.visibility,
        "stdout_visibility": settings.stdout_visibility,
        "tests": tests,
        "extra_data": {
            "grader": "gradcheck",
            "files": [
                {"name": clean_path(n), "status": r.status, "score": r.score, "activation": r.activation}
                for n, r in zip(names, results)
            ],
        },
    }


def failure_document(message: str, settings: Settings, *, execution_time: float = 0.0) -> dict:
    """A valid results.json when nothing could be graded: score 0 and ``message`` (plain text)."""
    return {
        "score": 0.0,
        "execution_time": round(execution_time, 3),
        "output": message,
        "output_format": "text",
        "visibility": settings.visibility,
        "stdout_visibility": settings.stdout_visibility,
        "tests": [],
    }
