"""The note's formulas, exactly as it writes them, one function per equation.

Read this module side by side with the spec (FTML session 8, §1.4–1.5).  Every
function takes one sample's forward intermediates (see :mod:`gradcheck.model.network`);
Jacobians are matrices with the spec's shapes, gradients are their transposes.
Typos in the note, documented rather than reproduced:
  * pre_u and pre_y are the same variable (the note uses both);
  * eq. (3) is announced as "the jacobian of θ ↦ ŷ" but is that of θ ↦ l;
  * eq. (4) writes ∂l/∂û for ∂l/∂ŷ;
  * eq. (11) is written ∇_c l(w_h) but is ∇_{w_h} l (c is one column of w_h).
This module is what the mutation checks (``gradcheck mutants``) protect.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gradcheck.model import activations
from gradcheck.model.network import Forward, forward
from gradcheck.model.shapes import validate

__all__ = [
    "Gradients",
    "dl_dy_hat",
    "dy_hat_dpre_y",
    "dpre_y_dtheta",
    "dpre_y_dh",
    "dh_dpre_h",
    "dpre_h_dc",
    "theta_tilde",
    "u",
    "jacobian_theta",
    "grad_theta",
    "jacobian_column",
    "jacobian_column_u",
    "jacobian_w_h",
    "grad_w_h",
    "gradients",
    "batch_gradients",
]


class Gradients(NamedTuple):
    w_h: np.ndarray  # ∇_{w_h} l ∈ R^{(d+1)×m}, eq. (11)
    theta: np.ndarray  # ∇_θ l ∈ R^{m+1}, eq. (6)


# ---- Jacobian factors of eq. (3) and (7) ------------------------------------


def dl_dy_hat(y_hat, y):
    """eq. (4): ∂l/∂ŷ = ŷ − y  (a scalar: l = ½(ŷ − y)²)."""
    return y_hat - y


def dy_hat_dpre_y(pre_y, output="sigmoid"):
    """eq. (5): ∂ŷ/∂pre_y = σ'(pre_y)  (a scalar)."""
    return activations.get(output, argument="output").dsigma(pre_y)


def dpre_y_dtheta(h_bar):
    """∂pre_y/∂θ = h̄ ∈ R^{1×(m+1)}  (pre_y = h̄ θ)."""
    return np.reshape(h_bar, (1, -1))


def theta_tilde(theta):
    """θ̃ = θ[:-1]: θ without its bias entry (the bias is last)."""
    return theta[:-1]


def dpre_y_dh(theta):
    """∂pre_y/∂h = θ̃ᵀ ∈ R^{1×m}: h does not reach the bias entry of θ."""
    return np.reshape(theta_tilde(theta), (1, -1))


def dh_dpre_h(pre_h, hidden="sigmoid"):
    """∂h/∂pre_h = D = diag(σ'(pre_h)) ∈ R^{m×m}."""
    return np.diag(activations.get(hidden, argument="hidden").dsigma(pre_h))


def dpre_h_dc(x_bar, n_c, m):
    """∂pre_h/∂c = M_{n_c} ∈ R^{m×(d+1)}: x̄ in row n_c, zeros elsewhere (c = w_h[:, n_c])."""
    M = np.zeros((m, np.size(x_bar)), dtype=np.result_type(x_bar, np.float64))
    M[n_c] = x_bar
    return M


def u(theta, pre_h, hidden="sigmoid"):
    """u = θ̃ D = θ̃ ⊙ σ'(pre_h) ∈ R^{1×m}, as a vector of m entries (after eq. 8)."""
    return theta_tilde(theta) * activations.get(hidden, argument="hidden").dsigma(pre_h)


# ---- ∇θ: eq. (3) and (6) ----------------------------------------------------


