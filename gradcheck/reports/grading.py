"""Grading reports: plain functions from SubmissionResults to text.

* :func:`results_json` — every submission, every check (``DIR/results.json``);
* :func:`feedback_markdown` — one student's feedback, written to act on;
* :func:`junit_xml` — one testcase per (submission, check), for CI dashboards;
* :func:`gradescope_json` — one submission in Gradescope's documented
  ``/autograder/results/results.json`` format (top-level score, tests with
  score/max_score/status/name/number/output, output_format "md");
* :func:`summary_table` and :class:`Progress` — the terminal.

Nothing here knows how results were computed; nothing here runs student code.  Every text
in a result may be the student's: each writer passes the result through
:func:`gradcheck.reports.sanitise.clean_result` first and escapes each text for where it lands
(Markdown block, code span or prose, XML, one terminal line).  :func:`write_reports` writes each
file on its own: one that cannot be rendered is replaced by a short error report, and
``results.json`` is always written.
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape, quoteattr

from gradcheck.grading.files import display_names, file_stems
from gradcheck.grading.grade import SubmissionResult
from gradcheck.reports.classpage import class_report
from gradcheck.reports.feedback import example_block
from gradcheck.reports.progress import Bar
from gradcheck.reports.sanitise import clean, clean_path, clean_result, md_block, md_cell, md_code, md_text, one_line
from gradcheck.reports.text import terminal_table, write

__all__ = [
    "results_json",
    "feedback_markdown",
    "junit_xml",
    "gradescope_json",
    "summary_table",
    "Progress",
    "write_reports",
    "render_reports",
    "write_rendered",
    "Rendered",
    "FORMATS",
]

FORMATS = ("json", "md", "junit", "gradescope", "class")
OUTPUT_SHOWN = 4000  # characters of printed output in the feedback
NAME_WIDTH = 40  # characters of a file name on one terminal line


def _submission(r: SubmissionResult) -> dict:
    return {
        "path": r.path,
        "status": r.status,
        "score": r.score,
        "max_score": r.max_score,
        "activation": r.activation,
        "activation_source": r.activation_source,
        "checks": [
            {
                "name": c.name,
                "title": c.title,
                "passed": c.passed,
                "score": c.score,
                "max_score": c.points,
                "message": c.message,
                "notes": list(c.notes),
            }
            for c in r.checks
        ],
        "diagnosis": [{"mistake": m, "message": msg} for m, msg in r.diagnosis],
        "output": r.output,
        "message": r.message,
        "isolation": r.isolation,
        "layout": r.layout,
        "notes": list(r.notes),
        "seed": r.seed,
        "wall_time": round(r.wall_time, 3),
    }


def _entry(r: SubmissionResult) -> dict:
    """One submission's entry, or (if it cannot be serialised) an error entry naming it."""
    try:
        entry = _submission(clean_result(r))
        json.dumps(entry, allow_nan=False)
        return entry
    except Exception as exc:  # a grader bug on one result must not cost the batch its results.json
        path = clean_path(getattr(r, "path", "?"))
        return {"path": path, "status": "error", "score": 0.0, "message": f"report could not be written: {_why(exc)}"}


def _why(exc: BaseException) -> str:
    return one_line(f"{type(exc).__name__}: {exc}", limit=300)


def results_json(results, *, seed: int | None = None, contract: str = "ftml") -> str:
    doc = {"grader": "gradcheck", "contract": clean(contract), "seed": seed, "submissions": list(map(_entry, results))}
    return json.dumps(doc, indent=2, ensure_ascii=False)


_STATUS = {
    "graded": "graded",
    "timeout": "stopped: it ran past the time limit",
    "output": "stopped: it printed more than the output limit",
    "memory": "stopped: it ran out of memory",
    "crashed": "stopped: the process died",
    "invalid": "stopped: it returned malformed results",
}


def _name(r: SubmissionResult) -> str:
    return Path(r.path).name  # r.path already passed clean_path (no separator or control character added)


