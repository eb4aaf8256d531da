"""Report writers for ``gradcheck mutants`` and diagnoses: result data → JSON, Markdown, a terminal table.

Plain functions, like :mod:`gradcheck.reports.verify`; they know nothing about how the
results were computed.
"""

from __future__ import annotations

import json
import statistics

import numpy as np

from gradcheck.mistakes.mutants import MutantResult, MutantsReport
from gradcheck.reports.plots import with_picture
from gradcheck.reports.text import fmt, terminal_table

__all__ = [
    "mutants_json",
    "mutants_markdown",
    "mutants_table",
    "sensitivity_json",
    "sensitivity_markdown",
    "sensitivity_table",
]


def _kill_dict(k):
    return None if k is None else k._asdict()


def _pairs_json(r: MutantResult):
    return [
        {
            "hidden": p.hidden,
            "output": p.output,
            "status": p.status,
            "properties_run": p.properties_run,
            "property": p.kill and p.kill.property,
            "examples": p.kill and p.kill.examples,
            "worst": p.kill and p.kill.worst,
        }
        for p in r.pairs
    ]


def _counts(r: MutantResult):
    c = {s: sum(p.status == s for p in r.pairs) for s in ("killed", "survived", "equivalent", "equivalence refuted")}
    ex = [p.kill.examples for p in r.pairs if p.kill]
    return c, (statistics.median(ex) if ex else None), (max(ex) if ex else None)


def mutants_json(report: MutantsReport) -> str:
    mutants = []
    for r in report.mutants:
        c, med, mx = _counts(r)
        mutants.append(
            {
                "id": r.id,
                "description": r.description,
                "equation": r.equation,
                "factor": r.factor,
                "status": r.status,
                "pairs_by_status": c,
                "killers": list(r.killers),
                "all_killers": None if r.all_killers is None else list(r.all_killers),
                "examples_to_kill": {"median": med, "max": mx},
                "shrunk": _kill_dict(r.shrunk),
                "seconds": round(r.seconds, 2),
                "pairs": _pairs_json(r),
            }
        )
    ctrl = report.control
    control = {
        "passed": ctrl.passed,
        "properties": len(ctrl.checks),
        "checks": [
            {
                "name": c.name,
                "passed": c.passed,
                "examples": c.examples,
                "max_rel_error": c.max_rel_error if np.isfinite(c.max_rel_error) else None,
                "failures": [
                    {"hidden": r.hidden, "output": r.output, **r.failure._asdict()} for r in c.runs if r.failure
                ],
            }
            for c in ctrl.checks
        ],
    }
    return json.dumps(
        {
            "passed": report.passed,
            "seed": report.seed,
            "examples": report.examples,
            "activations": list(report.activations),
            "pairs": [list(p) for p in report.pairs],
            "seconds": round(report.seconds, 1),
            "jobs": report.jobs,
            "control": control,
            "mutants": mutants,
        },
        indent=2,
    )


_HEAD = ("mutant", "status", "pairs killed/equiv.", "first killer", "max examples", "shrunk example")


def _shrunk(r: MutantResult) -> str:
    k = r.shrunk
    if k is None:
        return "—"
    p = k.problem
    return f"d={p['d']}, m={p['m']}, {p['hidden']}/{p['output']}, worst {k.worst or 'shape'}"


def _rows(report: MutantsReport):
    for r in report.mutants:
        c, _, mx = _counts(r)
        yield (
            r.id,
            r.status,
            f"{c['killed']}/{c['equivalent']}",
            r.killers[0] if r.killers else "—",
            "—" if mx is None else str(mx),
            _shrunk(r),
        )


