"""The named checks, with points and partial credit, judged in the parent from returned data.

Each check scores ``points × (items passed / items)``; an item with no result (the
call raised, timed out, returned garbage) fails — fail closed.  How values are
compared (dtype-aware precision, numerical approximations): :mod:`.judge`.  If no
forward or gradient value at all is right, nothing is credited.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradcheck.grading.conduct import deterministic, function_of, never_returned, not_mutated, sgd_lowers_loss
from gradcheck.grading.judge import (
    CheckResult,
    Context,
    Tally,
    call_error,
    case_label,
    forward_reading,
    gradient_reading,
    judge,
    namer,
)
from gradcheck.grading.plan import FD_SIGNS, FD_STEP
from gradcheck.grading.problems import SAMPLES
from gradcheck.grading.readings import read_gradients
from gradcheck.model import network
from gradcheck.model.formulas import Gradients

__all__ = [
    "CheckResult",
    "Context",
    "CHECKS",
    "MAX_SCORE",
    "run_checks",
    "observed_gradients",
    "function_of",
    "never_returned",
]

CONSISTENT = 1e-6  # relative agreement required between the gradient and FD of the own forward


# ------------------------------------------------------------------------ checks
def _imports(ctx: Context, t: Tally):
    if ctx.import_error:
        t.item(False, f"the submission failed to import: {ctx.import_error.replace('submission.py', ctx.file)}")
        t.item(False, "")
        return
    for function in ctx.contract.functions:
        missing = any(
            r.error_type == "AttributeError" and f"no function {function!r}" in r.message for r in ctx.calls.values()
        )
        t.item(not missing, f"{function} is not defined")


def _forward_items(ctx: Context):
    for c, _case in enumerate(ctx.problems.cases):
        yield f"fwd/{c}", c, slice(None)
        for s in range(SAMPLES):
            yield f"row/{c}/{s}", c, slice(s, s + 1)


def _forward_shapes(ctx: Context, t: Tally):
    for cid, c, rows in _forward_items(ctx):
        case = ctx.problems.cases[c]
        n = len(case.X[rows])
        reading, error = forward_reading(ctx, cid, n, case.m)
        bad = error or "; ".join(v.error for v in (reading or {}).values() if not v.shape_ok)
        for v in (reading or {}).values():
            t.note(v.note)
        t.item(not bad, f"{case_label(ctx.problems, c)}, n={n}: {bad}", (cid,))


def _entry_namer(name: str, shape: tuple):
    return lambda i: f"{name}[{', '.join(map(str, np.unravel_index(i, shape)))}]"


def _forward_values(ctx: Context, t: Tally):
    for cid, c, rows in _forward_items(ctx):
        case, ref = ctx.problems.cases[c], ctx.ref.cases[c]
        n = len(case.X[rows])
        reading, error = forward_reading(ctx, cid, n, case.m)
        if error:
            t.item(False, f"{case_label(ctx.problems, c)}, n={n}: {error}", (cid,))
            continue
        sub = Tally()
        for name, value in reading.items():
            judge(
                value,
                getattr(ref.forward, name)[rows],
                ref.forward_scale[name][rows],
                _entry_namer(name, getattr(ref.forward, name)[rows].shape),
                sub,
                f"{name} ({case_label(ctx.problems, c)}, n={n})",
            )
        t.item(sub.passed == sub.total, "; ".join(sub.problems[:2]), (cid,))
        for note in sub.notes:
            t.note(note)


def _gradient_items(ctx: Context, prefix: str, cases=None):
    for c, _case in enumerate(ctx.problems.cases):
        if cases is None or c in cases:
            for s in range(SAMPLES):
                yield f"{prefix}/{c}/{s}", c, s


def _shape_check(block: str):
    def check(ctx: Context, t: Tally):
        for cid, c, s in _gradient_items(ctx, "ref"):
            case = ctx.problems.cases[c]
            reading, error = gradient_reading(ctx, cid, case.d, case.m)
            value = reading[block] if reading else None
            bad = error or ("" if value.shape_ok else value.error or value.note)
            t.item(not bad, f"{case_label(ctx.problems, c)}: {bad}", (c, s))

    return check


def _value_check(block: str):
    def check(ctx: Context, t: Tally):
        for cid, c, s in _gradient_items(ctx, "ref"):
            case, ref = ctx.problems.cases[c], ctx.ref.cases[c]
            reading, error = gradient_reading(ctx, cid, case.d, case.m)
            label = f"{'∇w_h' if block == 'w_h' else '∇θ'} ({case_label(ctx.problems, c)}, sample {s})"
            if error:
                t.item(False, f"{label}: {error}", (c, s))
                continue
            judge(
                reading[block],
                getattr(ref.gradients[s], block),
                getattr(ref.scales[s], block),
                namer(case, block),
                t,
                label,
                (c, s),
            )

    return check


def _course_pipeline(ctx: Context, t: Tally):
    d1 = {c for c, case in enumerate(ctx.problems.cases) if case.d == 1}
    for cid, c, s in _gradient_items(ctx, "own", d1):
        case, ref = ctx.problems.cases[c], ctx.ref.cases[c]
        reading, error = gradient_reading(ctx, cid, case.d, case.m)
        label = f"forward_pass then compute_gradients ({case_label(ctx.problems, c)}, sample {s})"
        if error:
            t.item(False, f"{label}: {error}", (c, s))
            continue
        sub = Tally()
        for block in ("w_h", "theta"):
            judge(
                reading[block],
                getattr(ref.gradients[s], block),
                getattr(ref.scales[s], block),
                namer(case, block),
                sub,
                f"{'∇w_h' if block == 'w_h' else '∇θ'} via {label}",
            )
        t.item(sub.passed == sub.total, "; ".join(sub.problems[:1]), (c, s))
        for note in sub.notes:
            t.note(note)


def _fd_directional(ctx: Context, c: int, k: int):
    """(D, error) per gradient sample: the derivative of the loss of the student's own forward along v_k."""
    case = ctx.problems.cases[c]
    losses, eps = [], 0.0
    for j in range(len(FD_SIGNS)):
        reading, error = forward_reading(ctx, f"fd/{c}/{k}/{j}", SAMPLES, case.m)
        y_hat = reading.get("y_hat") if reading else None
        if error or y_hat is None or y_hat.array is None:
            return None, error or (y_hat.error if y_hat else "no y_hat")
        losses.append(0.5 * (y_hat.array - case.Y[:SAMPLES]) ** 2)
        dtype = y_hat.dtype if y_hat.dtype in ("float16", "float32") else "float64"
        eps = max(eps, float(np.finfo(dtype).eps))
    l = np.array(losses)
    d_h, d_2h = (l[0] - l[1]) / (2 * FD_STEP), (l[2] - l[3]) / (4 * FD_STEP)
    rounding = 4 * eps * np.max(np.abs(l) + np.sqrt(2 * np.abs(l)), axis=0) / FD_STEP
    return (4 * d_h - d_2h) / 3, np.abs(d_h - d_2h) + rounding


