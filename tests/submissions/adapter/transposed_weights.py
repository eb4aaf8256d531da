"""Correct for the API of examples/contracts/transposed_weights.py (tanh hidden, sigmoid
output, W = w_hᵀ of shape (m, d+1)).  Under the course contract it defines nothing."""
import numpy as np


def predict(inputs, W, v):
    ones = np.ones((inputs.shape[0], 1))
    a1 = np.hstack([inputs, ones]) @ W.T
    z1 = np.tanh(a1)
    a2 = np.hstack([z1, ones]) @ v
    return {"a1": a1, "z1": z1, "a2": a2, "out": 1.0 / (1.0 + np.exp(-a2))}


def backprop(sample, target, a1, z1, out, v):
    out = float(np.squeeze(out))
    delta = (out - target) * out * (1.0 - out)
    z1 = np.ravel(z1)
    u = v[:-1] * (1.0 - z1 ** 2)
    return {"dW": delta * np.outer(u, np.append(sample, 1.0)), "dv": delta * np.append(z1, 1.0)}
