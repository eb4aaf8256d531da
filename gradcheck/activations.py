"""Activations as a table of (σ, σ', kink points) — the spec's σ, chosen per layer.

Every σ and σ' takes an ndarray (real, or complex for the complex-step oracle
when ``analytic`` is true) and returns an array of the same shape.  σ' is
evaluated at a *pre-activation* (eq. 5: ∂ŷ/∂pre_y = σ'(pre_y)).  ``kinks`` lists
the points where σ' is undefined; there the derivative has no right answer and
checks must keep a margin away (see :mod:`gradcheck.strategies`).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

__all__ = ["Activation", "ACTIVATIONS", "get", "names"]


class Activation(NamedTuple):
    name: str
    sigma: Callable[[np.ndarray], np.ndarray]
    dsigma: Callable[[np.ndarray], np.ndarray]
    kinks: tuple[float, ...] = ()
    analytic: bool = True  # holomorphic near the real axis: complex step is exact


def _by_sign(z, nonneg: Callable, neg: Callable) -> np.ndarray:
    """Evaluate ``nonneg`` where Re z ≥ 0 and ``neg`` elsewhere, without
    computing the overflowing branch (np.where would evaluate both)."""
    z = np.asarray(z)
    flat = z.reshape(-1)
    out = np.empty_like(flat, dtype=np.result_type(flat, np.float64))
    pos = flat.real >= 0
    out[pos] = nonneg(flat[pos])
    out[~pos] = neg(flat[~pos])
    return out.reshape(z.shape)


def _sigmoid(z):
    def neg(t):
        e = np.exp(t)
        return e / (1 + e)
    return _by_sign(z, lambda t: 1 / (1 + np.exp(-t)), neg)


def _dsigmoid(z):
    s = _sigmoid(z)
    return s * (1 - s)


def _softplus(z):
    # log(1 + e^z) = z + log1p(e^-z) for Re z ≥ 0, log1p(e^z) otherwise
    return _by_sign(z, lambda t: t + np.log1p(np.exp(-t)), lambda t: np.log1p(np.exp(t)))


def _tanh(z):
    return np.tanh(z)


def _dtanh(z):
    return 1 - np.tanh(z) ** 2


def _relu(z):
    z = np.asarray(z)
    return np.where(z > 0, z, np.zeros_like(z))


def _drelu(z):
    return (np.asarray(z) > 0).astype(np.float64)


def _identity(z):
    return np.asarray(z) * 1


def _didentity(z):
    return np.ones_like(np.asarray(z), dtype=np.result_type(z, np.float64))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", _sigmoid, _dsigmoid),
        Activation("tanh", _tanh, _dtanh),
        Activation("relu", _relu, _drelu, kinks=(0.0,), analytic=False),
        Activation("identity", _identity, _didentity),
        Activation("softplus", _softplus, _sigmoid),
    )
}


def names() -> tuple[str, ...]:
    return tuple(ACTIVATIONS)


def get(activation: str | Activation, *, argument: str = "activation") -> Activation:
    """Look an activation up by name; an :class:`Activation` passes through."""
    if isinstance(activation, Activation):
        return activation
    try:
        return ACTIVATIONS[activation]
    except (KeyError, TypeError):
        raise ValueError(
            f"{argument}: expected one of {', '.join(ACTIVATIONS)}, got {activation!r}"
        ) from None