def _consistency(ctx: Context, t: Tally):
    for c, case in enumerate(ctx.problems.cases):
        fd = [_fd_directional(ctx, c, k) for k in range(len(case.directions))]
        for s in range(SAMPLES):
            reading, error = gradient_reading(ctx, f"own/{c}/{s}", case.d, case.m)
            label = f"{case_label(ctx.problems, c)}, sample {s}"
            if error or any(v.array is None for v in reading.values()):
                t.item(False, f"{label}: {error or 'gradient unusable'}", (c, s))
                continue
            g = network.pack(reading["w_h"].array, reading["theta"].array)
            ok, worst = True, ""
            for k, (D, err) in enumerate(fd):
                if D is None:
                    ok, worst = False, f"forward_pass at perturbed weights: {err}"
                    break
                v = case.directions[k]
                gv, scale = g @ v, np.abs(g * v).sum() + abs(D[s])
                if abs(gv - D[s]) > CONSISTENT * scale + 2 * err[s]:
                    ok = False
                    worst = (
                        f"along a random direction v your gradient gives g·v = {gv:.6g}, but finite "
                        f"differences of the loss of your {ctx.contract.forward.function} give {D[s]:.6g}"
                    )
            t.item(ok, f"{label}: {worst}", (c, s))


CHECKS: tuple[tuple[str, str, float, Callable], ...] = (
    ("imports", "imports and defines the functions", 5, _imports),
    ("forward_shapes", "forward pass: shapes", 5, _forward_shapes),
    ("forward_values", "forward pass: values", 10, _forward_values),
    ("grad_theta_shape", "∇θ: shape", 5, _shape_check("theta")),
    ("grad_theta_values", "∇θ: values (reference intermediates)", 20, _value_check("theta")),
    ("grad_w_h_shape", "∇w_h: shape", 5, _shape_check("w_h")),
    ("grad_w_h_values", "∇w_h: values (reference intermediates)", 20, _value_check("w_h")),
    ("course_pipeline_d1", "the course's d = 1 pipeline: forward_pass then compute_gradients", 5, _course_pipeline),
    ("consistent_with_own_forward", "gradients vs finite differences of your own forward_pass", 10, _consistency),
    ("inputs_not_mutated", "inputs not mutated", 5, not_mutated),
    ("deterministic", "same result twice", 5, deterministic),
    ("sgd_lowers_loss", "SGD with your gradients lowers the loss", 5, sgd_lowers_loss),
)
MAX_SCORE = float(sum(points for _, _, points, _ in CHECKS))


