"""The ``gradcheck verify`` report: JSON, Markdown and a terminal table from a :class:`VerifyReport`."""

from __future__ import annotations

import json
import math

from gradcheck.checking.verify import VerifyReport
from gradcheck.reports.plots import with_picture
from gradcheck.reports.text import fmt, terminal_table

__all__ = ["verify_json", "verify_markdown", "verify_table"]


def _finite(x: float):
    return x if math.isfinite(x) else None


def verify_json(report: VerifyReport) -> str:
    checks = []
    for c in report.checks:
        checks.append(
            {
                "name": c.name,
                "equation": c.equation,
                "oracle": c.oracle,
                "examples": c.examples,
                "not_applicable": c.not_applicable,
                "max_rel_error": _finite(c.max_rel_error),
                "norm_rel_error": _finite(c.norm_rel_error),
                "max_error_over_tolerance": _finite(c.max_excess),
                "passed": c.passed,
                "failures": [
                    {"hidden": r.hidden, "output": r.output, **r.failure._asdict()} for r in c.runs if r.failure
                ],
                "pairs": [
                    {
                        "hidden": r.hidden,
                        "output": r.output,
                        "examples": r.examples,
                        "max_rel_error": _finite(r.max_rel_error),
                        "passed": r.passed,
                    }
                    for r in c.runs
                ],
            }
        )
    return json.dumps(
        {
            "passed": report.passed,
            "seed": report.seed,
            "examples_per_pair": report.examples,
            "activations": list(report.activations),
            "checks": checks,
        },
        indent=2,
    )


_HEAD = ("check", "equation", "oracle", "examples", "max rel error", "verdict")


def _rows(report: VerifyReport):
    for c in report.checks:
        yield (c.name, c.equation, c.oracle, str(c.examples), fmt(c.max_rel_error), "pass" if c.passed else "FAIL")


def verify_table(report: VerifyReport) -> str:
    out = [terminal_table(_HEAD, _rows(report))]
    verdict = "all checks agree" if report.passed else f"{sum(not c.passed for c in report.checks)} check(s) disagree"
    out.append(f"\n{verdict} (seed {report.seed}, {report.examples} examples per activation pair)")
    return "\n".join(out)


def verify_markdown(report: VerifyReport, *, picture=None) -> str:
    out = [
        "# gradcheck verify",
        "",
        f"Seed {report.seed}; {report.examples} examples per property and (hidden, output) pair; "
        f"activations: {', '.join(report.activations)}.",
        "",
        "| " + " | ".join(_HEAD) + " |",
        "|" + "---|" * len(_HEAD),
    ]
    out += ["| " + " | ".join(r) + " |" for r in _rows(report)]
    failures = [(c, r) for c in report.checks for r in c.runs if r.failure]
    if failures:
        out += ["", "## Disagreements", ""]
        for c, r in failures:
            f = r.failure
            out.append(
                f"- **{c.name}** (eq. {c.equation}), {r.hidden} hidden / {r.output} output: "
                f"{f.message}; worst entry `{f.worst}`; shrunk example: d={f.problem['d']}, "
                f"m={f.problem['m']}, n={f.problem['n']}"
            )
    out += [
        "",
        "Max rel error: max over examples of max_i |a_i − r_i| / max(s_i, 1e-6·max s), where the",
        "scale s (not the oracle's error bar) sets the tolerance; see gradcheck.checking.tolerance.",
        "",
    ]
    return with_picture("\n".join(out), "verify", picture)  # picture: the PNG written in this run