def feedback_markdown(r: SubmissionResult) -> str:
    """Markdown: student text only in code spans, escaped prose or a fence nothing inside can close."""
    r = clean_result(r)
    activation = md_text(r.activation.replace(",", " (hidden), "))
    out = [
        f"# Feedback: {md_code(_name(r))}",
        "",
        f"**Score: {r.score:g} / {r.max_score:g}** — {md_text(_STATUS.get(r.status, r.status))}.",
        "",
        f"Activation: {activation} (output) — {md_text(r.activation_source)}"
        f"{'' if r.activation_source != 'assumed' else ' (it could not be read from your forward_pass)'}.",
        "",
    ]
    if r.status != "graded" and r.message:
        out += [f"What happened: {md_text(r.message)}", ""]
    out += ["| check | score | result |", "|---|---:|---|"]
    for c in r.checks:
        result = "✔" if c.passed else "✘ " + md_cell(c.message, limit=160)
        out.append(f"| {md_text(c.title)} | {c.score:g} / {c.points:g} | {result} |")
    if r.diagnosis:
        out += ["", "## What to fix", ""]
        out += [f"- **{md_text(m.replace('_', ' '))}**: {md_text(msg)}" for m, msg in r.diagnosis]
    failed = [c for c in r.checks if not c.passed]
    if failed:
        out += ["", "## Failed checks", ""]
        seen: dict = {}
        for c in failed:
            out += [f"- **{md_text(c.title)}** ({c.score:g}/{c.points:g}): {md_code(c.message)}"] + example_block(
                c, seen
            )
    if r.notes:
        out += ["", "## Notes", ""] + [f"- {md_text(n)}" for n in r.notes]
    if r.output.strip():
        out += ["", "## What your code printed", "", md_block(r.output.strip()[:OUTPUT_SHOWN])]
    out += ["", f"_gradcheck, seed {r.seed}; isolation: {md_text(r.isolation)}._", ""]
    return "\n".join(out)


def _failed_report(r, exc: BaseException) -> str:
    """What a student sees when their report could not be rendered (a grader bug, not theirs)."""
    return "\n".join(
        [
            f"# Feedback: {md_code(Path(clean_path(getattr(r, 'path', '?'))).name)}",
            "",
            f"Your report could not be written ({md_text(_why(exc))}); the grader was told why.",
            "",
        ]
    )


def _xml(text: str) -> str:
    return escape(clean(text))


def _cases(r: SubmissionResult) -> list[tuple[str, str]]:
    """(testcase XML, "" | "failure" | "error") for each check of one submission."""
    r = clean_result(r)
    suite = re.sub(r"\W+", "_", Path(r.path).stem)
    out = []
    for c in r.checks:
        head = f'    <testcase classname="gradcheck.{suite}" name={quoteattr(c.name)} time="0">'
        if c.passed:
            out.append((head + "</testcase>", ""))
            continue
        kind = "failure" if r.status == "graded" else "error"
        message = quoteattr(one_line(f"{c.score:g}/{c.points:g}: {c.message}", limit=500))
        out.append((f"{head}<{kind} message={message}>{_xml(c.message)}</{kind}></testcase>", kind))
    return out


def junit_xml(results) -> str:
    cases = []
    for r in results:
        try:
            cases += _cases(r)
        except Exception as exc:  # that submission alone becomes one error case
            name = quoteattr(one_line(Path(clean_path(getattr(r, "path", "?"))).name, limit=200))
            why = quoteattr("report could not be written: " + _why(exc))
            cases.append(
                (f'    <testcase classname="gradcheck" name={name} time="0"><error message={why}/></testcase>', "error")
            )
    total, failures, errors = len(cases), sum(k == "failure" for _, k in cases), sum(k == "error" for _, k in cases)
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<testsuites tests="{total}" failures="{failures}" errors="{errors}">',
            f'  <testsuite name="gradcheck" tests="{total}" failures="{failures}" errors="{errors}">',
            *(case for case, _ in cases),
            "  </testsuite>",
            "</testsuites>",
            "",
        ]
    )


def gradescope_json(r: SubmissionResult, *, visibility: str = "visible") -> str:
    """Gradescope's results.json for one submission; every ``output`` is safe Markdown ("md")."""
    r = clean_result(r)
    tests = []
    for i, c in enumerate(r.checks, 1):
        text = md_text(c.message) + ("\n\n" + "\n".join(f"- {md_text(n)}" for n in c.notes) if c.notes else "")
        text += "\n" + "\n".join(example_block(c)) if c.example else ""
        tests.append(
            {
                "name": c.title,
                "number": str(i),
                "score": c.score,
                "max_score": c.points,
                "status": "passed" if c.passed else "failed",
                "output": text,
                "output_format": "md",
                "visibility": visibility,
            }
        )
    return json.dumps(
        {
            "score": r.score,
            "execution_time": round(r.wall_time, 3),
            "output": feedback_markdown(r),
            "output_format": "md",
            "visibility": visibility,
            "stdout_visibility": "hidden",
            "tests": tests,
            "extra_data": {"status": r.status, "activation": r.activation, "seed": r.seed},
        },
        indent=2,
        ensure_ascii=False,
    )


