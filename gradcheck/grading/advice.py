"""What to fix: a graded submission's checks turned into advice, (id, message) pairs.

First the crashes (the exception, file:line and the source line); then what the catalogue or the
structural patterns of :mod:`gradcheck.diagnosis` say about the wrong gradients; then which
function holds the bug, mutation of the inputs, numerical approximations.
"""

from __future__ import annotations

import numpy as np

from gradcheck.diagnosis.diagnose import common_mistakes, diagnose, reproduces
from gradcheck.diagnosis.observations import Observation
from gradcheck.diagnosis.structure import structural_patterns
from gradcheck.grading.activation import activation_mismatch, activation_unknown
from gradcheck.grading.checks import CheckResult, Context, function_of, observed_gradients
from gradcheck.grading.judge import case_label, where
from gradcheck.grading.problems import SAMPLES

__all__ = ["advise"]


def _crashes(ctx: Context) -> list[tuple[str, str]]:
    """One 'crash' entry per function that raised: the exception, the line of the student's file, how often."""
    out = []
    for function in ctx.contract.functions:
        calls = [
            (cid, r)
            for cid, r in ctx.calls.items()
            if cid != "sgd" and not cid.startswith("probe/") and function_of(ctx, cid) == function
        ]
        raised = [(cid, r) for cid, r in calls if r.status == "error" and r.error_type not in ("NotRun", "ImportError")]
        if not raised:
            continue
        cid, r = raised[0]
        how = (
            f"on every one of its {len(calls)} calls"
            if len(raised) == len(calls)
            else f"on {len(raised)} of {len(calls)} calls"
        )
        part = cid.split("/")
        first = ""
        if len(part) > 1 and part[1].isdigit():
            first = f" (first on {case_label(ctx.problems, int(part[1]))})"
        out.append(
            (
                "crash",
                f"{function} raised {r.message}{where(r, ctx.file)} — {how}{first}. "
                "Where it raised it returned nothing, so nothing it computes could be checked there: fix this first",
            )
        )
    return out


KIND = {  # a structural pattern's kind -> the heading the student reads
    "zero": "zero_gradient",
    "ratio": "scaled_gradient",
    "columns_equal": "columns_all_equal",
    "columns_shifted": "columns_shifted",
    "rows_shifted": "rows_shifted",
    "line": "one_row_or_column",
    "size": "hard_coded_size",
    "approximation": "numerical_approximation",
}


def _observations(ctx: Context) -> list[Observation]:
    """Every graded gradient sample: what the student returned (None where it raised) and the right one."""
    kw = dict(hidden=ctx.ref.hidden, output=ctx.ref.output)
    out = []
    for c, case in enumerate(ctx.problems.cases):
        ref = ctx.ref.cases[c]
        for s in range(SAMPLES):
            g = observed_gradients(ctx, f"ref/{c}/{s}", case.d, case.m)
            blocks = (None, None) if g is None else tuple(_array(b) for b in g)
            args = (case.X[s], case.Y[s], case.w_h, case.theta)
            out.append(Observation(case.d, case.m, blocks, tuple(ref.gradients[s]), tuple(ref.scales[s]), args, kw))
    return out


def _array(value):
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return a if np.all(np.isfinite(a)) else None


def _catalogue(ctx: Context, failures) -> tuple[tuple, list]:
    """(full, diagnoses): the catalogue mistakes that reproduce a failing sample of every failing
    shape — the whole catalogue tried on three shapes (:func:`~gradcheck.diagnosis.diagnose.common_mistakes`),
    the survivors checked on the others (:func:`~gradcheck.diagnosis.diagnose.reproduces`) — and the
    diagnoses made (largest problem first)."""
    per_case: dict = {}
    for c, s in failures:
        per_case.setdefault(c, (c, s))  # one failing sample per shape (d, m)
    kw = dict(hidden=ctx.ref.hidden, output=ctx.ref.output)
    samples = []
    for c, s in per_case.values():
        case = ctx.problems.cases[c]
        observed = observed_gradients(ctx, f"ref/{c}/{s}", case.d, case.m)
        if observed is not None:
            samples.append((case, s, observed))
    diagnoses, full = [], ()
    for case, s, observed in samples[:3]:
        try:
            diagnoses.append(
                ((case.d + 1) * case.m, diagnose(observed, case.X[s], case.Y[s], case.w_h, case.theta, **kw))
            )
        except Exception:
            continue
    full = common_mistakes(d for _, d in diagnoses)
    for case, s, observed in samples[3:]:
        if not full:
            break
        args = (observed, case.X[s], case.Y[s], case.w_h, case.theta)
        full = tuple(m for m in full if _reproduces(m.id, args, kw))
    diagnoses.sort(key=lambda t: -t[0])
    return full, [d for _, d in diagnoses]


