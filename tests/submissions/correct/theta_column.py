"""Correct, but written for θ as a column (m+1, 1), as the course's docstring says:
it indexes theta[:-1, 0], so it raises with a flat θ.  Sigmoid hidden, identity output."""
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward_pass(X, wh, theta):
    n = X.shape[0]
    pre_h = np.column_stack((X, np.ones(n))) @ wh
    h = sigmoid(pre_h)
    pre_y = h @ theta[:-1, 0] + theta[-1, 0]            # needs a column θ
    return {"pre_h": pre_h, "h": h, "pre_y": pre_y[:, None], "y_hat": pre_y[:, None]}


def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    r = float(np.squeeze(y_hat)) - y
    h = np.ravel(h)
    dl_dtheta = r * np.append(h, 1.0)[:, None]           # (m+1, 1), θ's shape
    u = theta[:-1, 0] * h * (1.0 - h)
    dl_dwh = r * np.outer(np.append(x, 1.0), u)
    return {"dl_dtheta": dl_dtheta, "dl_dwh": dl_dwh}
