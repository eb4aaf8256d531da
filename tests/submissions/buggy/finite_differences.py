"""Not a formula: the gradients are forward-difference approximations (step 1e-7) of the
loss, through θ directly and through pre_h for w_h (∇w_h = x̄ᵀ ∂l/∂pre_h).  Sigmoid / sigmoid."""
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward_pass(X, wh, theta):
    ones = np.ones((X.shape[0], 1))
    pre_h = np.hstack([X, ones]) @ wh
    h = sigmoid(pre_h)
    pre_y = np.hstack([h, ones]) @ theta
    return {"pre_h": pre_h, "h": h, "pre_y": pre_y, "y_hat": sigmoid(pre_y)}


STEP = 1e-7


def _loss_from_pre_h(pre_h, theta, y):
    h_bar = np.append(sigmoid(pre_h), 1.0)
    return 0.5 * (sigmoid(h_bar @ theta) - y) ** 2


def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    pre_h = np.ravel(pre_h)
    base = _loss_from_pre_h(pre_h, theta, y)
    d_theta = np.empty_like(theta)
    for j in range(theta.size):
        t = theta.copy()
        t[j] += STEP
        d_theta[j] = (_loss_from_pre_h(pre_h, t, y) - base) / STEP
    d_pre_h = np.empty_like(pre_h)
    for j in range(pre_h.size):
        p = pre_h.copy()
        p[j] += STEP
        d_pre_h[j] = (_loss_from_pre_h(p, theta, y) - base) / STEP
    return {"dl_dtheta": d_theta, "dl_dwh": np.outer(np.append(x, 1.0), d_pre_h)}
