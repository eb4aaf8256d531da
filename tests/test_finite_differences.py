"""Oracle 1: central differences, complex step and scipy.differentiate, with error bounds."""
import numpy as np
import pytest

from gradcheck import finite_differences as fd
from gradcheck import formulas
from gradcheck.network import pack


def _problem(n=4, d=3, m=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=(d + 1, m)), rng.normal(size=m + 1)


def _exact(X, Y, w_h, theta, **kw):
    g = formulas.batch_gradients(X, Y, w_h, theta, **kw)
    return pack(g.w_h, g.theta)


@pytest.mark.parametrize("method", ["central", "complex-step"])
@pytest.mark.parametrize("hidden, output", [("sigmoid", "sigmoid"), ("tanh", "identity"), ("softplus", "tanh")])
def test_estimates_are_within_their_own_error_bounds(method, hidden, output):
    X, Y, w_h, theta = _problem()
    est = fd.estimate(X, Y, w_h, theta, hidden=hidden, output=output, method=method)
    exact = _exact(X, Y, w_h, theta, hidden=hidden, output=output)
    assert np.all(np.abs(est.grad - exact) <= est.error)
    assert est.nfev == (4 if method == "central" else 1) * exact.size
    limit = 1e-7 if method == "central" else 1e-13
    assert np.linalg.norm(est.grad - exact) / np.linalg.norm(exact) < limit


def test_auto_uses_the_complex_step_only_for_analytic_activations():
    X, Y, w_h, theta = _problem()
    assert fd.estimate(X, Y, w_h, theta, hidden="tanh", output="sigmoid").method == "complex-step"
    assert fd.estimate(X, Y, w_h, theta, hidden="relu", output="sigmoid").method == "central"


def test_chunking_to_a_small_budget_changes_nothing():
    X, Y, w_h, theta = _problem()
    big = fd.estimate(X, Y, w_h, theta, method="central")
    small = fd.estimate(X, Y, w_h, theta, method="central", budget=1)  # one row at a time
    np.testing.assert_array_equal(big.grad, small.grad)


def test_settle_uses_scipy_differentiate_and_reports_status():
    X, Y, w_h, theta = _problem()
    f, p0 = fd.network_loss(X, Y, w_h, theta)
    coords = [0, 7, p0.size - 1]
    est = fd.settle(f, p0, coords)
    exact = _exact(X, Y, w_h, theta)[coords]
    assert est.method == "scipy.differentiate" and est.nfev > 0
    assert np.all(est.status == 0)
    np.testing.assert_allclose(est.grad, exact, rtol=1e-9)


def test_a_plain_black_box_works_too():
    f = lambda P: np.sin(P).sum(axis=1)  # (k, P) -> (k,)
    p0 = np.array([0.1, 1.0, -2.0])
    est = fd.central_differences(f, p0)
    np.testing.assert_allclose(est.grad, np.cos(p0), rtol=1e-9)
    assert np.all(np.abs(est.grad - np.cos(p0)) <= est.error)


def test_unknown_method_is_named():
    X, Y, w_h, theta = _problem()
    with pytest.raises(ValueError, match=r"method: expected 'auto', 'central' or 'complex-step', got 'forward'"):
        fd.estimate(X, Y, w_h, theta, method="forward")
