"""Grading reports: plain functions from SubmissionResults to text.

* :func:`results_json` — every submission, every check (``DIR/results.json``);
* :func:`feedback_markdown` — one student's feedback, written to act on;
* :func:`junit_xml` — one testcase per (submission, check), for CI dashboards;
* :func:`gradescope_json` — one submission in Gradescope's documented
  ``/autograder/results/results.json`` format (top-level score, tests with
  score/max_score/status/name/number/output, output_format "md");
* :func:`summary_table` and :class:`Progress` — the terminal.

Nothing here knows how results were computed; nothing here runs student code.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from gradcheck.grading.grade import SubmissionResult
from gradcheck.reports.feedback import example_block
from gradcheck.reports.text import terminal_table, write

__all__ = [
    "results_json",
    "feedback_markdown",
    "junit_xml",
    "gradescope_json",
    "summary_table",
    "Progress",
    "write_reports",
    "FORMATS",
]

FORMATS = ("json", "md", "junit", "gradescope")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


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


def results_json(results, *, seed: int | None = None, contract: str = "ftml") -> str:
    return json.dumps(
        {"grader": "gradcheck", "contract": contract, "seed": seed, "submissions": [_submission(r) for r in results]},
        indent=2,
        ensure_ascii=False,
    )


_STATUS = {
    "graded": "graded",
    "timeout": "stopped: it ran past the time limit",
    "memory": "stopped: it ran out of memory",
    "crashed": "stopped: the process died",
    "invalid": "stopped: it returned malformed results",
}


def feedback_markdown(r: SubmissionResult) -> str:
    out = [
        f"# Feedback: `{Path(r.path).name}`",
        "",
        f"**Score: {r.score:g} / {r.max_score:g}** — {_STATUS.get(r.status, r.status)}.",
        "",
        f"Activation: {r.activation.replace(',', ' (hidden), ')} (output) — {r.activation_source}"
        f"{'' if r.activation_source != 'assumed' else ' (it could not be read from your forward_pass)'}.",
        "",
    ]
    if r.status != "graded" and r.message:
        out += [f"What happened: {r.message}", ""]
    out += ["| check | score | result |", "|---|---:|---|"]
    for c in r.checks:
        out.append(f"| {c.title} | {c.score:g} / {c.points:g} | {'✔' if c.passed else '✘ ' + _cell(c.message)} |")
    if r.diagnosis:
        out += ["", "## What to fix", ""]
        out += [f"- **{m.replace('_', ' ')}**: {msg}" for m, msg in r.diagnosis]
    failed = [c for c in r.checks if not c.passed]
    if failed:
        out += ["", "## Failed checks", ""]
        seen: dict = {}
        for c in failed:
            out += [f"- **{c.title}** ({c.score:g}/{c.points:g}): {c.message}"] + example_block(c, seen)
    if r.notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in r.notes]
    if r.output.strip():
        out += ["", "## What your code printed", "", "```", r.output.strip()[:4000], "```"]
    out += ["", f"_gradcheck, seed {r.seed}; isolation: {r.isolation}._", ""]
    return "\n".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:160]


def _xml(text: str) -> str:
    return escape(_XML_BAD.sub("\ufffd", text))


def junit_xml(results) -> str:
    cases, failures, errors = [], 0, 0
    for r in results:
        suite = re.sub(r"\W+", "_", Path(r.path).stem)
        for c in r.checks:
            head = f'    <testcase classname="gradcheck.{suite}" name={quoteattr(c.name)} time="0">'
            if c.passed:
                cases.append(head + "</testcase>")
                continue
            kind = "failure" if r.status == "graded" else "error"
            failures, errors = failures + (kind == "failure"), errors + (kind == "error")
            message = quoteattr(_XML_BAD.sub("\ufffd", f"{c.score:g}/{c.points:g}: {c.message}"[:500]))
            cases.append(f"{head}<{kind} message={message}>{_xml(c.message)}</{kind}></testcase>")
    total = sum(len(r.checks) for r in results)
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<testsuites tests="{total}" failures="{failures}" errors="{errors}">',
            f'  <testsuite name="gradcheck" tests="{total}" failures="{failures}" errors="{errors}">',
            *cases,
            "  </testsuite>",
            "</testsuites>",
            "",
        ]
    )


def gradescope_json(r: SubmissionResult, *, visibility: str = "visible") -> str:
    tests = []
    for i, c in enumerate(r.checks, 1):
        text = c.message + ("\n\n" + "\n".join(f"- {n}" for n in c.notes) if c.notes else "")
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


def summary_table(results) -> str:
    head = ("submission", "status", "score", "activation", "diagnosis")
    rows = [
        (
            Path(r.path).name,
            r.status,
            f"{r.score:g}/{r.max_score:g}",
            r.activation,
            ", ".join(m for m, _ in r.diagnosis)[:60] or "—",
        )
        for r in results
    ]
    out = [terminal_table(head, rows)]
    graded = [r for r in results if r.status == "graded"]
    mean = sum(r.score for r in results) / len(results) if results else 0.0
    out.append(f"\n{len(results)} submission(s), {len(graded)} graded, mean score {mean:.1f}")
    return "\n".join(out)


class Progress:
    """``[#####.....] 12/40 name.py 87/100`` on stderr, rewritten in place on a terminal."""

    def __init__(self, stream=None, width: int = 30):
        self.stream, self.width, self.start = stream or sys.stderr, width, time.monotonic()

    def __call__(self, done: int, total: int, result: SubmissionResult) -> None:
        filled = self.width * done // max(total, 1)
        rate = done / max(time.monotonic() - self.start, 1e-9)
        text = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {rate:.1f}/s "
            f"{Path(result.path).name} {result.score:g}/{result.max_score:g} {result.status}"
        )
        tty = getattr(self.stream, "isatty", lambda: False)()
        self.stream.write(("\r\x1b[K" + text if tty else text + "\n") + ("\n" if tty and done == total else ""))
        self.stream.flush()


def write_reports(results, out_dir, *, formats=FORMATS, seed=None, contract="ftml") -> list[Path]:
    """Write the chosen formats under ``out_dir``; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def put(path: Path, text: str):
        written.extend(write(path.parent, {path.name: text}))

    names = _unique_names(results)
    if "json" in formats:
        put(out / "results.json", results_json(results, seed=seed, contract=contract))
    if "md" in formats:
        for r, name in zip(results, names):
            put(out / "feedback" / f"{name}.md", feedback_markdown(r))
    if "junit" in formats:
        put(out / "junit.xml", junit_xml(results))
    if "gradescope" in formats:
        for r, name in zip(results, names):
            put(out / "gradescope" / f"{name}.json", gradescope_json(r))
    return written


def _unique_names(results) -> list[str]:
    names, seen = [], {}
    for r in results:
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(r.path).stem) or "submission"
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return names
