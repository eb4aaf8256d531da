"""``scipy.differentiate.derivative`` (order 4) for a million elements at once, minus its bookkeeping.

For a central element, ``derivative(f, 0, initial_step=h, order=4, step_factor=c)`` evaluates
f at ±h, ±h/c (iteration 1), then at ±h/c² (iteration 2).  With D(a) = (f(a) − f(−a)) / 2a
its estimates are the order-4 Richardson combinations
    df₁ = (c²·D(h/c) − D(h)) / (c² − 1),   df₂ = (c²·D(h/c²) − D(h/c)) / (c² − 1),
it reports df₂ with error |df₂ − df₁| and calls the element converged when
    |df₂ − df₁| < atol + rtol·|df₂|.
At 1M elements its per-element work-array updates cost more than the incremental loss
evaluations themselves (≈ 55 % of the CPU, `benchmarks/run.py` prints the split), so
:func:`derivative` below does exactly those two iterations with ONE call of f on a (A, 6)
array of steps, and hands every element that is one-sided, not finite or not converged
after them to ``scipy.differentiate.derivative`` itself (restarting from the same initial
step, so it repeats the two iterations and goes on).  Results equal scipy's to rounding of
the weights (tests/test_stencil.py).  Not evaluated: f(0), which a central stencil ignores.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.differentiate import derivative as _scipy_derivative

__all__ = ["Derivative", "derivative", "kink_at_zero", "richardson"]

ORDER = 4


class Derivative(NamedTuple):
    df: np.ndarray  # (A,) derivative estimates
    error: np.ndarray  # (A,) |df₂ − df₁| (scipy's error estimate)
    status: np.ndarray  # (A,) scipy's codes: 0 converged, −2 maxiter, −3 not finite, …
    nit: np.ndarray  # (A,) iterations
    nfev: np.ndarray  # (A,) evaluations of f per element
    scipy: int  # elements handed to scipy.differentiate.derivative
    values: np.ndarray  # (A, 6) f at t = h, h/c, h/c², −h, −h/c, −h/c² (NaN rows: not evaluated here)


def _take(args, idx):
    return tuple(np.asarray(a)[idx] if np.ndim(a) else a for a in args)


def richardson(v, h, factor):
    """df₂ and |df₂ − df₁| from f at t = (h, h/c, h/c², −h, −h/c, −h/c²): ``v`` six (A,) arrays (or a
    (6, A) array), ``h`` the three (A,) steps h/c^q."""
    D = [(v[q] - v[q + 3]) / (2 * h[q]) for q in range(3)]
    c2 = factor * factor
    df1, df2 = ((c2 * D[q + 1] - D[q]) / (c2 - 1) for q in range(2))
    return df2, np.abs(df2 - df1)


def _central(f, steps, args, factor):
    """df₂, |df₂ − df₁| of the two first iterations and the values of f, one call of f."""
    h = steps[:, None] / factor ** np.arange(3)  # h, h/c, h/c²
    vals = f(np.concatenate([h, -h], axis=1), *[np.asarray(a)[:, None] for a in args])
    return (*richardson(vals.T, h.T, factor), vals)


def derivative(
    f: Callable,
    steps,
    *,
    args=(),
    direction=None,
    atol: float = 0.0,
    rtol: float = 1.5e-8,
    maxiter: int = 10,
    factor: float = 2.0,
    vectorised: bool = True,
) -> Derivative:
    """d/dt f(t, *args) at t = 0 for every element, order 4, as ``scipy.differentiate.derivative``.

    ``f(t, *args)``: t (A, q) and each arg (A, 1) → (A, q).  ``steps``: (A,) initial steps;
    ``direction``: (A,) 0 central, ±1 one-sided (scipy's ``step_direction``, always scipy's);
    ``vectorised=False``: every element through scipy's loop (for comparison)."""
    steps = np.asarray(steps, dtype=np.float64).ravel()
    A = steps.size
    direction = np.zeros(A) if direction is None else np.broadcast_to(np.asarray(direction, float), (A,))
    df, error, values = np.full(A, np.nan), np.full(A, np.nan), np.full((A, 6), np.nan)
    status, nit, nfev = np.full(A, -2, dtype=np.int32), np.full(A, 2), np.zeros(A, dtype=int)
    central = np.flatnonzero((direction == 0) & np.isfinite(steps) & (steps > 0))
    if vectorised and maxiter >= 2 and central.size:
        df[central], error[central], values[central] = _central(f, steps[central], _take(args, central), factor)
        nfev[central] = 6
        with np.errstate(invalid="ignore"):
            status[central] = np.where(error[central] < atol + rtol * np.abs(df[central]), 0, -2)
    todo = np.flatnonzero(status != 0)
    if todo.size:
        res = _scipy_derivative(
            f,
            np.zeros(todo.size),
            args=_take(args, todo),
            initial_step=steps[todo],
            step_direction=direction[todo],
            order=ORDER,
            step_factor=factor,
            maxiter=maxiter,
            tolerances=dict(rtol=rtol, atol=atol),
        )
        df[todo], error[todo], status[todo], nit[todo] = res.df, res.error, res.status, res.nit
        nfev[todo] += res.nfev
    return Derivative(df, error, status, nit, nfev, int(todo.size), values)


def kink_at_zero(values, f0, steps, noise, factor: float = 2.0) -> np.ndarray:
    """(A,) bool: f has a kink at t = 0, judged from :func:`derivative`'s ``values``.

    J(a) = (f(a) + f(−a) − 2 f(0)) / a is the jump between the one-sided slopes at scale a:
    J(a) ≈ f''·a for a smooth f, so it halves with a; across a kink it tends to the jump.
    A kink: J does not decay between the two smallest scales (|J(h/c²)| > 0.6·|J(h/c)|; more
    kinks may lie between h/c and h) and |J(h/c²)| exceeds 16·noise/(h/c²), far beyond the
    rounding of the values (``noise`` each, absolute).  A kink near t = 0 but not at it mostly
    does not count: there f is smooth, and the error estimate of central differences that
    cross it is large (scipy then goes on to smaller steps).  Callers use this only to decide
    who judges (a per-entry check), never to loosen a tolerance."""
    a = np.asarray(steps, float)[:, None] / factor ** np.arange(1, 3)
    with np.errstate(invalid="ignore"):
        J = np.abs((values[:, 1:3] + values[:, 4:] - 2 * np.asarray(f0)[..., None]) / a)
        return (J[:, 1] > 0.6 * J[:, 0]) & (J[:, 1] > 16 * noise / a[:, 1])