def _row(r: SubmissionResult, name: str | None = None) -> tuple[str, ...]:
    """One terminal line's cells: flattened, control characters replaced, names capped; ``name`` is the
    display name where two submissions share a file name (``a/hw.py``)."""
    try:
        r = clean_result(r)
        return (
            one_line(_name(r) if name is None else clean(name), limit=NAME_WIDTH),
            one_line(r.status, limit=20),
            f"{r.score:g}/{r.max_score:g}",
            one_line(r.activation, limit=30),
            one_line(", ".join(m for m, _ in r.diagnosis), limit=60) or "—",
        )
    except Exception as exc:
        return (
            one_line(Path(clean_path(getattr(r, "path", "?"))).name, limit=NAME_WIDTH),
            "error",
            "?",
            "?",
            _why(exc),
        )


def summary_table(results) -> str:
    head = ("submission", "status", "score", "activation", "diagnosis")
    names = display_names([clean_path(getattr(r, "path", "?")) for r in results])
    out = [terminal_table(head, (_row(r, name) for r, name in zip(results, names)))]
    scores = [r.score for r in results if isinstance(r.score, int | float)]
    graded = [r for r in results if r.status == "graded"]
    mean = sum(scores) / len(results) if results else 0.0
    out.append(f"\n{len(results)} submission(s), {len(graded)} graded, mean score {mean:.1f}")
    return "\n".join(out)


class Progress(Bar):
    """``[#####.....] 12/40 1.2/s ~30 s left name.py 87/100 graded`` on stderr (the bar: reports/progress.py)."""

    def __init__(self, stream=None, width: int = 30):
        super().__init__(stream=stream, width=width, every_step=True)

    def __call__(self, done: int, total: int, result: SubmissionResult) -> None:  # type: ignore[override]
        name, status, score, _, _ = _row(result)
        super().__call__(done, total, f"{name} {score} {status}")


class Rendered(NamedTuple):
    name: str  # relative to the report folder, e.g. "feedback/alice.md"
    text: str
    error: str  # "" or why the real report could not be rendered (``text`` is then a stand-in)


def render_reports(results, *, formats=FORMATS, seed=None, contract="ftml") -> list[Rendered]:
    """Every file of the chosen formats as text; one submission's failure never touches another's."""
    names, files = _unique_names(results), []

    def render(name: str, make, stand_in):
        try:
            files.append(Rendered(name, make(), ""))
        except Exception as exc:  # a grader bug on one result: that file says so, the others are written
            files.append(Rendered(name, stand_in(exc), f"{name}: {_why(exc)}"))

    if "json" in formats:  # per-entry fallbacks inside: it is always written
        files.append(Rendered("results.json", results_json(results, seed=seed, contract=contract), ""))
    if "md" in formats:
        for r, name in zip(results, names):
            render(f"feedback/{name}.md", lambda r=r: feedback_markdown(r), lambda e, r=r: _failed_report(r, e))
    if "junit" in formats:
        files.append(Rendered("junit.xml", junit_xml(results), ""))  # per-submission fallbacks inside
    if "gradescope" in formats:
        for r, name in zip(results, names):
            render(f"gradescope/{name}.json", lambda r=r: gradescope_json(r), lambda e, r=r: _failed_gradescope(r, e))
    if "class" in formats:  # class.csv, class.html, feedback/<name>.html (gradcheck.reports.classpage)
        try:
            pages = class_report([clean_result(r) for r in results], names)
        except Exception as exc:  # the per-student reports above stand; the class page says why it is missing
            pages = {"class.html": f"<!doctype html><title>class report</title><p>{html.escape(_why(exc))}</p>"}
        files += [Rendered(rel, text, "") for rel, text in pages.items()]
    return files


def _failed_gradescope(r, exc: BaseException) -> str:
    """The grading stands when only its rendering failed: the score is kept if it is a number."""
    score = getattr(r, "score", None)
    score = float(score) if isinstance(score, int | float) and math.isfinite(score) else 0.0
    doc = {"score": score, "output": _failed_report(r, exc), "output_format": "md", "tests": []}
    return json.dumps(doc, indent=2, ensure_ascii=False)


def write_rendered(files, out_dir) -> list[Path]:
    """Write rendered files under ``out_dir``, each through a temporary file renamed into place."""
    written = []
    for file in files:
        path = Path(out_dir) / file.name
        written.extend(write(path.parent, {path.name: file.text}))
    return written


def write_reports(results, out_dir, *, formats=FORMATS, seed=None, contract="ftml") -> list[Path]:
    """Render and write the chosen formats under ``out_dir``; returns the paths written."""
    return write_rendered(render_reports(results, formats=formats, seed=seed, contract=contract), out_dir)


def _unique_names(results) -> list[str]:
    return file_stems([r.path for r in results])  # a/hw.py, b/hw.py → a_hw, b_hw
