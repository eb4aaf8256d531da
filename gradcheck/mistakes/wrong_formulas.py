"""The wrong formulas of the mistake catalogue (:mod:`gradcheck.mistakes.catalogue`), one small function each.

Each has the signature of the function of :mod:`gradcheck.model.formulas` it replaces
and is written in the spec's notation.  The formula names it calls (``u``,
``theta_tilde``, ``dl_dy_hat``, ``dy_hat_dpre_y``, ``jacobian_w_h`` …) are looked
up in the formula set it is swapped into (:func:`gradcheck.mistakes.catalogue.formula_set`),
so a wrong factor propagates as it would in a student's code; the helpers here
(names starting with ``_``) are rebound the same way.
"""

from __future__ import annotations

import numpy as np

from gradcheck.model import activations
from gradcheck.model.formulas import (
    Gradients,
    dl_dy_hat,
    dpre_y_dtheta,
    dy_hat_dpre_y,
    gradients,
    jacobian_w_h,
    theta_tilde,
    u,
)
from gradcheck.model.shapes import validate


def _act(name, argument):
    return activations.get(name, argument=argument)


def _row(v):
    return np.reshape(v, (1, -1))


def _col(v):
    return np.reshape(v, (-1, 1))


def _prepend_one(v_bar):
    """(1, v) from v̄ = (v, 1): the bias moved first."""
    return np.concatenate([np.ones(1), np.asarray(v_bar)[:-1]])


def _with_zero(v_bar):
    """(v, 0) from v̄ = (v, 1)."""
    return np.append(np.asarray(v_bar)[:-1], 0.0)


def _sigma_prime(pre, name, kind, argument="hidden"):
    """A wrong σ'(pre): evaluated at σ(pre), the logistic form σ(1 − σ), the sigmoid's, or squared."""
    a = _act(name, argument)
    if kind == "at_activation":
        return a.dsigma(a.sigma(pre))  # σ'(h) for σ'(pre_h)
    if kind == "logistic_form":  # right only for the sigmoid; there the accurate σ'
        if a.name == "sigmoid":  # (σ(1 − σ) cancels for |pre| ≳ 10: rounding, not a mistake)
            return a.dsigma(pre)
        s = a.sigma(pre)
        return s * (1 - s)
    if kind == "sigmoid":
        return _act("sigmoid", argument).dsigma(pre)
    if kind == "squared":
        return a.dsigma(pre) ** 2  # D applied twice
    raise ValueError(f"kind: expected at_activation, logistic_form, sigmoid or squared, got {kind!r}")


# ---- ∂l/∂ŷ, eq. (4) -----------------------------------------------------------


def dl_dy_hat_flipped(y_hat, y):
    return y - y_hat


def dl_dy_hat_doubled(y_hat, y):
    return 2 * (y_hat - y)


def dl_dy_hat_halved(y_hat, y):
    return 0.5 * (y_hat - y)


def dl_dy_hat_one(y_hat, y):
    return np.ones_like(np.asarray(y_hat - y, dtype=np.float64))


# ---- ∂ŷ/∂pre_y, eq. (5) -------------------------------------------------------


def dy_hat_dpre_y_one(pre_y, output="sigmoid"):
    return np.ones_like(np.asarray(pre_y, dtype=np.float64))


def dy_hat_dpre_y_at_y_hat(pre_y, output="sigmoid"):
    return _sigma_prime(pre_y, output, "at_activation", "output")


def dy_hat_dpre_y_logistic_form(pre_y, output="sigmoid"):
    return _sigma_prime(pre_y, output, "logistic_form", "output")


def dy_hat_dpre_y_sigmoid(pre_y, output="sigmoid"):
    return _sigma_prime(pre_y, output, "sigmoid", "output")


# ---- ∂h/∂pre_h = D and u = θ̃ D (after eq. 8) ----------------------------------


def dh_dpre_h_identity(pre_h, hidden="sigmoid"):
    return np.eye(np.size(pre_h))


def u_without_D(theta, pre_h, hidden="sigmoid"):
    return theta_tilde(theta) * np.ones(np.shape(pre_h))