def jacobian_theta(f: Forward, y, *, output="sigmoid"):
    """eq. (3): ∂l/∂θ = ∂l/∂ŷ · ∂ŷ/∂pre_y · ∂pre_y/∂θ ∈ R^{1×(m+1)}."""
    return dl_dy_hat(f.y_hat, y) * dy_hat_dpre_y(f.pre_y, output) * dpre_y_dtheta(f.h_bar)


def grad_theta(f: Forward, y, *, output="sigmoid"):
    """eq. (6): ∇θ l = (ŷ − y) σ'(pre_y) h̄ᵀ ∈ R^{m+1} (transpose of eq. 3)."""
    return jacobian_theta(f, y, output=output).T.reshape(-1)


# ---- ∇w_h: eq. (7)–(11) -----------------------------------------------------


def jacobian_column(f: Forward, y, theta, n_c, *, hidden="sigmoid", output="sigmoid"):
    """eq. (7)–(8): ∂l/∂c = (ŷ − y) σ'(pre_y) θ̃ D M_{n_c} ∈ R^{1×(d+1)}."""
    m = np.size(f.pre_h)
    return (
        dl_dy_hat(f.y_hat, y)
        * dy_hat_dpre_y(f.pre_y, output)
        * dpre_y_dh(theta)
        @ dh_dpre_h(f.pre_h, hidden)
        @ dpre_h_dc(f.x_bar, n_c, m)
    )


def jacobian_column_u(f: Forward, y, theta, n_c, *, hidden="sigmoid", output="sigmoid"):
    """eq. (9): ∂l/∂c = (ŷ − y) σ'(pre_y) u_{n_c} x̄ ∈ R^{1×(d+1)}."""
    u_ = u(theta, f.pre_h, hidden)
    return dl_dy_hat(f.y_hat, y) * dy_hat_dpre_y(f.pre_y, output) * u_[n_c] * np.reshape(f.x_bar, (1, -1))


def jacobian_w_h(f: Forward, y, theta, *, hidden="sigmoid", output="sigmoid"):
    """eq. (10): ∂l/∂w_h = (ŷ − y) σ'(pre_y) uᵀ x̄ ∈ R^{m×(d+1)} (the columns' Jacobians stacked)."""
    u_ = np.reshape(u(theta, f.pre_h, hidden), (-1, 1))
    return dl_dy_hat(f.y_hat, y) * dy_hat_dpre_y(f.pre_y, output) * u_ @ np.reshape(f.x_bar, (1, -1))


def grad_w_h(f: Forward, y, theta, *, hidden="sigmoid", output="sigmoid"):
    """eq. (11): ∇_{w_h} l = (ŷ − y) σ'(pre_y) x̄ᵀ u ∈ R^{(d+1)×m} (the note's "∇_c" is a typo)."""
    u_ = np.reshape(u(theta, f.pre_h, hidden), (1, -1))
    return dl_dy_hat(f.y_hat, y) * dy_hat_dpre_y(f.pre_y, output) * np.reshape(f.x_bar, (-1, 1)) @ u_


# ---- whole gradients --------------------------------------------------------


def gradients(x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> Gradients:
    """∇_{w_h} l (eq. 11) and ∇θ l (eq. 6) for ONE sample x ∈ R^d."""
    f = forward(x, y, w_h, theta, hidden=hidden, output=output)
    if f.x_bar.ndim != 1:
        raise ValueError(f"x: expected one sample of shape (d,), got {np.shape(x)}; use batch_gradients")
    return Gradients(grad_w_h(f, y, theta, hidden=hidden, output=output), grad_theta(f, y, output=output))


def batch_gradients(X, Y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> Gradients:
    """Gradient of the mean loss over a design matrix: the mean of per-sample gradients."""
    p = validate(np.atleast_2d(X) if np.ndim(X) == 1 else X, np.atleast_1d(Y), w_h, theta)
    per = [gradients(x, y, p.w_h, p.theta, hidden=hidden, output=output) for x, y in zip(p.x, p.y)]
    return Gradients(np.mean([g.w_h for g in per], axis=0), np.mean([g.theta for g in per], axis=0))
