"""The spec's network, forward pass only (§1.3), returning every intermediate.

    x̄ = (x, 1)          pre_h = x̄ w_h        h = σ_h(pre_h)
    h̄ = (h, 1)          pre_y = h̄ θ          ŷ = σ_y(pre_y)
    l = ½ (ŷ − y)²                                              eq. (1)

(The note writes pre_u for pre_y in places, and "−ŷ = σ(pre_y)" for ŷ = σ(pre_y):
both are typos.)  A single sample is a line vector x of shape (d,); a batch is a
design matrix X of shape (n, d) and every intermediate gains a leading n axis.
The batch loss is the mean of the per-sample losses.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gradcheck.model import activations
from gradcheck.model.shapes import validate

__all__ = ["BLOCKS", "LABEL", "Forward", "forward", "append_one", "loss", "pack", "unpack"]

BLOCKS = ("w_h", "theta")  # the parameter blocks, in pack order
LABEL = {"w_h": "∇w_h", "theta": "∇θ"}  # their gradients, as the spec writes them


class Forward(NamedTuple):
    x_bar: np.ndarray  # (d+1,)  or (n, d+1)
    pre_h: np.ndarray  # (m,)    or (n, m)
    h: np.ndarray  # (m,)    or (n, m)
    h_bar: np.ndarray  # (m+1,)  or (n, m+1)
    pre_y: np.ndarray  # ()      or (n,)
    y_hat: np.ndarray  # ()      or (n,)
    l: np.ndarray  # ()      or (n,)   per-sample loss, eq. (1)

    @property
    def loss(self) -> float:
        """The (mean) loss: l for one sample, mean of l over a batch."""
        return float(np.mean(self.l))


def append_one(v: np.ndarray) -> np.ndarray:
    """(v, 1) along the last axis: the bias goes LAST (x̄ and h̄)."""
    return np.concatenate([v, np.ones(v.shape[:-1] + (1,), dtype=v.dtype)], axis=-1)


def forward(x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> Forward:
    """Forward pass with validated inputs; see :func:`forward_unchecked`."""
    p = validate(x, y, w_h, theta)
    return forward_unchecked(p.x, p.y, p.w_h, p.theta, hidden=hidden, output=output)


def forward_unchecked(x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> Forward:
    """Forward pass for arrays already of the right shapes (complex allowed).

    Also evaluates k parameter vectors at once (the oracles' batches): w_h of
    shape (k, d+1, m) and θ of shape (k, m+1) give intermediates with a leading
    k axis, e.g. l of shape (k, n).
    """
    sigma_h = activations.get(hidden, argument="hidden").sigma
    sigma_y = activations.get(output, argument="output").sigma
    x_bar = append_one(x)
    pre_h = x_bar @ w_h
    h = sigma_h(pre_h)
    h_bar = append_one(h)
    pre_y = (h_bar @ theta[..., None])[..., 0]  # = h̄ θ; written so a stack of θ's broadcasts
    y_hat = sigma_y(pre_y)
    l = 0.5 * (y_hat - y) ** 2
    return Forward(x_bar, pre_h, h, h_bar, pre_y, y_hat, l)


def loss(x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> float:
    """l for one sample, or the mean of l over a design matrix."""
    return forward(x, y, w_h, theta, hidden=hidden, output=output).loss


def pack(w_h: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Flatten the parameters as p = (w_h.ravel(), θ) — the oracles' coordinates."""
    return np.concatenate([np.ravel(w_h), np.ravel(theta)])


def unpack(p: np.ndarray, d: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`pack`; works on a leading batch axis too: (k, P) → (k, d+1, m), (k, m+1)."""
    split = (d + 1) * m
    w_h = p[..., :split].reshape(p.shape[:-1] + (d + 1, m))
    return w_h, p[..., split:]
