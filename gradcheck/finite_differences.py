"""Oracle 1: derivative-free estimates of ∇l from evaluations of the loss alone.

The loss is a black box ``f`` of the flattened parameters p = (w_h.ravel(), θ)
(:func:`gradcheck.network.pack`): ``f`` maps a stack of parameter vectors of shape
(k, P) to the terms whose mean is the loss, shape (k, n) — per-sample losses — or
to k losses, shape (k,).  Knowing the terms sizes the rounding error honestly
when the mean cancels (a batch gradient far smaller than its per-sample parts).  Perturbed vectors are evaluated in chunks sized to a memory
budget, a few vectorised forward passes in all.  Three estimators:

* :func:`central_differences` — every coordinate, steps h and 2h;
* :func:`complex_step` — every coordinate, Im f(p + i h e_j) / h, for analytic σ;
* :func:`settle` — ``scipy.differentiate.derivative`` on chosen coordinates,
  for entries in dispute.

Each returns an :class:`Estimate` carrying its own per-entry error bound.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from scipy.differentiate import derivative

from . import activations
from .network import forward_unchecked, pack, unpack
from .shapes import validate

__all__ = ["Estimate", "network_loss", "central_differences", "complex_step", "settle", "estimate"]

EPS = np.finfo(np.float64).eps
DEFAULT_BUDGET = 64 * 2**20  # bytes of perturbed rows and intermediates alive at once


class Estimate(NamedTuple):
    grad: np.ndarray    # (P,) derivative estimates
    error: np.ndarray   # (P,) absolute error bound per entry
    status: np.ndarray  # (P,) 0 = converged/trusted; scipy.differentiate's codes otherwise
    nfev: int           # evaluations of the loss (rows of f)
    method: str


class BatchLoss:
    """f(p: (k, P)) → (k, n) per-sample losses of the spec's network; ``bytes_per_row`` sizes chunks."""

    def __init__(self, x, y, d, m, hidden, output):
        x, y = np.atleast_2d(x), np.atleast_1d(y)  # one sample is a (1, d) design matrix
        self.x, self.y, self.d, self.m = x, y, d, m
        self.hidden, self.output = hidden, output
        n = x.shape[0]
        self.bytes_per_row = 16 * ((d + 1) * m + m + 1 + 4 * n * (m + 2))

    def __call__(self, p: np.ndarray) -> np.ndarray:
        w_h, theta = unpack(p, self.d, self.m)
        f = forward_unchecked(self.x, self.y, w_h, theta, hidden=self.hidden, output=self.output)
        return f.l.reshape(p.shape[:-1] + (-1,))


