"""Bug: the loop over features runs range(d - 1): the last feature's row of ∇w_h stays 0.
Sigmoid / sigmoid."""
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
    u = theta[:-1] * h * (1.0 - h)
    d = len(x)
    g_wh = np.zeros((d + 1, len(h)))
    for k in range(d - 1):
        g_wh[k] = delta * x[k] * u
    g_wh[d] = delta * u
    return {"dl_dtheta": delta * np.append(h, 1.0), "dl_dwh": g_wh}
