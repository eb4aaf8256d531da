"""Oracle 1: derivative-free estimates of ∇l from evaluations of the loss alone.

The loss is a black box ``f`` of the flattened parameters p = (w_h.ravel(), θ)
(:func:`gradcheck.model.network.pack`): ``f`` maps a stack of parameter vectors of shape
(k, P) to the terms whose mean is the loss, shape (k, n) — per-sample losses — or
to k losses, shape (k,).  Knowing the terms sizes the rounding error honestly
when the mean cancels (a batch gradient far smaller than its per-sample parts).  Perturbed vectors
are evaluated in chunks sized to a memory budget, a few vectorised forward passes in all.  Three estimators:

* :func:`central_differences` — every coordinate, steps h and 2h;
* :func:`complex_step` — every coordinate, Im f(p + i h e_j) / h, for analytic σ;
* :func:`settle` — ``scipy.differentiate.derivative`` on chosen coordinates,
  for entries in dispute.

Each returns an :class:`Estimate` carrying its own per-entry error bound.  The
rounding part of that bound is the rounding of f *at the evaluated points*: for the
network (:func:`network_loss`) a forward error analysis of every evaluated row
(:meth:`BatchLoss.evaluate`: the sums inside pre_h and pre_y, σ, the subtraction
ŷ − y that cancels when the residual is small, the imaginary parts of the complex
step, underflow); for any other black box eps·|f| or the caller's ``noise``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.differentiate import derivative

from gradcheck.model import activations
from gradcheck.model.network import forward_unchecked, pack, unpack
from gradcheck.model.shapes import validate

__all__ = [
    "Estimate",
    "network_loss",
    "central_differences",
    "complex_step",
    "settle",
    "estimate",
    "perturbed",
    "rows_per_chunk",
]

EPS = np.finfo(np.float64).eps
U = EPS / 2  # unit roundoff
ETA = float(np.finfo(np.float64).smallest_subnormal)  # absolute error of one op whose result underflows
DEFAULT_BUDGET = 64 * 2**20  # bytes of perturbed rows and intermediates alive at once

# Per activation, for the forward error analysis of :meth:`BatchLoss.evaluate`:
# (c: error of σ(z), and of Im σ(z + ib) against σ'(z)·b, in units of U — measured
#     ≤ 5.1 U for numpy's tanh, sigmoid and softplus over |z| ≤ 745, real and complex;
#  L: sup |σ'|;  Q: sup |σ''/σ'|, so σ'(z + δ) ≤ σ'(z)·exp(Q|δ|)).
# σ of an Activation not listed here leaves the network without a rounding model
# (its bound falls back to the black-box one).
_ROUNDING = {
    "sigmoid": (8.0, 0.25, 1.0),  # σ''/σ' = 1 − 2σ
    "tanh": (8.0, 1.0, 2.0),  # σ''/σ' = −2 tanh
    "softplus": (8.0, 1.0, 1.0),  # σ' = sigmoid, σ''/σ' = 1 − sigmoid
    "identity": (0.0, 1.0, 0.0),  # z·1: exact
    "relu": (0.0, 1.0, 0.0),  # exact; its kink is handled by _slope
}


def _gamma(n: int) -> float:
    """γ_n = nU/(1 − nU): relative error bound of a sum of n products in any order."""
    return n * U / (1 - n * U)


class Estimate(NamedTuple):
    grad: np.ndarray  # (P,) derivative estimates
    error: np.ndarray  # (P,) absolute error bound per entry
    status: np.ndarray  # (P,) 0 = converged/trusted; scipy.differentiate's codes otherwise
    nfev: int  # evaluations of the loss (rows of f)
    method: str


class BatchLoss:
    """f(p: (k, P)) → (k, n) per-sample losses of the spec's network; ``bytes_per_row`` sizes chunks.

    :meth:`evaluate` also returns, per term, a bound on its rounding error (of its
    imaginary part for complex rows): the oracles' rounding bounds come from it."""

    def __init__(self, x, y, d, m, hidden, output):
        x, y = np.atleast_2d(x), np.atleast_1d(y)  # one sample is a (1, d) design matrix
        self.x, self.y, self.d, self.m = x, y, d, m
        self.hidden, self.output = hidden, output
        n = x.shape[0]
        self.bytes_per_row = 16 * ((d + 1) * m + m + 1 + 4 * n * (m + 2))
        names = [activations.get(a).name for a in (hidden, output)]
        self.has_rounding_model = all(
            a in _ROUNDING and activations.ACTIVATIONS.get(a) is activations.get(b)
            for a, b in zip(names, (hidden, output))
        )

    def _forward(self, p):
        w_h, theta = unpack(p, self.d, self.m)
        return w_h, theta, forward_unchecked(self.x, self.y, w_h, theta, hidden=self.hidden, output=self.output)

    def __call__(self, p: np.ndarray) -> np.ndarray:
        return self._forward(p)[2].l.reshape(p.shape[:-1] + (-1,))

    def evaluate(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(terms, error): the per-sample losses of the rows p (k, P), and a bound on
        each term's rounding error — of Im l for complex rows (the complex step) —
        or None without a rounding model."""
        w_h, theta, f = self._forward(p)
        terms = f.l.reshape(p.shape[:-1] + (-1,))
        if not self.has_rounding_model:
            return terms, None
        return terms, self._rounding(f, w_h, theta).reshape(terms.shape)

    def _rounding(self, f, w_h, theta) -> np.ndarray:
        """Forward error analysis of one evaluation of the loss, row by row.

        With e(v) a bound on the rounding error of v (to first order in U; every op
        whose result underflows adds ETA):
            e(pre_h) = γ_{d+1}·|x̄||w_h|,   e(h) = slope_h·e(pre_h) + c_h U|h|,
            e(pre_y) = γ_{m+1}·|h̄||θ| + |θ̃|·e(h),   e(ŷ) = slope_y·e(pre_y) + c_y U|ŷ|,
            e(r) = e(ŷ) + U|r|   (r = ŷ − y: its cancellation is where the residual is small),
            e(l) = e(r)·(|r| + e(r)/2) + U·l        (l = ½r² — at the evaluated point, whose
                                                     residual r = r(p) ± h·∂ŷ/∂p_j is not r(p));
        slope = max |σ'| within e of the computed pre-activation (exp(Q·e)·|σ'|, or 1
        across a relu kink).  For a complex row (the complex step) the imaginary parts
        follow the same chain, σ' being evaluated at a real part that is itself off by
        e (relative error expm1(Q·e) of Im σ):
            e(Im l) = |Im ŷ|·e(r) + |r|·e(Im ŷ) + e(r)·e(Im ŷ) + 3U|Im l|;
        the rounding of Re(ŷ − y) enters Im l = Re(ŷ − y)·Im ŷ relatively as e(r)/|r|,
        which 8·eps·|Im l| (the black-box bound) does not see."""
        (c_h, L_h, Q_h), (c_y, L_y, Q_y) = (_ROUNDING[activations.get(a).name] for a in (self.hidden, self.output))
        x_bar = np.abs(f.x_bar)
        d1, m1 = self.d + 1, self.m + 1
        w_re, th_re = np.abs(w_h.real), np.abs(theta.real)[..., None, :]  # (k, d+1, m), (k, 1, m+1)
        z = f.pre_h.real
        e_z = _gamma(d1) * (x_bar @ w_re) + d1 * ETA
        s_h = _slope(self.hidden, z, e_z, L_h, Q_h)
        h = f.h.real
        e_h = s_h * e_z + c_h * U * np.abs(h) + ETA
        h_bar, e_hbar = np.abs(f.h_bar.real), _append(e_h, 0.0)
        pre_y = f.pre_y.real
        e_y = _gamma(m1) * np.sum(h_bar * th_re, axis=-1) + np.sum(e_hbar * th_re, axis=-1) + m1 * ETA
        s_y = _slope(self.output, pre_y, e_y, L_y, Q_y)
        y_hat = f.y_hat.real
        e_yhat = s_y * e_y + c_y * U * np.abs(y_hat) + ETA
        r = np.abs(y_hat - self.y)
        e_r = e_yhat + U * r
        if not np.iscomplexobj(f.l):
            return e_r * (r + e_r / 2) + U * f.l + 2 * ETA
        w_im, th_im = np.abs(w_h.imag), np.abs(theta.imag)[..., None, :]
        e_iz = _gamma(d1) * (x_bar @ w_im) + d1 * ETA
        ih = np.abs(f.h.imag)
        e_ih = ih * (c_h * U + np.expm1(Q_h * e_z)) + s_h * e_iz + ETA
        ih_bar, e_ihbar = _append(ih, 0.0), _append(e_ih, 0.0)
        e_iy = (
            _gamma(2 * m1) * np.sum(h_bar * th_im + ih_bar * th_re, axis=-1)
            + np.sum(e_hbar * th_im + e_ihbar * th_re, axis=-1)
            + m1 * ETA
        )
        iy_hat = np.abs(f.y_hat.imag)
        e_iyhat = iy_hat * (c_y * U + np.expm1(Q_y * e_y)) + s_y * e_iy + ETA
        return iy_hat * e_r + r * e_iyhat + e_r * e_iyhat + 3 * U * np.abs(f.l.imag) + 2 * ETA


def _append(v, value):
    return np.concatenate([v, np.full(v.shape[:-1] + (1,), value)], axis=-1)


def _slope(activation, z, e, lipschitz, q):
    """max |σ'| over [z − e, z + e]: |σ'(z)|·exp(Q·e), capped by sup |σ'|; at a kink
    within e of z, sup |σ'|."""
    a = activations.get(activation)
    slope = np.minimum(lipschitz, np.abs(a.dsigma(z)) * np.exp(q * e))
    for k in a.kinks:
        slope = np.where(np.abs(z - k) <= e, lipschitz, slope)
    return slope