def network_loss(x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> tuple[BatchLoss, np.ndarray]:
    """The loss as a black box of stacked parameter vectors, and the point p0."""
    p = validate(x, y, w_h, theta)
    activations.get(hidden, argument="hidden"), activations.get(output, argument="output")
    return BatchLoss(p.x, p.y, p.dims.d, p.dims.m, hidden, output), pack(p.w_h, p.theta)


def _rows_per_chunk(f, P: int, budget: int) -> int:
    per_row = getattr(f, "bytes_per_row", 32 * P)
    return max(1, budget // max(per_row, 1))


def _perturbed(f, p0, coords, deltas, budget) -> tuple[np.ndarray, np.ndarray]:
    """Mean and mean |term| of f(p0 + deltas[i] e_{coords[i]}) for every i, chunked.
    ``deltas`` may be complex; the term magnitude is then that of the imaginary parts."""
    dtype = np.result_type(p0, deltas, np.float64)
    mean, size = np.empty(len(coords), dtype=dtype), np.empty(len(coords))
    rows = _rows_per_chunk(f, p0.size, budget)
    for start in range(0, len(coords), rows):
        j, dj = coords[start:start + rows], deltas[start:start + rows]
        stack = np.repeat(p0[None, :].astype(dtype), len(j), axis=0)
        stack[np.arange(len(j)), j] += dj
        terms = np.asarray(f(stack)).reshape(len(j), -1)
        mean[start:start + len(j)] = terms.mean(axis=1)
        part = terms.imag if np.iscomplexobj(terms) else terms
        size[start:start + len(j)] = np.abs(part).mean(axis=1)
    return mean, size


def _steps(p0, scale):
    """Steps h_j = scale·max(1, |p_j|), rounded so p_j ± h_j is exact."""
    h = scale * np.maximum(1.0, np.abs(p0))
    return (p0 + h) - p0


def central_differences(f: Callable, p0, *, noise: float | None = None, budget: int = DEFAULT_BUDGET) -> Estimate:
    """Central differences on every coordinate, with an error bound.

    D_h = (f(p + h e_j) − f(p − h e_j)) / 2h with h = ∛eps·max(1, |p_j|).  With
    D_2h the same at twice the step, the truncation error of D_h is ≈ |D_h − D_2h|/3
    and rounding adds ≲ 2·δf / h, δf the rounding in f: eps·(mean magnitude of
    its terms) unless the caller knows better (``noise``: cancellation inside f).
        error_j = |D_h − D_2h| + 4·max(δf) / h_j     (4 f-calls per entry)
    — about three times each term, for safety.
    """
    p0 = np.asarray(p0, dtype=np.float64)
    P = p0.size
    h = _steps(p0, EPS ** (1 / 3))
    j = np.tile(np.arange(P), 4)
    vals, size = _perturbed(f, p0, j, np.concatenate([h, -h, 2 * h, -2 * h]), budget)
    vals = vals.reshape(4, P)
    d_h = (vals[0] - vals[1]) / (2 * h)
    d_2h = (vals[2] - vals[3]) / (4 * h)
    rounding = 4 * np.maximum(EPS * np.max(size.reshape(4, P), axis=0), noise or 0.0) / h
    return Estimate(d_h, np.abs(d_h - d_2h) + rounding, np.zeros(P, int), 4 * P, "central")


def complex_step(f: Callable, p0, *, step: float = 1e-20, budget: int = DEFAULT_BUDGET) -> Estimate:
    """Complex-step derivative Im f(p + i h e_j) / h — no subtraction, no step to tune.

    Exact up to O(h²) = O(1e-40) for f holomorphic near the real axis (sigmoid,
    tanh, identity, softplus; not relu).  Each term's imaginary part is exact to a
    few ulps and no two perturbed terms cancel inside a sample, so rounding comes
    from the mean over terms l_s:
        error_j = 8·eps·mean_s |Im l_s(p + i h e_j)| / h      (1 f-call per entry)
    """
    p0 = np.asarray(p0, dtype=np.float64)
    P = p0.size
    vals, size = _perturbed(f, p0, np.arange(P), np.full(P, 1j * step), budget)
    g = vals.imag / step
    error = 8 * EPS * size / step
    return Estimate(g, error, np.zeros(P, int), P, "complex-step")


def settle(f: Callable, p0, coords, *, rtol: float = 1e-10, budget: int = DEFAULT_BUDGET) -> Estimate:
    """``scipy.differentiate.derivative`` (order 8, adaptive step) on ``coords`` only.

    Returns its ``df``, ``error`` and ``status`` (0 converged to
    error < rtol·|df| + 1000·eps·|f|, the rounding floor of steps ≥ 1e-3; −1 error
    grew, −2 maxiter, −3 non-finite).
    """
    p0 = np.asarray(p0, dtype=np.float64)
    coords = np.asarray(coords, dtype=np.intp)
    nfev = 0

    def f_elem(t, j):
        nonlocal nfev
        t, j = np.broadcast_arrays(t, j)
        nfev += t.size
        return _perturbed(f, p0, j.ravel(), t.ravel() - p0[j.ravel()], budget)[0].reshape(t.shape)

    step = 1e-2 * np.maximum(1.0, np.abs(p0[coords]))
    f0, size0 = _perturbed(f, p0, coords[:1], np.zeros(1), budget)
    floor = 1e3 * EPS * float(max(abs(f0[0]), size0[0]))  # rounding: ≈ eps·|f| / step, step ≥ 1e-3
    res = derivative(f_elem, p0[coords], args=(coords,), initial_step=step,
                     tolerances=dict(rtol=rtol, atol=floor))
    return Estimate(res.df, res.error, res.status, nfev, "scipy.differentiate")


def estimate(x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid", method: str = "auto",
             noise: float | None = None, budget: int = DEFAULT_BUDGET) -> Estimate:
    """∇l of the network at (w_h, θ) as a flat vector, by ``method``:
    'central', 'complex-step', or 'auto' (complex step where both σ are analytic)."""
    f, p0 = network_loss(x, y, w_h, theta, hidden=hidden, output=output)
    if method == "auto":
        analytic = activations.get(hidden).analytic and activations.get(output).analytic
        method = "complex-step" if analytic else "central"
    if method == "central":
        return central_differences(f, p0, noise=noise, budget=budget)
    if method == "complex-step":
        return complex_step(f, p0, budget=budget)
    raise ValueError(f"method: expected 'auto', 'central' or 'complex-step', got {method!r}")
