"""Hypothesis strategies for the spec's network — public, for anyone's tests.

>>> from hypothesis import given
>>> from gradcheck import strategies as gs
>>> @given(gs.problems(hidden="relu", output="relu"))
... def test_something(p):
...     assert p.w_h.shape == (p.dims.d + 1, p.dims.m)

All bounds are keyword-only with small defaults.  Kinked activations (relu) are
kept a margin away from their kinks by shifting bias entries — hypothesis draws
exact zeros constantly, and at a kink the derivative has no right answer — and
examples are pushed into the active region: with a relu output, pre_y > 0 in
most examples (else every gradient is 0 and a formula wrong only where the output
is active would pass); with a relu hidden layer, every sample has an active unit.
"""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck.model import activations as acts
from gradcheck.model.network import forward_unchecked
from gradcheck.model.shapes import Dims, Problem

__all__ = ["Problem", "dims", "activation_names", "weights", "inputs", "problems"]


def _check_bounds(**bounds):
    for lo_name, lo, hi_name, hi in bounds.values():
        if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
            raise ValueError(f"{lo_name}, {hi_name}: expected integers with 1 ≤ {lo_name} ≤ {hi_name}, got {lo}, {hi}")


def dims(*, min_d=1, max_d=4, min_m=1, max_m=4, min_n=1, max_n=4, batch=False) -> st.SearchStrategy[Dims]:
    """Dimensions d, m (and n when ``batch``), each ≥ 1 and small by default."""
    _check_bounds(
        d=("min_d", min_d, "max_d", max_d), m=("min_m", min_m, "max_m", max_m), n=("min_n", min_n, "max_n", max_n)
    )
    n = st.integers(min_n, max_n) if batch else st.none()
    return st.builds(Dims, st.integers(min_d, max_d), st.integers(min_m, max_m), n)


def activation_names(*, names=None) -> st.SearchStrategy[str]:
    """One of the built-in activations (or of ``names``)."""
    for a in names or ():
        acts.get(a, argument="names")
    return st.sampled_from(tuple(names or acts.names()))


def _floats(max_abs):
    if not max_abs > 0:
        raise ValueError(f"max_abs: expected a positive bound, got {max_abs!r}")
    return st.floats(-max_abs, max_abs, allow_nan=False, allow_subnormal=False)


def weights(d: int, m: int, *, max_abs: float = 3.0):
    """(w_h, θ) of shapes (d+1, m) and (m+1,), entries in [−max_abs, max_abs]."""
    return st.tuples(
        hnp.arrays(np.float64, (d + 1, m), elements=_floats(max_abs)),
        hnp.arrays(np.float64, (m + 1,), elements=_floats(max_abs)),
    )


def inputs(d: int, n: int | None = None, *, max_abs: float = 3.0):
    """One line vector x ∈ R^d, or a design matrix X ∈ R^{n×d}."""
    return hnp.arrays(np.float64, (d,) if n is None else (n, d), elements=_floats(max_abs))


def _away_from(values: np.ndarray, margin: float) -> float:
    """Smallest shift δ with |v + δ| ≥ margin for every v (a bias entry moves them all)."""
    candidates = sorted({0.0, *(-values - margin), *(-values + margin)}, key=abs)
    return next(c for c in candidates if np.all(np.abs(values + c) >= margin * (1 - 1e-9)))


def _repair(x, w_h, theta, hidden, output, margin, output_active):
    """Shift bias entries (last row of w_h, last entry of θ) off the kinks, into the active region."""
    w_h, theta = w_h.copy(), theta.copy()
    X = np.atleast_2d(x)
    if acts.get(hidden).kinks:
        pre_h = forward_unchecked(X, 0.0, w_h, theta, hidden=hidden, output=output).pre_h
        for j in range(w_h.shape[1]):
            shift = _away_from(pre_h[:, j], margin)
            w_h[-1, j] += shift
            pre_h[:, j] += shift
        if np.any(np.all(pre_h <= 0, axis=1)):  # a sample with no active hidden unit
            w_h[-1, 0] += margin - pre_h[:, 0].min()
    if acts.get(output).kinks:
        pre_y = forward_unchecked(X, 0.0, w_h, theta, hidden=hidden, output=output).pre_y
        shift = _away_from(pre_y, margin)
        theta[-1] += shift
        if output_active and np.all(pre_y + shift <= 0):
            theta[-1] += margin - (pre_y + shift).min()
    return w_h, theta


_ACTIVE = st.sampled_from([True, True, True, False])
_RESIDUAL = st.one_of(st.none(), st.sampled_from([1e-4, -1e-4, 1e-8]))


@functools.lru_cache(maxsize=1024)
def _cached(make, *args, **kwargs):
    """``make(*args, **kwargs)`` built once: the same strategy (same draws), validated once, not per example."""
    return make(*args, **kwargs)


@st.composite
def problems(
    draw,
    *,
    hidden=None,
    output=None,
    batch=False,
    min_d=1,
    max_d=4,
    min_m=1,
    max_m=4,
    min_n=1,
    max_n=4,
    max_abs=3.0,
    kink_margin=1e-3,
) -> Problem:
    """A whole problem: inputs, target(s), weights and an activation per layer.

    ``hidden``/``output`` fix the activations (default: drawn).  Targets are
    drawn freely or a small residual away from ŷ (ŷ − y ∈ {±1e-4, 1e-8}: the
    small-gradient regime where fixed absolute tolerances fail).
    """
    if not kink_margin > 0:
        raise ValueError(f"kink_margin: expected a positive margin, got {kink_margin!r}")
    hidden = draw(activation_names()) if hidden is None else acts.get(hidden, argument="hidden").name
    output = draw(activation_names()) if output is None else acts.get(output, argument="output").name
    d_, m_, n_ = draw(
        _cached(dims, min_d=min_d, max_d=max_d, min_m=min_m, max_m=max_m, min_n=min_n, max_n=max_n, batch=batch)
    )
    x = draw(_cached(inputs, d_, n_, max_abs=max_abs))
    w_h, theta = draw(_cached(weights, d_, m_, max_abs=max_abs))
    active = draw(_ACTIVE)
    w_h, theta = _repair(x, w_h, theta, hidden, output, kink_margin, active)
    y_hat = forward_unchecked(x, 0.0, w_h, theta, hidden=hidden, output=output).y_hat
    residual = draw(_RESIDUAL)
    if residual is None:
        y = draw(_cached(inputs, 1, n_, max_abs=max_abs))[..., 0]
    else:
        y = y_hat - residual
    return Problem(x, np.asarray(y, dtype=np.float64), w_h, theta, hidden, output)
