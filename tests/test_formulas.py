"""The spec's formulas on hand-computed cases, and the shapes the note gives."""

import numpy as np
import pytest

from gradcheck.model import formulas as F
from gradcheck.model.network import forward

# d = 1, m = 2, identity activations: every number below is exact.
X, Y = np.array([2.0]), 1.0
W_H = np.array([[1.0, -1.0], [0.5, 2.0]])
THETA = np.array([2.0, 3.0, -1.0])
KW = dict(hidden="identity", output="identity")


def test_hand_computed_gradients():
    # x̄ = (2, 1), pre_h = h = (2.5, 0), h̄ = (2.5, 0, 1), pre_y = ŷ = 4, ŷ − y = 3, u = θ̃ = (2, 3)
    g = F.gradients(X, Y, W_H, THETA, **KW)
    np.testing.assert_array_equal(g.theta, [7.5, 0.0, 3.0])  # eq. (6)
    np.testing.assert_array_equal(g.w_h, [[12.0, 18.0], [6.0, 9.0]])  # eq. (11)


def test_jacobian_factors_have_the_notes_shapes():
    d, m = 3, 4
    rng = np.random.default_rng(0)
    x, w_h, theta = rng.normal(size=d), rng.normal(size=(d + 1, m)), rng.normal(size=m + 1)
    f = forward(x, 0.3, w_h, theta)
    assert np.shape(F.dl_dy_hat(f.y_hat, 0.3)) == ()  # (4) a scalar
    assert np.shape(F.dy_hat_dpre_y(f.pre_y)) == ()  # (5) a scalar
    assert F.dpre_y_dtheta(f.h_bar).shape == (1, m + 1)  # h̄ ∈ R^{1,m+1}
    assert F.dpre_y_dh(theta).shape == (1, m)  # θ̃ ∈ R^{1,m}
    assert F.dh_dpre_h(f.pre_h).shape == (m, m)  # D, diagonal
    assert np.count_nonzero(F.dh_dpre_h(f.pre_h) - np.diag(np.diag(F.dh_dpre_h(f.pre_h)))) == 0
    M = F.dpre_h_dc(f.x_bar, 2, m)
    assert M.shape == (m, d + 1) and np.array_equal(M[2], f.x_bar) and not M[[0, 1, 3]].any()
    assert F.jacobian_theta(f, 0.3).shape == (1, m + 1)  # (3)
    assert F.jacobian_column(f, 0.3, theta, 1).shape == (1, d + 1)  # (8)
    assert F.jacobian_column_u(f, 0.3, theta, 1).shape == (1, d + 1)  # (9)
    assert F.jacobian_w_h(f, 0.3, theta).shape == (m, d + 1)  # (10)
    assert F.grad_w_h(f, 0.3, theta).shape == (d + 1, m)  # (11)
    assert F.grad_theta(f, 0.3).shape == (m + 1,)  # (6)


def test_batch_gradients_are_the_mean_and_validate_their_input():
    Xb = np.array([[2.0], [-1.0]])
    Yb = np.array([1.0, 0.0])
    g = F.batch_gradients(Xb, Yb, W_H, THETA, **KW)
    per = [F.gradients(x, y, W_H, THETA, **KW) for x, y in zip(Xb, Yb)]
    np.testing.assert_array_equal(g.theta, (per[0].theta + per[1].theta) / 2)
    with pytest.raises(ValueError, match=r"w_h: expected shape \(d\+1, m\) = \(2, m\)"):
        F.batch_gradients(Xb, Yb, W_H[:1], THETA, **KW)


def test_gradients_wants_one_sample():
    with pytest.raises(ValueError, match=r"x: expected one sample of shape \(d,\), got \(2, 1\); use batch_gradients"):
        F.gradients(np.array([[2.0], [1.0]]), np.array([1.0, 0.0]), W_H, THETA, **KW)
