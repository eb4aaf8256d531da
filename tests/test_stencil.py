"""gradcheck.largescale.stencil: scipy.differentiate.derivative's results without its bookkeeping, and the
one-transcendental Δσ of gradcheck.largescale.incremental that the full check evaluates a million times."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from scipy.differentiate import derivative as scipy_derivative

from gradcheck.checking import strategies as gs
from gradcheck.checking.tolerance import UNDERFLOW
from gradcheck.largescale import full as fast
from gradcheck.largescale import incremental, stencil
from gradcheck.model import formulas


def _f(t, a, b):  # per-element functions: smooth, one badly scaled, one not finite
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return (
            np.sin(a * t) * np.exp(b * t) + np.where(b > 5, np.sqrt(b - 5 - t), 0.0) + np.where(a == 0, np.log(t), 0.0)
        )


def _elements(n=400, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n) * np.exp(rng.uniform(-3, 3, size=n))
    b = rng.normal(size=n)
    b[:20] = 5 + 1e-6 * rng.uniform(1, 2, size=20)  # √ near its branch point: needs many iterations
    a[20:25] = 0.0  # log t: not finite at t = 0 ± h
    steps = 2.0**-7 * np.exp(rng.uniform(-2, 2, size=n))
    return a, b, steps


@pytest.mark.parametrize("rtol", [1e-8, 1e-12])
def test_same_results_as_scipy_derivative(rtol):
    a, b, steps = _elements()
    direction = np.zeros(a.size)
    direction[25:40] = np.where(np.arange(15) % 2, 1.0, -1.0)  # one-sided: scipy's own loop
    with np.errstate(invalid="ignore"):  # the log t elements
        ours = stencil.derivative(_f, steps, args=(a, b), direction=direction, rtol=rtol, atol=1e-300, maxiter=8)
        ref = scipy_derivative(
            _f,
            np.zeros(a.size),
            args=(a, b),
            initial_step=steps,
            step_direction=direction,
            order=4,
            step_factor=2.0,
            maxiter=8,
            tolerances=dict(rtol=rtol, atol=1e-300),
        )
    np.testing.assert_array_equal(ours.status, ref.status)
    np.testing.assert_array_equal(ours.nit, ref.nit)
    ok = np.isfinite(ref.df)
    assert np.array_equal(ok, np.isfinite(ours.df))
    scale = np.abs(ref.df[ok]) + ref.error[ok]
    assert np.all(np.abs(ours.df[ok] - ref.df[ok]) <= 1e-12 * scale)
    assert np.all(np.abs(ours.error[ok] - ref.error[ok]) <= 1e-12 * scale)
    # the split is real: at the full check's rtol most elements never reach scipy; the hard ones all do
    assert 0 < ours.scipy < (a.size / 2 if rtol == 1e-8 else a.size)
    handed = (ref.status != 0) | (ref.nit > 2) | (direction != 0)
    assert ours.scipy == np.count_nonzero(handed)
    # evaluations: 6 per central element (no f(0)), plus scipy's own for the ones handed over
    assert np.all(ours.nfev[~handed] == 6)
    assert np.all(ours.nfev[handed] == ref.nfev[handed] + np.where(direction[handed] == 0, 6, 0))


def test_bad_steps_go_to_scipy_and_report_its_status():
    res = stencil.derivative(lambda t, c: np.sin(c * t), np.array([0.01, 0.0, np.nan]), args=(np.ones(3),))
    assert res.status[0] == 0 and abs(res.df[0] - 1) <= res.error[0]
    assert np.all(res.status[1:] != 0) and np.all(np.isnan(res.df[1:]))


def _sigmoid_ld(z):
    return 1 / (1 + np.exp(-z))


def test_sigmoid_delta_is_accurate_to_a_few_ulps_in_saturation_and_for_tiny_steps():
    rng = np.random.default_rng(1)
    z = np.concatenate([rng.normal(size=2000) * 5, rng.uniform(-745, 745, size=2000), [0.0, -0.0, 36.0, -36.0]])
    dz = np.copysign(np.exp(rng.uniform(np.log(1e-14), np.log(2.0**-7), size=z.size)), rng.normal(size=z.size))
    d = incremental._sigma("sigmoid", "hidden")[0]
    got = d.at(z, d.aux(z), dz)
    zl, dl = z.astype(np.longdouble), dz.astype(np.longdouble)
    want = -np.expm1(-dl) * _sigmoid_ld(zl + dl) * _sigmoid_ld(-zl)  # cancellation-free, 64-bit mantissa
    fi = np.finfo(np.float64)
    # relative to |Δσ|, or to the smallest normal number where Δσ underflows (z ≈ ±740); the old
    # form −expm1(−δ)·σ(z + δ)·σ(−z) is off by up to 258 ulps here, from rounding z + δ
    ulps = np.abs(got - want) / (np.maximum(np.abs(want), fi.tiny) * fi.eps)
    assert ulps.max() <= 4
    assert np.all(np.sign(got[got != 0]) == np.sign(want[got != 0]))


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "identity", "relu"])
def test_cached_and_generic_delta_agree(name):
    rng = np.random.default_rng(2)
    z, dz = rng.normal(size=500) * 4, rng.normal(size=500) * 1e-3
    d = incremental._sigma(name, "hidden")[0]
    np.testing.assert_allclose(d.at(z, d.aux(z), dz), d(z, dz), rtol=1e-14, atol=0)


@settings(max_examples=20, deadline=None)
@given(gs.problems(batch=True) | gs.problems())
@example(
    gs.Problem(
        np.array([0.0]),
        np.array(0.0),
        np.array([[8.09501269e-197], [8.09501269e-197]]),
        np.array([1.0, 0.0]),
        "tanh",
        "tanh",
    )
)  # statuses 0 vs −1 at w_h[bias row, 0] (below)
def test_full_check_engines_agree(p):
    """The full check with scipy's loop for every coordinate and with the vectorised first two
    iterations: same references and error bounds (to rounding), same verdicts."""
    g = (
        formulas.batch_gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
        if p.x.ndim == 2
        else formulas.gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
    )
    gw, gt = np.asarray(g.w_h, float), np.asarray(g.theta, float)
    gw = gw.copy()
    gw.flat[0] *= 1.01  # a wrong entry (where the gradient is not ~0, it fails)
    runs = [fast.check_gradient(p.x, p.y, p.w_h, p.theta, gw, gt, engine=e, **p.kwargs) for e in ("stencil", "scipy")]
    a, b = runs
    assert a.passed == b.passed and a.comparison.failed == b.comparison.failed
    # the evaluations are bit-identical (steps h/2^k); only the rounding of the Richardson weights
    # differs, far inside the rounding bound of the evaluations that both errors include
    rounding = fast.network_problem(p.x, p.y, p.w_h, p.theta, p.hidden, p.output)[1].rounding
    # scipy's status too, except where its own error estimate is below that rounding bound: there
    # (an unresolvable ∂l/∂p ~ 1e-196 beside a t²/2 term) the weights' rounding decides whether
    # |df₂ − df₁| is exactly 0 (converged) or rounding noise that grows as the step shrinks (−1)
    differ = a.status != b.status
    assert np.all(b.error[differ] <= 2 * rounding[differ] + UNDERFLOW), (a.status, b.status, b.error, rounding)
    allowed = 1e-12 * (np.abs(b.reference) + b.error) + rounding + UNDERFLOW
    assert np.all(np.abs(a.reference - b.reference) <= allowed)
    assert np.all(np.abs(a.error - b.error) <= allowed)


def test_engine_is_validated():
    x, w_h, theta = np.zeros(2), np.zeros((3, 2)), np.zeros(3)
    with pytest.raises(ValueError, match=r"engine: expected 'stencil' or 'scipy', got 'fast'"):
        fast.check_gradient(x, 0.5, w_h, theta, w_h, theta, engine="fast")