SUBSTANCE = ("forward_values", "grad_theta_values", "grad_w_h_values", "course_pipeline_d1")


def run_checks(ctx: Context) -> list[CheckResult]:
    """Every check; if no forward or gradient value at all is right, nothing is credited —
    shapes, purity and determinism are then properties of code that does nothing."""
    results = _all_checks(ctx)
    if any(r.score > 0 for r in results if r.name in SUBSTANCE):
        return results
    return [
        r._replace(
            score=0.0,
            passed=False,
            message=f"not credited: no forward or gradient value is right{'' if r.passed else '; ' + r.message}",
        )
        if r.name not in SUBSTANCE
        else r
        for r in results
    ]


def _all_checks(ctx: Context) -> list[CheckResult]:
    results = []
    for name, title, points, fn in CHECKS:
        t = Tally()
        try:
            fn(ctx, t)
        except Exception as exc:
            t.item(False, f"internal error while checking: {type(exc).__name__}: {exc}")
        if t.not_run:
            results.append(CheckResult(name, title, points, 0.0, False, f"not run: {t.not_run}", tuple(t.notes)))
            continue
        fraction = t.passed / t.total if t.total else 0.0
        failed = t.total - t.passed
        first = next((p for p in t.problems if p), "")
        message = (
            "ok"
            if failed == 0 and t.total
            else f"{failed} of {t.total} failed; first: {first}"
            if t.total > 1
            else first or "failed"
        )
        results.append(
            CheckResult(
                name,
                title,
                points,
                round(points * fraction, 2),
                failed == 0 and t.total > 0,
                message,
                tuple(t.notes),
                tuple(t.failures),
            )
        )
    return results


def observed_gradients(ctx: Context, cid: str, d: int, m: int) -> Gradients | None:
    """The blocks as returned (a wrong shape kept as it is), for the diagnosis."""
    r = ctx.calls.get(cid)
    if call_error(r):
        return None
    reading = read_gradients(ctx.contract, r.values, r.kinds, d, m, ctx.layout)
    raw = {}
    for block in ("w_h", "theta"):
        v, symbol = reading[block], ctx.contract.block_symbol(block)
        value = r.values.get(ctx.contract.gradients.keys[symbol])
        if v.shape_ok:
            raw[block] = v.array
        elif value is not None:
            raw[block] = value.T if symbol == "w_h.T" and value.ndim == 2 else value
    return Gradients(raw["w_h"], raw["theta"]) if len(raw) == 2 else None
