"""The forward pass (§1.3) and input validation."""

import warnings

import numpy as np
import pytest

from gradcheck.model import network
from gradcheck.model.activations import ACTIVATIONS, get
from gradcheck.model.shapes import validate


def _params(d=3, m=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(d + 1, m)), rng.normal(size=m + 1)


def test_one_sample_intermediates_follow_the_spec():
    w_h, theta = _params()
    x, y = np.array([0.5, -1.0, 2.0]), 0.25
    f = network.forward(x, y, w_h, theta, hidden="tanh", output="identity")
    np.testing.assert_array_equal(f.x_bar, [0.5, -1.0, 2.0, 1.0])  # bias LAST
    np.testing.assert_allclose(f.pre_h, f.x_bar @ w_h)
    np.testing.assert_allclose(f.h, np.tanh(f.pre_h))
    np.testing.assert_array_equal(f.h_bar, np.append(f.h, 1.0))
    assert f.pre_y.shape == () and f.pre_y == pytest.approx(f.h_bar @ theta)
    assert f.y_hat == pytest.approx(f.pre_y)
    assert f.l == pytest.approx(0.5 * (f.y_hat - y) ** 2)


def test_batch_stacks_samples_and_the_loss_is_their_mean():
    w_h, theta = _params()
    X = np.random.default_rng(1).normal(size=(5, 3))
    Y = np.linspace(-1, 1, 5)
    f = network.forward(X, Y, w_h, theta)
    singles = [network.forward(x, y, w_h, theta) for x, y in zip(X, Y)]
    assert f.pre_h.shape == (5, 4) and f.l.shape == (5,)
    np.testing.assert_allclose(f.l, [s.l for s in singles], rtol=1e-15)
    assert f.loss == pytest.approx(np.mean([s.l for s in singles]), rel=1e-15)


def test_stacked_parameters_evaluate_k_networks_at_once():
    w_h, theta = _params()
    X = np.random.default_rng(2).normal(size=(3, 3))
    W = np.stack([w_h, 2 * w_h])
    T = np.stack([theta, -theta])
    f = network.forward_unchecked(X, 0.0, W, T)
    for k in range(2):
        np.testing.assert_allclose(f.l[k], network.forward(X, np.zeros(3), W[k], T[k]).l, rtol=1e-15)


def test_pack_and_unpack_are_inverse():
    w_h, theta = _params(2, 3)
    p = network.pack(w_h, theta)
    assert p.shape == (3 * 3 + 4,)
    w2, t2 = network.unpack(p, 2, 3)
    np.testing.assert_array_equal(w2, w_h)
    np.testing.assert_array_equal(t2, theta)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activations_do_not_overflow_and_derivatives_are_accurate(name):
    a = get(name)
    z = np.array([-1e4, -30.0, -1.0, 0.5, 30.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, ds = a.sigma(z), a.dsigma(z)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(ds))
    # central difference at moderate points (away from relu's kink)
    t = np.array([-1.0, 0.5, 2.0])
    h = 1e-6
    np.testing.assert_allclose(a.dsigma(t), (a.sigma(t + h) - a.sigma(t - h)) / (2 * h), rtol=1e-8, atol=1e-10)


def test_saturated_derivatives_keep_relative_precision():
    # σ'(30) = e^-30/(1+e^-30)^2: σ(1 − σ) would lose it to cancellation
    assert get("sigmoid").dsigma(np.array(30.0)) == pytest.approx(9.357622968839299e-14, rel=1e-14)
    assert get("tanh").dsigma(np.array(-30.0)) == pytest.approx(3.502604305080e-26, rel=1e-12)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            dict(w_h=np.zeros((3, 4))),
            r"w_h: expected shape \(d\+1, m\) = \(4, m\) for x with d = 3, got \(3, 4\) \(missing the bias row",
        ),
        (
            dict(theta=np.zeros(4)),
            r"theta: expected shape \(m\+1,\) = \(5,\) for w_h with m = 4, got \(4,\) \(missing the bias entry",
        ),
        (
            dict(x=np.zeros((2, 2, 3))),
            r"x: expected a line vector of shape \(d,\) or a design matrix \(n, d\), got shape \(2, 2, 3\)",
        ),
        (dict(y=np.zeros(2)), r"y: expected shape \(\) to match x of shape \(3,\), got \(2,\)"),
        (dict(x=np.array([1.0, np.nan, 0.0])), r"x: expected finite values, got nan at x\[1\]"),
        (dict(theta=np.array(["a"] * 5)), r"theta: expected a real numeric array, got dtype <U1"),
    ],
)
def test_bad_input_names_the_argument_expected_and_actual(args, message):
    kw = dict(x=np.zeros(3), y=0.0, w_h=np.zeros((4, 4)), theta=np.zeros(5)) | args
    with pytest.raises((ValueError, TypeError), match=message):
        network.forward(**kw)


def test_unknown_activation_is_named():
    w_h, theta = _params()
    with pytest.raises(
        ValueError, match=r"hidden: expected one of sigmoid, tanh, relu, identity, softplus, got 'sigmod'"
    ):
        network.forward(np.zeros(3), 0.0, w_h, theta, hidden="sigmod")


def test_validate_accepts_integers_and_a_column_of_targets():
    p = validate([[1, 2], [3, 4]], [[1], [0]], np.zeros((3, 2)), np.zeros(3))
    assert p.x.dtype == np.float64 and p.y.shape == (2,) and p.dims.n == 2