def dh_dpre_h_at_h(pre_h, hidden="sigmoid"):
    return np.diag(_sigma_prime(pre_h, hidden, "at_activation"))


def u_at_h(theta, pre_h, hidden="sigmoid"):
    return theta_tilde(theta) * _sigma_prime(pre_h, hidden, "at_activation")


def dh_dpre_h_logistic_form(pre_h, hidden="sigmoid"):
    return np.diag(_sigma_prime(pre_h, hidden, "logistic_form"))


def u_logistic_form(theta, pre_h, hidden="sigmoid"):
    return theta_tilde(theta) * _sigma_prime(pre_h, hidden, "logistic_form")


def dh_dpre_h_sigmoid(pre_h, hidden="sigmoid"):
    return np.diag(_sigma_prime(pre_h, hidden, "sigmoid"))


def u_sigmoid(theta, pre_h, hidden="sigmoid"):
    return theta_tilde(theta) * _sigma_prime(pre_h, hidden, "sigmoid")


def dh_dpre_h_squared(pre_h, hidden="sigmoid"):
    return np.diag(_sigma_prime(pre_h, hidden, "squared"))


def u_D_squared(theta, pre_h, hidden="sigmoid"):
    return theta_tilde(theta) * _sigma_prime(pre_h, hidden, "squared")


def u_dot(theta, pre_h, hidden="sigmoid"):
    """⟨θ̃, σ'(pre_h)⟩: one number where u has m."""
    return np.atleast_1d(theta_tilde(theta) @ _act(hidden, "hidden").dsigma(pre_h))


# ---- θ̃ and ∂pre_y/∂h ---------------------------------------------------------


def theta_tilde_from_second(theta):
    return theta[1:]


def dpre_y_dh_ones(theta):
    return np.ones((1, np.size(theta) - 1))


def u_without_theta(theta, pre_h, hidden="sigmoid"):
    return np.array(_act(hidden, "hidden").dsigma(pre_h), dtype=np.float64)


# ---- ∂pre_y/∂θ = h̄ and ∇θ, eq. (3) and (6) -----------------------------------


def dpre_y_dtheta_no_bias(h_bar):
    return _row(np.asarray(h_bar)[:-1])


def dpre_y_dtheta_prepended(h_bar):
    return _row(_prepend_one(h_bar))


def dpre_y_dtheta_zero_bias(h_bar):
    return _row(_with_zero(h_bar))


def jacobian_theta_flipped(f, y, *, output="sigmoid"):
    return (y - f.y_hat) * dy_hat_dpre_y(f.pre_y, output) * dpre_y_dtheta(f.h_bar)


def jacobian_theta_pre_h(f, y, *, output="sigmoid"):
    return dl_dy_hat(f.y_hat, y) * dy_hat_dpre_y(f.pre_y, output) * _row(np.append(f.pre_h, 1.0))


def jacobian_theta_x_bar(f, y, *, output="sigmoid"):
    return dl_dy_hat(f.y_hat, y) * dy_hat_dpre_y(f.pre_y, output) * _row(f.x_bar)


# ---- M_{n_c}, eq. (9), (10) and ∇w_h, eq. (11) --------------------------------


def _k(f, y, output):
    """(ŷ − y) σ'(pre_y), the scalar in front of eq. (6)-(11)."""
    return dl_dy_hat(f.y_hat, y) * dy_hat_dpre_y(f.pre_y, output)


def dpre_h_dc_prepended(x_bar, n_c, m):
    M = np.zeros((m, np.size(x_bar)))
    M[n_c] = _prepend_one(x_bar)
    return M


def jacobian_column_u_prepended(f, y, theta, n_c, *, hidden="sigmoid", output="sigmoid"):
    return _k(f, y, output) * u(theta, f.pre_h, hidden)[n_c] * _row(_prepend_one(f.x_bar))


def jacobian_column_u_shifted(f, y, theta, n_c, *, hidden="sigmoid", output="sigmoid"):
    return _k(f, y, output) * u(theta, f.pre_h, hidden)[n_c - 1] * _row(f.x_bar)


def jacobian_w_h_prepended(f, y, theta, *, hidden="sigmoid", output="sigmoid"):
    return _k(f, y, output) * _col(u(theta, f.pre_h, hidden)) @ _row(_prepend_one(f.x_bar))


