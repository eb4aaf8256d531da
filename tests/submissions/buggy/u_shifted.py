"""Bug: u built from the whole θ (bias included), then the wrong end dropped ([:, 1:]): column j
of ∇w_h uses θ[j+1]σ'(pre_h[j+1]).  Sigmoid / sigmoid."""
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward_pass(X, wh, theta):
    ones = np.ones((X.shape[0], 1))
    pre_h = np.hstack([X, ones]) @ wh
    h = sigmoid(pre_h)
    pre_y = np.hstack([h, ones]) @ theta
    return {"pre_h": pre_h, "h": h, "pre_y": pre_y, "y_hat": sigmoid(pre_y)}



def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    h, y_hat = np.ravel(h), float(np.squeeze(y_hat))
    delta = (y_hat - y) * y_hat * (1.0 - y_hat)
    u_all = theta * np.append(h * (1.0 - h), 1.0)
    g_wh = delta * np.outer(np.append(x, 1.0), u_all)[:, 1:]
    return {"dl_dtheta": delta * np.append(h, 1.0), "dl_dwh": g_wh}
