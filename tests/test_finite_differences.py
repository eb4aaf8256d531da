"""Oracle 1: central differences, complex step and scipy.differentiate, with error bounds."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradcheck.checking.scale import loss_noise
from gradcheck.checking.strategies import Problem, problems
from gradcheck.model import activations, formulas
from gradcheck.model.network import pack
from gradcheck.oracles import finite_differences as fd


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


# ---- the error bounds are honest: |estimate − true gradient| ≤ error, entry by entry ----
# The true gradient is that of the exact loss at the float inputs: rational arithmetic for
# the piecewise-linear activations (identity, relu), mpmath for the others.

_RATIONAL = {"identity": (lambda z: z, lambda z: 1), "relu": (lambda z: max(z, 0), lambda z: int(z > 0))}


def _true_gradient(x, y, w_h, theta, hidden, output, num=Fraction, acts=None):
    """∇ of the mean loss in exact (Fraction) or high-precision (mpmath) arithmetic, pack order."""
    acts = acts or _RATIONAL
    (sh, dsh), (sy, dsy) = acts[hidden], acts[output]
    X, Y = np.atleast_2d(x), np.atleast_1d(y)
    d1, m = w_h.shape
    W = [[num(float(w_h[k, j])) for j in range(m)] for k in range(d1)]
    T = [num(float(t)) for t in theta]
    g = [num(0)] * (d1 * m + m + 1)
    for xs, ys in zip(X, Y):
        x_bar = [num(float(v)) for v in xs] + [num(1)]
        pre_h = [sum((x_bar[k] * W[k][j] for k in range(d1)), num(0)) for j in range(m)]
        h_bar = [sh(z) for z in pre_h] + [num(1)]
        pre_y = sum((h_bar[j] * T[j] for j in range(m + 1)), num(0))
        c = (sy(pre_y) - num(float(ys))) * dsy(pre_y)
        for j in range(m + 1):
            g[d1 * m + j] += c * h_bar[j]
        for j in range(m):
            for k in range(d1):
                g[k * m + j] += c * T[j] * dsh(pre_h[j]) * x_bar[k]
    return [v / len(X) for v in g]


def _over_bound(est, true, num=Fraction):
    """Entries where |estimate − true| > error, compared exactly (no rounding of the true value)."""
    return [i for i, (a, e, t) in enumerate(zip(est.grad, est.error, true)) if abs(num(float(a)) - t) > num(float(e))]


def test_central_differences_bound_holds_at_a_tiny_residual_relu_relu():
    """ŷ − y = 1e-8: at p ± h the residual is ≈ h·|∂ŷ/∂p| ≫ 1e-8, and so is the loss's rounding
    there — eps·|r(p ± h)|·R, not the eps·|r(p)|·R the caller's noise gives (was 63× over the bound)."""
    x, y = np.array([2.658, 0.068]), np.float64(23.48359653)
    w_h = np.array([[2.857, -2.515], [0.644, -0.741], [1.811, -1.953]])
    theta = np.array([2.23, 0.264, 2.413])
    p = Problem(x, y, w_h, theta, "relu", "relu")
    est = fd.estimate(
        x,
        y,
        w_h,
        theta,
        hidden="relu",
        output="relu",
        method="central",
        noise=loss_noise(p.x, p.y, p.w_h, p.theta, **p.kwargs),
    )
    assert _over_bound(est, _true_gradient(x, y, w_h, theta, "relu", "relu")) == []


def test_complex_step_bound_holds_at_a_tiny_residual():
    """Im l = Re(ŷ − y)·Im ŷ carries the rounding of ŷ − y relatively as eps·R/|ŷ − y|
    (was 1e8× over the 8·eps bound at ŷ − y = 1e-8)."""
    x, y = np.array([0.822, -1.381]), np.float64(-10.768674816)
    w_h = np.array([[-2.754, -2.901], [1.88, 2.477], [0.64, 1.377]])
    theta = np.array([0.262, 2.61, 1.895])
    est = fd.estimate(x, y, w_h, theta, hidden="identity", output="identity", method="complex-step")
    assert _over_bound(est, _true_gradient(x, y, w_h, theta, "identity", "identity")) == []