def _verdict(report: MutantsReport) -> str:
    n, ok = len(report.mutants), sum(r.killed for r in report.mutants)
    eq = sum(r.status == "equivalent" for r in report.mutants)
    bad = [r.id for r in report.mutants if not r.ok]
    ctrl = report.control
    text = (
        f"{ok} of {n} mutants killed"
        + (f", {eq} equivalent on every pair run" if eq else "")
        + (f"; NOT killed: {', '.join(bad)}" if bad else "")
        + "."
    )
    if ctrl.checks:
        failed = sum(not c.passed for c in ctrl.checks)
        text += f" Right formulas through {len(ctrl.checks)} properties on {len(report.pairs)} pairs: " + (
            "all pass." if not failed else f"{failed} property(ies) FAIL."
        )
    return (
        text + f" Seed {report.seed}, {report.examples} examples per property and pair, {report.seconds:.0f} s "
        f"on {report.jobs} process(es)."
    )


def mutants_table(report: MutantsReport) -> str:
    return "\n".join([terminal_table(_HEAD, _rows(report)), "", _verdict(report)])


def _array(a) -> str:
    return np.array2string(np.asarray(a), precision=6, separator=", ", max_line_width=200).replace("\n", " ")


def _details(r: MutantResult):
    yield f"### {r.id}"
    yield ""
    yield f"{r.description}. Equation {r.equation}; factor {r.factor}. Status: **{r.status}**."
    if r.killers:
        yield f"First killers over the pairs: {', '.join(r.killers)}."
    if r.all_killers is not None:
        yield f"Every property that kills it on the shrink pair ({len(r.all_killers)}): {', '.join(r.all_killers)}."
    refuted = [p for p in r.pairs if p.status in ("survived", "equivalence refuted")]
    for p in refuted:
        yield f"- {p.status} on {p.hidden}/{p.output}" + (
            f": {p.kill.property} failed ({p.kill.message})" if p.kill else ""
        )
    if r.shrunk:
        k, p = r.shrunk, r.shrunk.problem
        yield ""
        yield (
            f"Shrunk falsifying example for *{k.property}* ({p['hidden']} hidden, {p['output']} output), "
            f"found after {k.examples} example(s): d = {p['d']}, m = {p['m']}; "
            f"worst entry `{k.worst or '(shape)'}`; {k.message}"
        )
        yield f"x = {_array(p['x'])}, y = {_array(p['y'])}, w_h = {_array(p['w_h'])}, θ = {_array(p['theta'])}"
    yield ""


def _kills_per_property(report: MutantsReport):
    """How many mutants each property kills on their shrink pairs (with ``all_killers``)."""
    if any(r.all_killers is None for r in report.mutants if r.killed):
        return
    from gradcheck.checking.properties import PROPERTIES

    counts = {p.name: [r.id for r in report.mutants if r.all_killers and p.name in r.all_killers] for p in PROPERTIES}
    yield from [
        "",
        "## Mutants killed per property (on each mutant's shrink pair)",
        "",
        "| property | mutants killed | sole killer of |",
        "|---|---|---|",
    ]
    for name, ids in counts.items():
        sole = [i for i in ids if len(next(r for r in report.mutants if r.id == i).all_killers) == 1]
        yield f"| {name} | {len(ids)} | {', '.join(sole) or '—'} |"


def mutants_markdown(report: MutantsReport) -> str:
    out = [
        "# gradcheck mutants",
        "",
        _verdict(report),
        "",
        "Each mutant is a catalogue mistake (gradcheck/mistakes/catalogue.py). On each (hidden, output) pair",
        "the properties run until one fails; *pairs killed/equiv.* counts the pairs it was killed on and those on",
        "which it is the same function as the right formulas (there the first killer ran too and passed).",
        "*max examples*: the most examples a killing property needed on any pair. The shrunk example is the",
        "first killer rerun with shrinking.",
        "",
        "| " + " | ".join(_HEAD) + " |",
        "|" + "---|" * len(_HEAD),
    ]
    out += ["| " + " | ".join(row) + " |" for row in _rows(report)]
    failed = [c for c in report.control.checks if not c.passed]
    out += list(_kills_per_property(report))
    out += [
        "",
        "## Control: the right formulas",
        "",
        f"{len(report.control.checks)} properties × {len(report.pairs)} pairs × {report.examples} "
        f"examples, the same seed: "
        + ("all pass." if not failed else "FAILURES: " + ", ".join(c.name for c in failed)),
        "",
        "## Mutants",
        "",
    ]
    for r in report.mutants:
        out += list(_details(r))
    return "\n".join(out)


