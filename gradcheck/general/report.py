"""The result of :func:`gradcheck.general.check.check`: data, a short summary, a dict.

Every failing entry carries its absolute error |a_i − r_i| and, where the reference is not
0, its relative error |a_i − r_i| / |r_i| — whatever part of the tolerance (the scale or
the finite differences' error bound) was larger.  Entries are named by their path in the
parameters (``W1[0, 2]``, ``layers[1].b[3]``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gradcheck.checking.tolerance import allowance
from gradcheck.largescale.full import FullCheck

__all__ = ["Entry", "GradientReport", "entries", "report"]


class Entry(NamedTuple):
    name: str  # its path in the parameters: 'W1[0, 2]'
    analytic: float  # the gradient under test
    numeric: float  # the finite-difference reference (a subgradient interval's midpoint at a kink)
    error_bound: float  # the reference's own error bound e_i
    abs_error: float  # |analytic − numeric|
    rel_error: float | None  # abs_error / |numeric|; None where the reference is 0
    tolerance: float  # the allowance: it passes when abs_error ≤ tolerance
    passed: bool

    def line(self) -> str:
        rel = "" if self.rel_error is None else f", rel {self.rel_error:.2e}"
        verdict = "ok" if self.passed else "FAIL"
        if not np.isfinite(self.numeric) or not np.isfinite(self.error_bound):
            return f"{verdict:<4} {self.name}: analytic {self.analytic:.10g}, no reference (f was not finite near it)"
        return (
            f"{verdict:<4} {self.name}: analytic {self.analytic:.10g}, numeric {self.numeric:.10g} "
            f"± {self.error_bound:.1e}; abs error {self.abs_error:.2e}{rel} (tolerance {self.tolerance:.1e})"
        )


class GradientReport(NamedTuple):
    passed: bool
    n_entries: int
    n_failed: int
    n_kinks: int  # entries at a kink of f, judged against their one-sided derivatives
    worst: tuple[Entry, ...]  # the entries closest to (or furthest past) their tolerance, worst first
    max_abs_error: float  # over the entries that have a reference
    max_rel_error: float  # over failing entries if any (reference ≠ 0), else over all with reference ≠ 0
    rtol: float
    evaluations: int  # evaluations of f at one parameter vector, all included
    message: str
    details: FullCheck  # the per-entry arrays (reference, error bound, tolerance, status)

    @property
    def summary(self) -> str:
        head = (
            f"gradient check passed: {self.n_entries} entries agree"
            if self.passed
            else f"gradient check FAILED: {self.n_failed} of {self.n_entries} entries disagree"
        )
        head += f" (rtol {self.rtol:.1e}, {self.evaluations} evaluations of f"
        head += f", {self.n_kinks} at kinks)" if self.n_kinks else ")"
        if any(not np.isfinite(e.numeric) for e in self.worst):
            head += f"; {self.message}"
        failing = [e for e in self.worst if not e.passed]
        lines = [head] + [f"  {e.line()}" for e in failing or self.worst[:1]]
        if self.n_failed > len(failing):
            lines.append(f"  … and {self.n_failed - len(failing)} more failing entries (n_worst={len(self.worst)})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary

    def __repr__(self) -> str:
        return f"<GradientReport {'passed' if self.passed else 'FAILED'}: {self.n_failed} of {self.n_entries} failed>"

    def to_dict(self) -> dict:
        """Plain data (JSON-ready): everything but ``details``; non-finite numbers as None."""
        fin = lambda v: None if v is None or not np.isfinite(v) else float(v)
        return dict(
            passed=self.passed,
            n_entries=self.n_entries,
            n_failed=self.n_failed,
            n_kinks=self.n_kinks,
            max_abs_error=fin(self.max_abs_error),
            max_rel_error=fin(self.max_rel_error),
            rtol=self.rtol,
            evaluations=self.evaluations,
            message=self.message,
            worst=[{k: fin(v) if isinstance(v, float) else v for k, v in e._asdict().items()} for e in self.worst],
        )


def entries(analytic, full: FullCheck, tolerance, name: Callable[[int], str], idx) -> tuple[Entry, ...]:
    out = []
    for i in idx:
        a, r, e, tol = float(analytic[i]), float(full.reference[i]), float(full.error[i]), float(tolerance[i])
        known = np.isfinite(r) and np.isfinite(e)
        diff = abs(a - r) if known else np.inf
        rel = diff / abs(r) if known and r != 0 else None
        out.append(Entry(name(i), a, r, e, diff, rel, tol, bool(diff <= tol)))
    return tuple(out)


def report(analytic: np.ndarray, full: FullCheck, name: Callable[[int], str], *, rtol, evaluations, n_worst):
    """The :class:`GradientReport` of a black-box check of every entry of ``analytic``.

    The tolerance is :func:`gradcheck.checking.tolerance.allowance` over the entries that have a
    reference (equal to ``full.tolerance`` when all do); an entry without one (f was not finite
    near it) fails."""
    ref, err = full.reference, full.error
    known = np.isfinite(ref) & np.isfinite(err)
    tol = np.full(ref.shape, np.nan)
    tol[known] = allowance(np.abs(ref[known]), err[known], rtol=rtol)
    diff = np.where(known, np.abs(analytic - np.where(known, ref, 0.0)), np.inf)
    bad = ~known | (diff > np.where(known, tol, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(known, diff / tol, np.inf)
    order = np.argsort(-excess, kind="stable")[:n_worst]
    nonzero = known & (ref != 0)
    over = (bad if bad.any() else np.ones_like(bad)) & nonzero
    rel = float(np.max(diff[over] / np.abs(ref[over]), initial=0.0))
    n_bad = int(bad.sum())
    if not known.all():
        message = full.comparison.message
    else:
        message = f"{n_bad} of {analytic.size} entries disagree; worst {name(int(order[0]))}" if n_bad else ""
    return GradientReport(
        passed=not bad.any(),
        n_entries=int(analytic.size),
        n_failed=n_bad,
        n_kinks=int(full.n_kinks),
        worst=entries(analytic, full, tol, name, order),
        max_abs_error=float(np.max(diff[known], initial=0.0)),
        max_rel_error=rel,
        rtol=float(rtol),
        evaluations=int(evaluations),
        message=message,
        details=full,
    )
