"""The scale each gradient entry is judged against: honest about conditioning.

Every gradient entry is (ŷ − y)·∂ŷ/∂p, and ŷ − y carries a rounding error ≈ eps·R
with R = |ŷ| + |y| + |σ_y'(pre_y)|·(Σ_j|h̄_j θ_j| + Σ_j |θ_j σ_h'(pre_h_j)|·Σ_k|x̄_k w_h[k,j]|)
(the sums that make pre_y and pre_h may cancel).  So the scale of entry i is
s_i = max(|ŷ − y|, R)·|∂ŷ/∂p_i|, the per-sample scales averaged over a batch; the
tolerance model (:mod:`gradcheck.checking.tolerance`) is relative to it.
"""

from __future__ import annotations

import numpy as np

from gradcheck.model import activations
from gradcheck.model.formulas import Gradients
from gradcheck.model.network import Forward, forward_unchecked
from gradcheck.oracles import autodiff

__all__ = ["EPS", "gradient_scale", "loss_noise", "residual_size"]

EPS = float(np.finfo(np.float64).eps)


def residual_size(f: Forward, y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> float:
    """R above, for one sample: eps·R bounds the rounding in ŷ − y to first order."""
    d_out = np.abs(activations.get(output).dsigma(f.pre_y))
    d_hid = np.abs(activations.get(hidden).dsigma(f.pre_h))
    pre_h_terms = np.abs(f.x_bar) @ np.abs(w_h)
    inner = np.sum(np.abs(f.h_bar * theta)) + np.sum(np.abs(theta[:-1]) * d_hid * pre_h_terms)
    return float(abs(f.y_hat) + abs(y) + d_out * inner)


def gradient_scale(x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> Gradients:
    """s = max(|ŷ − y|, R)·|∂ŷ/∂p| per entry (mean over the samples of a batch); ∂ŷ/∂p from autodiff."""
    X, Y = np.atleast_2d(x), np.atleast_1d(y)
    kw = dict(hidden=hidden, output=output)
    parts = []
    for xs, ys in zip(X, Y):

        def y_hat(w, t, xs=xs):
            h_bar = autodiff.append_one(autodiff.activation(hidden)(autodiff.append_one(autodiff.Node(xs)) @ w))
            return autodiff.activation(output)(h_bar @ t)

        dw, dt = autodiff.grad(y_hat, w_h, theta)
        f = forward_unchecked(xs, ys, w_h, theta, **kw)
        k = max(abs(f.y_hat - ys), residual_size(f, ys, w_h, theta, **kw))
        parts.append((k * np.abs(dw), k * np.abs(dt)))
    return Gradients(np.mean([q[0] for q in parts], axis=0), np.mean([q[1] for q in parts], axis=0))


def loss_noise(x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> float:
    """Rounding in the (mean) loss: eps·mean_s(l_s + |ŷ_s − y_s|·R_s) (ŷ − y and the sums inside may cancel)."""
    kw = dict(hidden=hidden, output=output)
    parts = []
    for xs, ys in zip(np.atleast_2d(x), np.atleast_1d(y)):
        f = forward_unchecked(xs, ys, w_h, theta, **kw)
        parts.append(float(f.l) + abs(float(f.y_hat - ys)) * residual_size(f, ys, w_h, theta, **kw))
    return EPS * float(np.mean(parts))
