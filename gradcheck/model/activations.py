"""Activations as a table of (σ, σ', kink points) — the spec's σ, chosen per layer.

Every σ and σ' takes an ndarray (real, or complex for the complex-step oracle
when ``analytic`` is true) and returns an array of the same shape.  σ' is
evaluated at a *pre-activation* (eq. 5: ∂ŷ/∂pre_y = σ'(pre_y)).  ``kinks`` lists
the points where σ' is undefined; there the derivative has no right answer and
checks must keep a margin away (see :mod:`gradcheck.checking.strategies`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

__all__ = ["Activation", "ACTIVATIONS", "get", "name_list", "names", "pair"]


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


def _abs(z):
    """|z| for real z; for complex z the branch with Re z ≥ 0 (keeps σ' holomorphic)."""
    z = np.asarray(z)
    return np.where(z.real >= 0, z, -z) if np.iscomplexobj(z) else np.abs(z)


def _sigmoid(z):
    def neg(t):
        e = np.exp(t)
        return e / (1 + e)

    return _by_sign(z, lambda t: 1 / (1 + np.exp(-t)), neg)


def _dsigmoid(z):
    # σ(z)(1 − σ(z)) = e^{-|z|} / (1 + e^{-|z|})², without cancellation in 1 − σ
    e = np.exp(-_abs(z))
    return e / (1 + e) ** 2


def _log1p(w):
    """log(1 + w), accurate for small complex w too (numpy's complex log1p is not):
    log|1 + w| = ½ log1p(2 Re w + |w|²), arg(1 + w) = atan2(Im w, 1 + Re w)."""
    if not np.iscomplexobj(w):
        return np.log1p(w)
    return 0.5 * np.log1p(2 * w.real + (w.real**2 + w.imag**2)) + 1j * np.arctan2(w.imag, 1 + w.real)


def _softplus(z):
    # log(1 + e^z) = z + log1p(e^-z) for Re z ≥ 0, log1p(e^z) otherwise
    return _by_sign(z, lambda t: t + _log1p(np.exp(-t)), lambda t: _log1p(np.exp(t)))


def _tanh(z):
    return np.tanh(z)


def _dtanh(z):
    # 1 − tanh² = sech² z = (2e^{-|z|} / (1 + e^{-2|z|}))², without cancellation
    e = np.exp(-_abs(z))
    return (2 * e / (1 + e * e)) ** 2


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
        raise ValueError(f"{argument}: expected one of {', '.join(ACTIVATIONS)}, got {activation!r}") from None


def _split(text) -> list:
    return [t.strip() for t in text.split(",") if t.strip()] if isinstance(text, str) else list(text)


def name_list(values, *, argument: str = "activations") -> tuple[str, ...]:
    """Activation names from 'relu,tanh' or an iterable of names; None means all of them.

    >>> name_list("relu, tanh")
    ('relu', 'tanh')
    """
    if values is None:
        return names()
    chosen = tuple(get(v, argument=argument).name for v in _split(values))
    if not chosen:
        raise ValueError(f"{argument}: expected at least one of {', '.join(ACTIVATIONS)}, got none")
    return chosen


def pair(value, *, argument: str = "activation") -> tuple[str, str]:
    """(hidden, output) from 'relu' (both layers), 'tanh,identity' or a 2-sequence.

    >>> pair("tanh,identity")
    ('tanh', 'identity')
    """
    parts = _split(value)
    if len(parts) not in (1, 2):
        raise ValueError(
            f"{argument}: expected NAME or HIDDEN,OUTPUT with names from {','.join(ACTIVATIONS)}, got {value!r}"
        )
    chosen = [get(p, argument=argument).name for p in parts]
    return chosen[0], chosen[-1]
