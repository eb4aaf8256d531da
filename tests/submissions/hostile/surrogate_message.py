"""Hostile (reports): text that is not valid Unicode.  The forward pass is right for batches but
returns a key holding a lone surrogate for single rows; the gradients raise with a lone surrogate
("\\ud800") in the message; stdout gets bytes that are not UTF-8.  Reports of the whole batch used
to fail on it (results.json left empty, nobody's feedback written)."""
import sys

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward_pass(X, wh, theta):
    sys.stdout.buffer.write(b"not utf-8: \xff\xfe\xed\xa0\x80 end\n")
    sys.stdout.flush()
    x_bar = np.hstack([X, np.ones((X.shape[0], 1))])
    pre_h = x_bar @ wh
    h = sigmoid(pre_h)
    h_bar = np.hstack([h, np.ones((h.shape[0], 1))])
    pre_y = h_bar @ theta
    last = "y_hat" if X.shape[0] > 1 else "y_hat\ud800"
    return {"pre_h": pre_h, "h": h, "pre_y": pre_y, last: sigmoid(pre_y)}


def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    raise ValueError("lone surrogate \ud800 in the message")
