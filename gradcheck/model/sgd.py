"""Per-sample SGD (the spec's §1.1): one sample at a time, w ← w − η ∇l_i."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gradcheck.model import formulas
from gradcheck.model.network import loss
from gradcheck.model.shapes import positive_int, validate

__all__ = ["SGDResult", "sgd_step", "sgd"]


class SGDResult(NamedTuple):
    w_h: np.ndarray
    theta: np.ndarray
    losses: np.ndarray  # mean training loss before training, then after each epoch


def sgd_step(
    x, y, w_h, theta, *, step: float, hidden="sigmoid", output="sigmoid", gradients: Callable = formulas.gradients
):
    """One SGD step on one sample: (w_h − η ∇_{w_h} l, θ − η ∇θ l)."""
    g = gradients(x, y, w_h, theta, hidden=hidden, output=output)
    return w_h - step * np.asarray(g.w_h), theta - step * np.asarray(g.theta)


def sgd(
    X,
    Y,
    w_h,
    theta,
    *,
    step: float = 0.1,
    epochs: int = 20,
    hidden="sigmoid",
    output="sigmoid",
    seed: int = 0,
    gradients: Callable = formulas.gradients,
) -> SGDResult:
    """Per-sample SGD over a design matrix, samples visited in a fresh random order each epoch."""
    p = validate(X, Y, w_h, theta)
    if p.dims.n is None:
        raise ValueError(f"X: expected a design matrix of shape (n, d), got {np.shape(X)}")
    if not step > 0:
        raise ValueError(f"step: expected a positive step size, got {step!r}")
    positive_int(epochs, "epochs")
    rng = np.random.default_rng(seed)
    w_h, theta = p.w_h.copy(), p.theta.copy()
    kw = dict(hidden=hidden, output=output)
    losses = [loss(p.x, p.y, w_h, theta, **kw)]
    for _ in range(epochs):
        for i in rng.permutation(p.dims.n):
            w_h, theta = sgd_step(p.x[i], p.y[i], w_h, theta, step=step, gradients=gradients, **kw)
        losses.append(loss(p.x, p.y, w_h, theta, **kw))
    return SGDResult(w_h, theta, np.array(losses))
