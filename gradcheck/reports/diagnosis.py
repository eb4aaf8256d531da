"""Diagnosis reports: one diagnosis as text for a student, and the accuracy figures as JSON and Markdown."""

from __future__ import annotations

import json

from gradcheck.diagnosis.accuracy import Accuracy
from gradcheck.diagnosis.diagnose import Diagnosis

__all__ = ["accuracy_json", "accuracy_markdown", "diagnosis_text"]


def diagnosis_text(d: Diagnosis) -> str:
    """A diagnosis as plain text for a student report."""
    if d.correct:
        return d.summary
    lines = ["Wrong parts:", *(f"  - {b}" for b in d.blocks)]
    if d.mistakes:
        lines += [
            "Likely mistake" + ("s" if len(d.mistakes) > 1 else "") + ":",
            *(f"  - [{m.id}] {m.message} (factor {m.factor})" for m in d.mistakes),
        ]
    if d.patterns:
        lines += ["Patterns:", *(f"  - {p}" for p in d.patterns)]
    return "\n".join(lines)


def accuracy_json(a: Accuracy) -> str:
    return json.dumps(
        {**a._asdict(), "top1_rate": a.top1_rate, "strict_rate": a.strict_rate, "misses": [list(m) for m in a.misses]},
        indent=2,
    )


def accuracy_markdown(a: Accuracy) -> str:
    out = [
        "# Diagnosis accuracy",
        "",
        f"{a.cases} random (mistake, problem) cases, seed {a.seed}, noise {a.noise:g}·eps per entry "
        f"plus ~eps·|ŷ| in y ({a.seconds:.1f} s).",
        "",
        f"- equivalent on their problem (mistake = right gradient; not scored): {a.equivalent}",
        f"- scored: {a.scored}; **top-1 (true id among the tied matches listed first): "
        f"{a.top1}/{a.scored} = {100 * a.top1_rate:.1f} %**; strictly first: {a.strict_top1}/{a.scored} = "
        f"{100 * a.strict_rate:.1f} %; cases with tied matches: {a.tied}",
        f"- controls (right gradients: formulas with the same noise, and the autodiff oracle): "
        f"{a.controls - a.control_false_alarms}/{a.controls} judged correct with no mistake named",
        "",
        "| mistake | scored | top-1 | strictly first | equivalent |",
        "|---|---|---|---|---|",
    ]
    out += [f"| {i} | {s} | {t} | {f} | {e} |" for i, (s, t, f, e) in a.per_mistake.items()]
    if a.misses:
        out += ["", "## Misses", ""] + [f"- {m}" for m in a.misses]
    return "\n".join(out) + "\n"