def network_loss(x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> tuple[BatchLoss, np.ndarray]:
    """The loss as a black box of stacked parameter vectors, and the point p0."""
    p = validate(x, y, w_h, theta)
    activations.get(hidden, argument="hidden"), activations.get(output, argument="output")
    return BatchLoss(p.x, p.y, p.dims.d, p.dims.m, hidden, output), pack(p.w_h, p.theta)


def rows_per_chunk(f, P: int, budget: int) -> int:
    per_row = getattr(f, "bytes_per_row", 32 * P)
    return max(1, budget // max(per_row, 1))


def perturbed(f, p0, coords, deltas, budget, *, with_error: bool = False):
    """Mean and mean |term| of f(p0 + deltas[i] e_{coords[i]}) for every i, chunked.
    ``deltas`` may be complex; the term magnitude is then that of the imaginary parts.
    ``with_error``: also a bound on the rounding error of each mean (of its imaginary
    part) from f's own model (:meth:`BatchLoss.evaluate`) plus the summation —
    None for a black box without one."""
    dtype = np.result_type(p0, deltas, np.float64)
    mean, size = np.empty(len(coords), dtype=dtype), np.empty(len(coords))
    model = with_error and hasattr(f, "evaluate") and getattr(f, "has_rounding_model", True)
    error = np.empty(len(coords)) if model else None
    rows = rows_per_chunk(f, p0.size, budget)
    if model:  # the error analysis keeps a few more arrays of the forward pass's shapes
        rows = max(1, rows // 4)
    for start in range(0, len(coords), rows):
        j, dj = coords[start : start + rows], deltas[start : start + rows]
        stack = np.repeat(p0[None, :].astype(dtype), len(j), axis=0)
        stack[np.arange(len(j)), j] += dj
        terms, term_error = f.evaluate(stack) if model else (f(stack), np.zeros(0))
        terms = np.asarray(terms).reshape(len(j), -1)
        mean[start : start + len(j)] = terms.mean(axis=1)
        part = terms.imag if np.iscomplexobj(terms) else terms
        size[start : start + len(j)] = np.abs(part).mean(axis=1)
        if error is not None:  # the terms' own errors, then the sum of n terms and the division by n
            n = terms.shape[1]
            error[start : start + len(j)] = (
                np.reshape(term_error, terms.shape).mean(axis=1) + (_gamma(n) + U) * size[start : start + len(j)] + ETA
            )
    return (mean, size, error) if with_error else (mean, size)


def _steps(p0, scale):
    """Steps h_j = scale·max(1, |p_j|), rounded so p_j ± h_j is exact."""
    h = scale * np.maximum(1.0, np.abs(p0))
    return (p0 + h) - p0


def central_differences(f: Callable, p0, *, noise: float | None = None, budget: int = DEFAULT_BUDGET) -> Estimate:
    """Central differences on every coordinate, with an error bound.

    D_h = (f(p + h e_j) − f(p − h e_j)) / 2h with h = ∛eps·max(1, |p_j|).  With
    D_2h the same at twice the step, the truncation error of D_h is ≈ |D_h − D_2h|/3
    and rounding adds ≤ (δf(p + h e_j) + δf(p − h e_j)) / 2h, δf the rounding in f
    *at the evaluated points*: from f's own error analysis when it has one
    (:meth:`BatchLoss.evaluate` — for the loss, ½r², it grows with the residual r at
    the perturbed point, which is ≈ h·|∂ŷ/∂p_j| however small r(p) is), else
    eps·(mean magnitude of f's terms) or ETA; never less than the caller's ``noise``
    (cancellation inside f the caller knows of).
        error_j = |D_h − D_2h| + 4·max(δf over the 4 points, noise) / h_j + eps·|D_h|
    — about three times each term, for safety; eps·|D_h| the final subtraction and
    division (4 f-calls per entry).
    """
    p0 = np.asarray(p0, dtype=np.float64)
    P = p0.size
    h = _steps(p0, EPS ** (1 / 3))
    j = np.tile(np.arange(P), 4)
    vals, size, own = perturbed(f, p0, j, np.concatenate([h, -h, 2 * h, -2 * h]), budget, with_error=True)
    vals = vals.reshape(4, P)
    d_h = (vals[0] - vals[1]) / (2 * h)
    d_2h = (vals[2] - vals[3]) / (4 * h)
    if own is None:  # a black box: relative rounding of its terms, at least one underflow
        own = np.maximum(EPS * size, ETA)
    rounding = 4 * np.maximum(np.max(own.reshape(4, P), axis=0), noise or 0.0) / h
    return Estimate(d_h, np.abs(d_h - d_2h) + rounding + EPS * np.abs(d_h), np.zeros(P, int), 4 * P, "central")


def complex_step(f: Callable, p0, *, step: float = 1e-20, budget: int = DEFAULT_BUDGET) -> Estimate:
    """Complex-step derivative Im f(p + i h e_j) / h — no subtraction, no step to tune.

    Exact up to O(h²) = O(1e-40) for f holomorphic near the real axis (sigmoid,
    tanh, identity, softplus; not relu).  The rounding of Im f is not a few ulps
    in general: Im l = Re(ŷ − y)·Im ŷ carries the rounding of Re(ŷ − y) relatively
    as e(r)/|r| (cancellation at small residuals), σ' inside Im σ is evaluated at a
    rounded pre-activation, and tiny imaginary parts underflow.  With f's own
    error analysis (:meth:`BatchLoss.evaluate`) δ_j bounds the rounding of the mean
    of Im f at the perturbed point, and
        error_j = δ_j / h + eps·|g_j|                       (1 f-call per entry)
    A black box without one is assumed free of cancellation (each term's imaginary
    part exact to a few ulps, no two perturbed terms cancelling inside a sample):
        error_j = 8·eps·mean_s |Im l_s(p + i h e_j)| / h + ETA / h
    """
    p0 = np.asarray(p0, dtype=np.float64)
    P = p0.size
    vals, size, own = perturbed(f, p0, np.arange(P), np.full(P, 1j * step), budget, with_error=True)
    g = vals.imag / step
    if own is None:
        error = (8 * EPS * size + ETA) / step
    else:
        error = own / step + EPS * np.abs(g)
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
        return perturbed(f, p0, j.ravel(), t.ravel() - p0[j.ravel()], budget)[0].reshape(t.shape)

    step = 1e-2 * np.maximum(1.0, np.abs(p0[coords]))
    f0, size0 = perturbed(f, p0, coords[:1], np.zeros(1), budget)
    floor = 1e3 * EPS * float(max(abs(f0[0]), size0[0]))  # rounding: ≈ eps·|f| / step, step ≥ 1e-3
    res = derivative(f_elem, p0[coords], args=(coords,), initial_step=step, tolerances=dict(rtol=rtol, atol=floor))
    return Estimate(res.df, res.error, res.status, nfev, "scipy.differentiate")


def estimate(
    x,
    y,
    w_h,
    theta,
    *,
    hidden="sigmoid",
    output="sigmoid",
    method: str = "auto",
    noise: float | None = None,
    budget: int = DEFAULT_BUDGET,
) -> Estimate:
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
