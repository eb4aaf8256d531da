"""Correct (tanh hidden, identity output) but sleeps SLEEP seconds at import, every run:
with a guessed sigmoid pair the activation re-run doubles its time."""
import time

import numpy as np

SLEEP = 0.0  # tests write a copy with a real value
time.sleep(SLEEP)


def forward_pass(X, wh, theta):
    ones = np.ones((len(X), 1))
    pre_h = np.concatenate([X, ones], axis=1) @ wh
    h = np.tanh(pre_h)
    pre_y = np.concatenate([h, ones], axis=1) @ theta
    return {"pre_h": pre_h, "h": h, "pre_y": pre_y, "y_hat": pre_y.copy()}


def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    r = (np.asarray(y_hat).reshape(()) - y)
    h_bar = np.append(np.ravel(h), 1.0)
    u = theta[:-1] * (1.0 - np.tanh(np.ravel(pre_h)) ** 2)
    x_bar = np.append(x, 1.0)
    return {"dl_dtheta": r * h_bar, "dl_dwh": r * x_bar[:, None] * u[None, :]}