# ---- sensitivity ----------------------------------------------------------------


def sensitivity_json(report) -> str:
    fin = lambda v: v if np.isfinite(v) else None
    rows = [{**r._asdict(), "worst": fin(r.worst), "median": fin(r.median), "best": fin(r.best)} for r in report.rows]
    return json.dumps(
        {"examples_per_activation": report.examples, "seed": report.seed, "grid": list(report.grid), "rows": rows},
        indent=2,
    )


def _sens_summary(report):
    from gradcheck.mistakes.sensitivity import REGIMES

    acts = list(dict.fromkeys(r.activation for r in report.rows))
    head = ("activation", *(f"δ* {g}" for g in REGIMES), "torch: δ* median", "torch: 1 % entry caught")
    rows = []
    for a in acts:
        torch = [
            r for r in report.rows if r.activation == a and r.check == "torch criterion" and r.target == "largest entry"
        ]
        caught = sum(r.detected_1e_2 * r.examples for r in torch) / max(1, sum(r.examples for r in torch))
        med = statistics.median([r.median for r in torch]) if torch else float("nan")
        rows.append((a, *(fmt(report.worst(a, regime=g)) for g in REGIMES), fmt(med), f"{100 * caught:.0f} %"))
    return head, rows


def sensitivity_table(report) -> str:
    return terminal_table(*_sens_summary(report))


def sensitivity_markdown(report, *, picture=None) -> str:
    head, rows = _sens_summary(report)
    out = [
        "# Sensitivity of the default checks",
        "",
        f"{report.examples} drawn problems per activation (hidden = output), seed {report.seed}. δ* is the",
        "smallest relative perturbation (gradient × (1 + δ) on ∇θ, on ∇w_h, or on the largest entry) that the",
        "checks grad_θ/grad_w_h vs autodiff and vs finite differences detect, on the grid 1e-14 … 1e-1; the",
        "summary gives the WORST example (every example detects δ ≥ δ*), per regime of |ŷ − y|. The",
        "tolerance is 1000·eps of an entry's honest scale max(|ŷ − y|, R)·|∂ŷ/∂p|, so δ* ≈ 1000·eps·R/|ŷ − y|",
        "grows as ŷ − y shrinks: the rounding of ŷ − y limits what any check can know. A random entry",
        "(full table) can sit far below its block's largest one (saturated σ': 1e-185 of it) and is then",
        "judged against the 1e-6 scale floor: its δ* can exceed the grid (inf).",
        "",
        "torch.autograd.gradcheck's criterion |a − b| ≤ 1e-5 + 1e-3·|b|, applied to the same perturbed",
        "gradient against the exact one (optimistic for torch, which compares with finite differences),",
        "detects only δ ≥ 1e-3 + 1e-5/|b|: the last column is the share of examples in which it catches the",
        "largest entry off by 1 %.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    out += [
        "",
        "## Every row",
        "",
        "| activation | target | regime | check | examples | worst δ* | median δ* | "
        "best δ* | share detecting 1e-6 | share detecting 1e-2 |",
        "|" + "---|" * 10,
    ]
    out += [
        f"| {r.activation} | {r.target} | {r.regime} | {r.check} | {r.examples} | {fmt(r.worst)} | "
        f"{fmt(r.median)} | {fmt(r.best)} | {100 * r.detected_1e_6:.0f} % | {100 * r.detected_1e_2:.0f} % |"
        for r in report.rows
    ]
    return with_picture("\n".join(out) + "\n", "sensitivity", picture)  # picture: the PNG written in this run