def test_complex_step_bound_counts_underflow():
    """x ≈ 1e-300: Im pre_h = x·1e-20 is subnormal; the bound was 0 for an inexact estimate."""
    x, y = np.array([8.22e-301, -1.381e-300]), np.float64(5.15665)
    w_h = np.array([[-2.754, -2.901], [1.88, 2.477], [0.64, 1.377]])
    theta = np.array([0.262, 2.61, 1.895])
    est = fd.estimate(x, y, w_h, theta, hidden="identity", output="identity", method="complex-step")
    assert np.all(est.error > 0)
    assert _over_bound(est, _true_gradient(x, y, w_h, theta, "identity", "identity")) == []


def _mpmath():
    import mpmath as mp

    mp.mp.dps = 1100  # residuals and gradients down to 1e-308 next to values of order 1
    sig = lambda z: 1 / (1 + mp.exp(-z))
    acts = {
        "sigmoid": (sig, lambda z: mp.exp(-abs(z)) / (1 + mp.exp(-abs(z))) ** 2),
        "tanh": (mp.tanh, lambda z: mp.sech(z) ** 2),
        "softplus": (lambda z: mp.log1p(mp.exp(z)), sig),
        "identity": (lambda z: z, lambda z: mp.mpf(1)),
        "relu": (lambda z: z if z > 0 else mp.mpf(0), lambda z: mp.mpf(int(z > 0))),
    }
    return mp, acts


def test_complex_step_bound_holds_for_a_tanh_output_at_tiny_inputs():
    """The corner first seen at x ≈ 1e-178 with a tanh output (2e-8 relative beyond the bound):
    ŷ − y = 1e-8, and Re tanh(z + ib) is a few ulps off tanh(z)."""
    mp, acts = _mpmath()
    x = np.array([8.22e-179, -1.381e-178])
    y = np.float64(0.9996605046000664)
    w_h = np.array([[-2.754, -2.901], [1.88, 2.477], [0.64, 1.377]])
    theta = np.array([0.262, 2.61, 1.895])
    est = fd.estimate(x, y, w_h, theta, hidden="tanh", output="tanh", method="complex-step")
    true = _true_gradient(x, y, w_h, theta, "tanh", "tanh", num=mp.mpf, acts=acts)
    assert _over_bound(est, true, num=mp.mpf) == []


@given(st.data())
def test_estimates_are_within_their_own_bounds_against_exact_arithmetic(data):
    """identity/relu networks: the exact gradient in rational arithmetic, drawn problems
    including the small-residual regime, one sample or a batch."""
    hidden, output = data.draw(st.sampled_from(list(_RATIONAL))), data.draw(st.sampled_from(list(_RATIONAL)))
    p = data.draw(problems(hidden=hidden, output=output, batch=data.draw(st.booleans())))
    true = _true_gradient(p.x, p.y, p.w_h, p.theta, hidden, output)
    methods = ["central"] + ["complex-step"] * (hidden == output == "identity")
    for method in methods:
        est = fd.estimate(
            p.x, p.y, p.w_h, p.theta, method=method, noise=loss_noise(p.x, p.y, p.w_h, p.theta, **p.kwargs), **p.kwargs
        )
        assert _over_bound(est, true) == [], method


@given(st.data())
def test_estimates_are_within_their_own_bounds_against_mpmath(data):
    """Every activation pair, each oracle, against a 1100-digit evaluation of the formulas."""
    mp, acts = _mpmath()
    hidden, output = data.draw(st.sampled_from(activations.names())), data.draw(st.sampled_from(activations.names()))
    p = data.draw(problems(hidden=hidden, output=output, batch=data.draw(st.booleans())))
    true = _true_gradient(p.x, p.y, p.w_h, p.theta, hidden, output, num=mp.mpf, acts=acts)
    analytic = activations.get(hidden).analytic and activations.get(output).analytic
    for method in ["central"] + ["complex-step"] * analytic:
        est = fd.estimate(
            p.x, p.y, p.w_h, p.theta, method=method, noise=loss_noise(p.x, p.y, p.w_h, p.theta, **p.kwargs), **p.kwargs
        )
        assert _over_bound(est, true, num=mp.mpf) == [], method