def _reproduces(mistake_id, args, kw) -> bool:
    try:
        return reproduces(mistake_id, *args, **kw)
    except Exception:
        return False


def _gradient_advice(ctx: Context, failures) -> list[tuple[str, str]]:
    """The catalogue first (a mistake that reproduces every failing sample); else the structural
    patterns across every problem; else what the catalogue partly matches, or the plain account."""
    if not failures:
        return []
    full, diagnoses = _catalogue(ctx, failures)
    if full:
        return [(m.id, m.message) for m in full]
    try:
        patterns = structural_patterns(_observations(ctx))
    except Exception:  # advice is a courtesy: never a reason to lose the grade
        patterns = ()
    if patterns:
        top = patterns[0]
        kind = top.id.split(":")[1]
        return [("two_mistakes" if "&" in top.id else KIND.get(kind, "pattern"), top.message)]
    out = []
    for d in diagnoses:
        for m in d.mistakes:
            if m.id not in {i for i, _ in out}:
                out.append((m.id, m.message))
    if not out and diagnoses and diagnoses[0].summary:
        out.append(("unmatched", diagnoses[0].summary))
    return out


def _mutation(by) -> list[tuple[str, str]]:
    check = by["inputs_not_mutated"]
    if check.passed or "in place" not in check.message:
        return []
    return [
        (
            "mutates_inputs",
            f"{check.message.split('; first: ')[-1]}: work on a copy "
            "(np.array(a), a.copy()) or build new arrays; an alias such as `g = theta` "
            "followed by `g[:] = ...` writes into the caller's θ",
        )
    ]


def advise(ctx: Context, checks: list[CheckResult], *, source: str = "detected") -> list[tuple[str, str]]:
    """The 'What to fix' entries: (id, message), most useful first.  ``source`` of the activation:
    'given' — a contradiction with the forward outputs is said first, and nothing is claimed about
    gradients compared with the wrong reference; 'assumed' — outputs that are no built-in activation
    are said first."""
    given = source == "given"
    by = {c.name: c for c in checks}
    if ctx.import_error:
        text = ctx.import_error.replace("submission.py", ctx.file)
        return [("import_failed", f"your file failed to import — {text}; nothing in it could run: fix this first")]
    out: list[tuple[str, str]] = _crashes(ctx)
    if given and (mismatch := activation_mismatch(ctx)):
        out.insert(0, ("activation_mismatch", mismatch))
        return out + _mutation(by)
    if source == "assumed" and (unknown := activation_unknown(ctx)):
        return [("activation_unknown", unknown)] + out + _mutation(by)  # the reference was a guess
    raised = {
        function_of(ctx, cid) for cid, r in ctx.calls.items() if r.status == "error" and not cid.startswith("probe/")
    }
    failures = []
    for name in ("grad_w_h_values", "grad_theta_values", "grad_w_h_shape", "grad_theta_shape"):
        failures += [f for f in by[name].failures if f not in failures]
    out += _gradient_advice(ctx, failures)
    grads_ok = by["grad_w_h_values"].passed and by["grad_theta_values"].passed
    if grads_ok and not by["forward_values"].passed:
        out.append(
            (
                "bug_in_forward",
                f"{ctx.contract.gradients.function} is right (it agrees with the reference "
                f"when fed the reference intermediates) but {ctx.contract.forward.function} "
                "is not: fix the forward pass",
            )
        )
    elif (
        by["forward_values"].passed
        and not grads_ok
        and not by["consistent_with_own_forward"].passed
        and ctx.contract.gradients.function not in raised  # a function that raised disagrees with nothing
    ):
        out.append(
            (
                "bug_in_gradients",
                f"{ctx.contract.forward.function} is right; {ctx.contract.gradients.function}"
                " disagrees with finite differences of it: the bug is in the gradients",
            )
        )
    out += _mutation(by)
    if "numerical_approximation" not in {m for m, _ in out} and any(
        "numerical approximation" in by[name].message for name in ("grad_w_h_values", "grad_theta_values")
    ):
        out = [(m, msg) for m, msg in out if m != "unmatched"]  # that is what it did not match
        out.append(
            (
                "numerical_approximation",
                "the gradients agree with the reference only to about 1e-8: they "
                "look computed by finite differences, not by the formulas (6) and (11)",
            )
        )
    return out