def jacobian_w_h_flipped(f, y, theta, *, hidden="sigmoid", output="sigmoid"):
    return (y - f.y_hat) * dy_hat_dpre_y(f.pre_y, output) * _col(u(theta, f.pre_h, hidden)) @ _row(f.x_bar)


def jacobian_w_h_output_sigma(f, y, theta, *, hidden="sigmoid", output="sigmoid"):
    return _k(f, y, output) * _col(u(theta, f.pre_h, output)) @ _row(f.x_bar)


def grad_w_h_untransposed(f, y, theta, *, hidden="sigmoid", output="sigmoid"):
    return jacobian_w_h(f, y, theta, hidden=hidden, output=output)


def grad_w_h_reshaped(f, y, theta, *, hidden="sigmoid", output="sigmoid"):
    J = jacobian_w_h(f, y, theta, hidden=hidden, output=output)
    return np.reshape(J, J.shape[::-1])


def grad_w_h_no_bias(f, y, theta, *, hidden="sigmoid", output="sigmoid"):
    return _k(f, y, output) * _col(np.asarray(f.x_bar)[:-1]) @ _row(u(theta, f.pre_h, hidden))


def grad_w_h_prepended(f, y, theta, *, hidden="sigmoid", output="sigmoid"):
    return _k(f, y, output) * _col(_prepend_one(f.x_bar)) @ _row(u(theta, f.pre_h, hidden))


def grad_w_h_zero_bias(f, y, theta, *, hidden="sigmoid", output="sigmoid"):
    return _k(f, y, output) * _col(_with_zero(f.x_bar)) @ _row(u(theta, f.pre_h, hidden))


def grad_w_h_flipped(f, y, theta, *, hidden="sigmoid", output="sigmoid"):
    return (y - f.y_hat) * dy_hat_dpre_y(f.pre_y, output) * _col(f.x_bar) @ _row(u(theta, f.pre_h, hidden))


def grad_w_h_output_sigma(f, y, theta, *, hidden="sigmoid", output="sigmoid"):
    return _k(f, y, output) * _col(f.x_bar) @ _row(u(theta, f.pre_h, output))


# ---- batches, eq. (1) averaged ------------------------------------------------


def _per_sample(X, Y, w_h, theta, hidden, output):
    p = validate(np.atleast_2d(X) if np.ndim(X) == 1 else X, np.atleast_1d(Y), w_h, theta)
    return [gradients(x, y, p.w_h, p.theta, hidden=hidden, output=output) for x, y in zip(p.x, p.y)]


def batch_gradients_sum(X, Y, w_h, theta, *, hidden="sigmoid", output="sigmoid"):
    per = _per_sample(X, Y, w_h, theta, hidden, output)
    return Gradients(np.sum([g.w_h for g in per], axis=0), np.sum([g.theta for g in per], axis=0))


def batch_gradients_mean_twice(X, Y, w_h, theta, *, hidden="sigmoid", output="sigmoid"):
    per = _per_sample(X, Y, w_h, theta, hidden, output)
    n = len(per)
    return Gradients(np.mean([g.w_h for g in per], axis=0) / n, np.mean([g.theta for g in per], axis=0) / n)


# ---- numerically lossy, not wrong (diagnosis only; see catalogue.LOGISTIC_ROUNDING) ----


def literal_dsigma(pre, name):
    """σ'(z) as σ(z)(1 − σ(z)) for sigmoid: mathematically right, but 1 − σ(z) cancels for large |z|."""
    a = activations.get(name)
    if a.name != "sigmoid":
        return a.dsigma(pre)
    s = a.sigma(pre)
    return s * (1 - s)


def dy_hat_dpre_y_literal(pre_y, output="sigmoid"):
    return literal_dsigma(pre_y, output)


def dh_dpre_h_literal(pre_h, hidden="sigmoid"):
    return np.diag(literal_dsigma(pre_h, hidden))


def u_literal(theta, pre_h, hidden="sigmoid"):
    return theta_tilde(theta) * literal_dsigma(pre_h, hidden)
