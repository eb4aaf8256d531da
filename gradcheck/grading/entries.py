"""The wrong entries of a failing gradient, as data for a heatmap in the feedback.

For the largest failing case (its first failing sample) on which ∇w_h or ∇θ fails (the checks' ``failures``), each
entry's error in units of its allowance — |a_i − r_i| / allowance_i, the tolerance rule of
:mod:`gradcheck.checking.tolerance` at the precision of the returned dtype, per block as
the judge applies it: > 1 is wrong.  ∇w_h is (d+1, m) with the bias row last (x̄ = (x, 1),
eq. 11); ∇θ is (m+1,) with the bias last (h̄ = (h, 1), eq. 6).  A block returned with a
wrong shape has no map (``None``).  Plain tuples, so results stay comparable data.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gradcheck.checking.tolerance import allowance, default_rtol
from gradcheck.grading.checks import observed_gradients
from gradcheck.grading.judge import CheckResult, Context, case_label

__all__ = ["EntryErrors", "entry_errors"]


class EntryErrors(NamedTuple):
    case: str  # "d=3, m=4, sample 1"
    d: int
    m: int
    w_h: tuple | None  # (d+1) rows of m excesses (inf: not finite); None: wrong shape
    theta: tuple | None  # m+1 excesses; None: wrong shape


def _excess(value, want, scale) -> tuple | None:
    a = np.asarray(value)
    if a.shape != np.shape(want) or a.dtype.kind not in "biuf":
        return None
    rtol = default_rtol(a.dtype if a.dtype.kind == "f" else np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a.astype(np.float64) - want)
        ratio = np.where(np.isfinite(diff), diff / allowance(scale, rtol=rtol), np.inf)
    return tuple(map(tuple, ratio.tolist())) if ratio.ndim == 2 else tuple(ratio.tolist())


def entry_errors(ctx: Context, checks: list[CheckResult]) -> EntryErrors | None:
    """The heatmap data of the largest failing case, or None when the values all pass
    (or the returned data cannot be mapped: a picture never costs a student their grade)."""
    try:
        return _entry_errors(ctx, checks)
    except Exception:
        return None


def _entry_errors(ctx: Context, checks: list[CheckResult]) -> EntryErrors | None:
    by = {c.name: c for c in checks}
    failures = [f for name in ("grad_w_h_values", "grad_theta_values") for f in by[name].failures]
    if not failures:
        return None
    c, s = max(failures, key=lambda f: ((ctx.problems.cases[f[0]].d + 1) * ctx.problems.cases[f[0]].m, -f[0], -f[1]))
    case, ref = ctx.problems.cases[c], ctx.ref.cases[c]
    observed = observed_gradients(ctx, f"ref/{c}/{s}", case.d, case.m)
    if observed is None:
        return None
    want, scale = ref.gradients[s], ref.scales[s]
    w_h = _excess(observed.w_h, want.w_h, scale.w_h)
    theta = _excess(np.reshape(observed.theta, -1) if np.size(observed.theta) == case.m + 1 else observed.theta,
                    want.theta, scale.theta)  # fmt: skip
    if w_h is None and theta is None:
        return None
    return EntryErrors(f"{case_label(ctx.problems, c)}, sample {s}", case.d, case.m, w_h, theta)
