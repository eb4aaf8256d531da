"""Bug: the hidden layer uses a leaky relu (0.1·z for z < 0), none of the built-in activations, while
the gradients use relu's derivative.  Relu output."""
import numpy as np


def forward_pass(X, wh, theta):
    ones = np.ones((X.shape[0], 1))
    pre_h = np.hstack([X, ones]) @ wh
    h = np.where(pre_h > 0, pre_h, 0.1 * pre_h)
    pre_y = np.hstack([h, ones]) @ theta
    return {"pre_h": pre_h, "h": h, "pre_y": pre_y, "y_hat": np.maximum(pre_y, 0.0)}


def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    pre_h, h = np.ravel(pre_h), np.ravel(h)
    pre_y, y_hat = float(np.squeeze(pre_y)), float(np.squeeze(y_hat))
    delta = (y_hat - y) * (pre_y > 0)
    u = theta[:-1] * (pre_h > 0)
    return {"dl_dtheta": delta * np.append(h, 1.0), "dl_dwh": delta * np.outer(np.append(x, 1.0), u)}
