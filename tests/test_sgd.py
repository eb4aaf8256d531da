"""Per-sample SGD (§1.1) with the spec's gradients drives the training loss down."""

import itertools

import numpy as np
import pytest

from gradcheck.model import network
from gradcheck.model.activations import names
from gradcheck.model.sgd import sgd


@pytest.mark.parametrize("hidden, output", list(itertools.product(names(), names())))
def test_sgd_on_a_small_regression_set_lowers_the_training_loss(hidden, output):
    rng = np.random.default_rng(7)
    d, m, n = 3, 5, 40
    X = rng.normal(size=(n, d))
    teacher = rng.normal(size=(d + 1, m)), rng.normal(size=m + 1)
    Y = network.forward(X, np.zeros(n), *teacher, hidden=hidden, output=output).y_hat
    w_h, theta = 0.5 * rng.normal(size=(d + 1, m)), 0.5 * rng.normal(size=m + 1)
    w_h[-1], theta = 0.5, np.abs(theta)  # positive biases and θ: relu units start alive
    result = sgd(X, Y, w_h, theta, step=0.05, epochs=30, hidden=hidden, output=output)
    assert result.losses[-1] < 0.5 * result.losses[0], result.losses[[0, -1]]


def test_sgd_validates_its_options():
    X, Y = np.zeros((2, 1)), np.zeros(2)
    with pytest.raises(ValueError, match="step: expected a positive step size, got 0"):
        sgd(X, Y, np.zeros((2, 1)), np.zeros(2), step=0)
    with pytest.raises(ValueError, match=r"X: expected a design matrix of shape \(n, d\), got \(1,\)"):
        sgd(np.zeros(1), 0.0, np.zeros((2, 1)), np.zeros(2))
