"""Bug: the relu output's derivative taken as 1 everywhere (σ'(pre_y) dropped): wherever the output
unit is inactive the right gradient is exactly 0 and this one is not.  Relu / relu, course style."""
import numpy as np


def relu(x):
    return np.maximum(x, 0)


def relu_derivative(x):
    return np.heaviside(x, 0)


def forward_pass(X, wh, theta):
    n = X.shape[0] if X.shape else 1
    X_stacked = np.column_stack((X, np.ones(shape=(n, 1))))
    pre_h = X_stacked @ wh
    h = relu(pre_h)
    h_bar = np.column_stack((h, np.ones(shape=(n, 1))))
    pre_y = h_bar @ theta
    y_hat = relu(pre_y)
    return {"pre_h": pre_h, "h": h, "pre_y": pre_y, "y_hat": y_hat}


def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    dl_dy_hat = y_hat - y
    dy_hat_dpre_y = 1.0
    h_bar = np.append(h, 1)
    dl_dtheta = dl_dy_hat * dy_hat_dpre_y * h_bar
    theta_tilde = theta[:-1]
    x_bar = np.append(x, 1).reshape(1, -1)
    u = theta_tilde * relu_derivative(pre_h)
    dl_dwh = (dl_dy_hat * dy_hat_dpre_y) * u.T @ x_bar
    return {"dl_dtheta": dl_dtheta.T, "dl_dwh": dl_dwh.T}
