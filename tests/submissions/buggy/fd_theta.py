"""Bug: ∇θ by forward differences with step 1e-3 (relative error ≈ 1e-4); ∇w_h by the formula.
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
    h_bar = np.append(h, 1.0)
    loss = lambda t: 0.5 * (sigmoid(h_bar @ t) - y) ** 2
    step = 1e-3
    g_theta = np.array([(loss(theta + step * e) - loss(theta)) / step for e in np.eye(len(theta))])
    u = theta[:-1] * h * (1.0 - h)
    return {"dl_dtheta": g_theta, "dl_dwh": delta * np.outer(np.append(x, 1.0), u)}
