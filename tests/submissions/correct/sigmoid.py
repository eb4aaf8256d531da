"""Correct: sigmoid hidden and output layers, written with explicit x̄ and h̄."""
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward_pass(X, wh, theta):
    x_bar = np.hstack([X, np.ones((X.shape[0], 1))])
    pre_h = x_bar @ wh
    h = sigmoid(pre_h)
    h_bar = np.hstack([h, np.ones((h.shape[0], 1))])
    pre_y = h_bar @ theta
    return {"pre_h": pre_h, "h": h, "pre_y": pre_y, "y_hat": sigmoid(pre_y)}


def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    pre_h, h = np.ravel(pre_h), np.ravel(h)
    pre_y, y_hat = float(np.squeeze(pre_y)), float(np.squeeze(y_hat))
    s = sigmoid(pre_y)
    delta = (y_hat - y) * s * (1.0 - s)                 # (ŷ − y) σ'(pre_y)
    h_bar = np.append(h, 1.0)
    x_bar = np.append(x, 1.0)
    sh = sigmoid(pre_h)
    u = theta[:-1] * sh * (1.0 - sh)                     # θ̃ ⊙ σ'(pre_h)
    return {"dl_dtheta": delta * h_bar, "dl_dwh": delta * np.outer(x_bar, u)}
