"""The full per-entry check of any f: (k, P) → (k,) or (k, n), by batched perturbations.

Rows are built by :func:`gradcheck.oracles.finite_differences.perturbed`; the derivatives, kinks and
verdict are :mod:`gradcheck.largescale.entries`' (see :mod:`gradcheck.largescale.full` for the model).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from gradcheck.checking.tolerance import allowance
from gradcheck.largescale.entries import ROUND, FullCheck, judge, run_derivative, subgradients
from gradcheck.largescale.incremental import EPS, STEP
from gradcheck.largescale.stencil import kink_at_zero
from gradcheck.model.shapes import as_float_array
from gradcheck.oracles.finite_differences import DEFAULT_BUDGET, perturbed, rows_per_chunk

__all__ = ["check_gradient_blackbox"]


class _BlackBox:
    """t, i ↦ mean of f(p0 + t e_i), chunked by :func:`gradcheck.oracles.finite_differences.perturbed`;
    ``term(t, i, s)``: sample s's term alone (for the one-sided derivatives at kinks)."""

    def __init__(self, f, p0, budget):
        self.f, self.p0, self.budget, self.calls = f, p0, budget, 0

    def _rows(self, t, *index):
        shaped = [np.reshape(v, np.shape(v) + (1,) * (np.ndim(t) - np.ndim(v))) for v in index]
        return np.broadcast_arrays(t, *shaped)

    def __call__(self, t, i):
        t, i = self._rows(t, i)
        self.calls += t.size
        return perturbed(self.f, self.p0, i.ravel(), t.ravel(), self.budget)[0].reshape(t.shape)

    def term(self, t, i, s):
        t, i, s = self._rows(t, i, s)
        tf, jf, sf = t.ravel(), i.ravel(), s.ravel()
        # one evaluation per distinct point p0 + t e_i: every sample's term comes from the same row
        key = np.stack([jf.astype(np.int64), np.ascontiguousarray(tf, dtype=np.float64).view(np.int64)], axis=1)
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        uj, ut, out = jf[first], tf[first], np.empty(t.size)
        chunk = rows_per_chunk(self.f, self.p0.size, self.budget)
        for a in range(0, first.size, chunk):
            rows = np.repeat(self.p0[None, :], min(chunk, first.size - a), axis=0)
            rows[np.arange(rows.shape[0]), uj[a : a + chunk]] += ut[a : a + chunk]
            terms = np.asarray(self.f(rows), dtype=np.float64).reshape(rows.shape[0], -1)
            mine = np.flatnonzero((inverse.ravel() >= a) & (inverse.ravel() < a + rows.shape[0]))
            out[mine] = terms[inverse.ravel()[mine] - a, sf[mine]]
        self.calls += first.size
        return out.reshape(t.shape)


def _blackbox_kinks(bb, coords, res, steps, f0, noise, n):
    """Coordinates (indices into ``coords``) with a kink at p0 (:func:`gradcheck.largescale.stencil.kink_at_zero`),
    and :func:`gradcheck.largescale.entries.subgradients` for them: their subgradient intervals replace
    the central estimates."""
    c = np.flatnonzero(kink_at_zero(res.values, f0, steps, noise))
    if not c.size:
        return c, None
    ii, ss = np.repeat(coords[c], n), np.tile(np.arange(n), c.size)
    st = np.repeat(steps[c], n)
    return c, subgradients(bb.term, ii, ss, (st, st), 0.0, lambda a: 5 * ROUND * n * noise / a, c.size)


def check_gradient_blackbox(
    f: Callable,
    p0,
    grad,
    *,
    scale=None,
    noise: float | None = None,
    rtol=None,
    coords=None,
    name: Callable[[int], str] | None = None,
    budget: int = DEFAULT_BUDGET,
) -> FullCheck:
    """Every entry (or ``coords``) of ``grad`` against the derivative of f: (k, P) → (k,) or (k, n)
    (mean taken), by batched perturbations.  ``noise``: the loss's rounding (default
    eps·mean |terms of f(p0)|); ``scale``: entry magnitudes (default |reference|).  A coordinate
    along which the loss has a kink at p0 (detected from the stencil's values) is judged
    against its subgradient interval, from per-sample one-sided derivatives."""
    t0 = time.perf_counter()
    p0 = as_float_array(p0, "p0").ravel()
    g = as_float_array(grad, "grad")
    if g.shape != p0.shape and g.size != p0.size:
        raise ValueError(f"grad: expected {p0.size} entries (the size of p0), got shape {g.shape}")
    g = g.ravel()
    coords = np.arange(p0.size) if coords is None else np.asarray(coords, dtype=np.intp)
    terms = np.asarray(f(p0[None, :]), dtype=np.float64).ravel()
    noise = float(EPS * np.abs(terms).mean()) if noise is None else float(noise)
    bb = _BlackBox(f, p0, budget)
    steps = STEP * np.maximum(1.0, np.abs(p0[coords]))
    s = None if scale is None else np.broadcast_to(np.asarray(scale, float).ravel(), p0.shape)[coords]
    res, a = run_derivative(bb, coords.size, steps, np.zeros(coords.size), (coords,), 0.0)
    ref, err, status, evals = res.df, res.error + ROUND * noise / a, res.status, int(res.nfev.sum())
    kinked, interval = _blackbox_kinks(bb, coords, res, steps, terms.mean(), noise, terms.size)
    if interval is not None:  # (its error carries its own rounding)
        ref[kinked], err[kinked], status[kinked] = interval[:3]
        evals += interval[3]
    t1 = time.perf_counter()
    cmp = judge(g[coords], ref, err, s, rtol, (lambda i: name(coords[i])) if name else (lambda i: f"p[{coords[i]}]"))
    tol = allowance(np.abs(ref) if s is None else s, err, rtol=rtol)
    return FullCheck(
        cmp.passed,
        cmp,
        ref,
        err,
        tol,
        status,
        evals / p0.size + 1,
        evals,
        kinked.size,
        dict(derivatives=t1 - t0, compare=time.perf_counter() - t1),
    )
