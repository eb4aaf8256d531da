"""Correct formulas computed and returned in float32 (softplus hidden, sigmoid output)."""
import numpy as np

F = np.float32


def softplus(z):
    return np.logaddexp(F(0), z).astype(F)


def sigmoid(z):
    return (F(1) / (F(1) + np.exp(-z))).astype(F)


def forward_pass(X, wh, theta):
    X, wh, theta = X.astype(F), wh.astype(F), theta.astype(F)
    ones = np.ones((X.shape[0], 1), dtype=F)
    pre_h = np.hstack([X, ones]) @ wh
    h = softplus(pre_h)
    pre_y = np.hstack([h, ones]) @ theta
    return {"pre_h": pre_h, "h": h, "pre_y": pre_y, "y_hat": sigmoid(pre_y)}


def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    x, theta = np.asarray(x, F), np.asarray(theta, F)
    pre_h, h = np.ravel(pre_h).astype(F), np.ravel(h).astype(F)
    y_hat, pre_y = F(np.squeeze(y_hat)), F(np.squeeze(pre_y))
    s = sigmoid(pre_y)
    delta = (y_hat - F(y)) * s * (F(1) - s)
    u = theta[:-1] * sigmoid(pre_h)                       # softplus' = sigmoid
    return {"dl_dtheta": (delta * np.append(h, F(1))).astype(F),
            "dl_dwh": (delta * np.outer(np.append(x, F(1)), u)).astype(F)}
