"""gradcheck.largescale.full (incremental full per-entry check) and gradcheck.largescale.directional (directions).

Correct gradients come from gradcheck.model.formulas (the spec's formulas, themselves
verified elsewhere); wrong ones are injected here, locally, so these tests do not
depend on the mistake catalogue.  No timing is asserted: speed is the benchmark's
business (benchmarks/run.py), never a unit test's on a noisy 2-core machine.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck.checking import strategies as gs
from gradcheck.checking.tolerance import UNDERFLOW, entry_name
from gradcheck.largescale import full as fast
from gradcheck.largescale.directional import fast_check, network_blackbox, network_fast_check
from gradcheck.model import formulas
from gradcheck.model.network import forward, pack
from gradcheck.oracles.finite_differences import estimate, network_loss

SETTINGS = settings(max_examples=15, deadline=None)


def _grads(p):
    g = (
        formulas.batch_gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
        if p.x.ndim == 2
        else formulas.gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
    )
    return np.asarray(g.w_h, float), np.asarray(g.theta, float)


def _net(d=6, m=5, n=1, seed=0, hidden="sigmoid", output="sigmoid"):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) if n > 1 else rng.normal(size=d)
    y = rng.uniform(size=n) if n > 1 else 0.3
    w_h, theta = rng.normal(size=(d + 1, m)) / np.sqrt(d + 1), rng.normal(size=m + 1)
    g = (
        formulas.batch_gradients(x, y, w_h, theta, hidden=hidden, output=output)
        if n > 1
        else formulas.gradients(x, y, w_h, theta, hidden=hidden, output=output)
    )
    return x, y, w_h, theta, g.w_h, g.theta


@SETTINGS
@given(gs.problems())
def test_full_check_passes_right_gradients_and_agrees_with_central_differences(p):
    gw, gt = _grads(p)
    res = fast.check_gradient(p.x, p.y, p.w_h, p.theta, gw, gt, **p.kwargs)
    assert res.passed, res.comparison.message
    # the black-box complex-step oracle (analytic σ) agrees to 1e-6 relative: its own error bound
    # is not always honest (seen off by 2e-8 relative with x ≈ 1e-178 and a tanh output), nor is the central
    # differences' bound at tiny residuals, so relu examples rely on the exact check below
    if "relu" not in (p.hidden, p.output):
        cs = estimate(p.x, p.y, p.w_h, p.theta, method="complex-step", **p.kwargs)
        assert np.all(
            np.abs(res.reference - cs.grad) <= 2 * (res.error + cs.error) + 1e-6 * np.abs(cs.grad) + UNDERFLOW
        )
    # and the bound used is honest: the exact gradient lies inside it
    assert np.all(np.abs(res.reference - pack(gw, gt)) <= 2 * res.error + UNDERFLOW)


@SETTINGS
@given(gs.problems(batch=True))
def test_full_check_on_batches(p):
    gw, gt = _grads(p)
    res = fast.check_gradient(p.x, p.y, p.w_h, p.theta, gw, gt, **p.kwargs)
    assert res.passed, res.comparison.message


@SETTINGS
@given(gs.problems(hidden="sigmoid", output="tanh"), st.data())
def test_single_entry_off_by_one_millionth_is_caught_and_named(p, data):
    gw, gt = _grads(p)
    right = fast.check_gradient(p.x, p.y, p.w_h, p.theta, gw, gt, **p.kwargs)
    flat = pack(gw, gt)
    # entries where 1e-6 is resolvable at all: the tolerance model allows 1000·eps·max(|ŷ−y|, R)·|∂ŷ/∂p|
    # for the formulas' own rounding, more than 1e-6·|g| when ŷ − y ≪ R (the residual cancels)
    ok = np.flatnonzero(1e-6 * np.abs(flat) > 2 * right.tolerance)
    if ok.size == 0:
        return
    i = int(data.draw(st.sampled_from(list(ok))))
    wrong = flat.copy()
    wrong[i] *= 1 + 1e-6
    res = fast.check_gradient(
        p.x, p.y, p.w_h, p.theta, wrong[: gw.size].reshape(gw.shape), wrong[gw.size :], **p.kwargs
    )
    assert not res.passed
    assert res.comparison.failed == (entry_name(i, gw.shape[0] - 1, gw.shape[1]),)


def test_one_millionth_is_resolvable_on_ordinary_problems():
    x, y, w_h, theta, gw, gt = _net(d=8, m=6, n=2, seed=5)
    res = fast.check_gradient(x, y, w_h, theta, gw, gt)
    flat = pack(gw, gt)
    assert res.passed and np.all(1e-6 * np.abs(flat) > 10 * res.tolerance)
    for i in (0, 17, flat.size - 1):
        wrong = flat.copy()
        wrong[i] *= 1 + 1e-6
        assert (
            fast.check_gradient(
                x, y, w_h, theta, wrong[: gw.size].reshape(gw.shape), wrong[gw.size :]
            ).comparison.n_failed
            == 1
        )


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("output", ["sigmoid", "relu"])
def test_relu_exact_kinks_accept_the_subgradient_and_nothing_else(n, output):
    x, y, w_h, theta, _, _ = _net(d=4, m=5, n=n, seed=3, hidden="relu", output=output)
    w_h[:, 1] = 0.0  # pre_h[:, 1] = 0 exactly: every w_h[k, 1] sits on a kink
    if output == "relu":
        theta[:] = 0.0  # pre_y = 0 exactly too
    g = formulas.batch_gradients(np.atleast_2d(x), np.atleast_1d(y), w_h, theta, hidden="relu", output=output)
    res = fast.check_gradient(x, y, w_h, theta, g.w_h, g.theta, hidden="relu", output=output)
    assert res.passed and res.n_kinks > 0, res.comparison.message
    wrong = g.w_h.copy()
    wrong[0, 1] += 1.0 + abs(res.reference[1]) * 3  # outside [left, right] derivative
    bad = fast.check_gradient(x, y, w_h, theta, wrong, g.theta, hidden="relu", output=output)
    assert not bad.passed and "w_h[0, 1]" in bad.comparison.failed


def _inject(kind, x, y, w_h, theta, gw, gt):
    """Catalogue-like mistakes, written locally (single sample, sigmoid layers)."""
    f = forward(x, y, w_h, theta)
    delta = (f.y_hat - y) * f.y_hat * (1 - f.y_hat)
    if kind == "bias_row_dropped":
        gw = gw.copy()
        gw[-1] = 0.0
    elif kind == "wrong_hidden_derivative":  # σ(pre_h) used for σ'(pre_h)
        gw = np.outer(f.x_bar, delta * theta[:-1] * f.h)
    elif kind == "theta_shifted":  # θ[1:] for θ̃
        gw = np.outer(f.x_bar, delta * theta[1:] * f.h * (1 - f.h))
    elif kind == "times_two":
        gw, gt = 2 * gw, 2 * gt
    elif kind == "sign_flip":
        gw, gt = -gw, -gt
    elif kind == "scrambled":
        gw = np.outer(delta * theta[:-1] * f.h * (1 - f.h), f.x_bar).reshape(gw.shape)
    elif kind == "theta_bias_zero":
        gt = gt.copy()
        gt[-1] = 0.0
    return gw, gt


KINDS = [
    "bias_row_dropped",
    "wrong_hidden_derivative",
    "theta_shifted",
    "times_two",
    "sign_flip",
    "scrambled",
    "theta_bias_zero",
]


@pytest.mark.parametrize("kind", KINDS)
def test_fast_mode_catches_mistakes_and_names_block_and_entries(kind):
    x, y, w_h, theta, gw, gt = _net(d=30, m=40, seed=1)
    assert network_fast_check(x, y, w_h, theta, gw, gt).passed
    bw, bt = _inject(kind, x, y, w_h, theta, gw, gt)
    res = network_fast_check(x, y, w_h, theta, bw, bt)
    assert not res.passed
    want = {"w_h": not np.array_equal(bw, gw), "theta": not np.array_equal(bt, gt)}
    assert {k: not v for k, v in res.blocks.items()} == want
    first = "w_h[" if want["w_h"] else "theta["
    assert res.failed and res.failed[0].startswith(first)
    full = fast.check_gradient(x, y, w_h, theta, bw, bt)
    assert not full.passed


def test_fast_mode_defers_to_the_per_entry_check_at_relu_kinks():
    x, y, w_h, theta, _, _ = _net(d=6, m=8, seed=6, hidden="relu")
    w_h[:, :3] = 0.0  # pre_h = 0 exactly: directions through the kinks disagree with any gradient
    g = formulas.gradients(x, y, w_h, theta, hidden="relu")
    assert network_fast_check(x, y, w_h, theta, g.w_h, g.theta, hidden="relu").passed
    wrong, j = g.theta.copy(), int(np.argmax(np.abs(g.theta[:-1])))
    wrong[j] *= 1.01
    res = network_fast_check(x, y, w_h, theta, g.w_h, wrong, hidden="relu")
    assert not res.passed and res.failed == (f"theta[{j}]",) and res.blocks == {"w_h": False, "theta": False}


def test_black_box_fast_mode_bisects_to_the_wrong_entry():
    x, y, w_h, theta, gw, gt = _net(d=60, m=50, seed=2)
    f, p0, blocks, scale, noise = network_blackbox(x, y, w_h, theta)
    g = pack(gw, gt)
    assert fast_check(f, p0, g, scale=scale, noise=noise).passed
    g[1234] *= 1.1
    res = fast_check(f, p0, g, scale=scale, noise=noise, blocks=blocks, max_entries=256, name=lambda i: f"p[{i}]")
    assert not res.passed and res.blocks == {"w_h": False, "theta": True}
    assert res.failed == ("p[1234]",)
    verdict = fast_check(f, p0, g, scale=scale, noise=noise, locate=False)
    assert not verdict.passed and verdict.failed == () and verdict.fallback is None


def test_black_box_full_check():
    x, y, w_h, theta, gw, gt = _net(d=5, m=4, n=3, seed=4, hidden="tanh", output="softplus")
    f, p0 = network_loss(x, y, w_h, theta, hidden="tanh", output="softplus")
    g = pack(gw, gt)
    assert fast.check_gradient_blackbox(f, p0, g).passed
    g[7] *= 1 + 1e-6
    res = fast.check_gradient_blackbox(f, p0, g)
    assert not res.passed and res.comparison.failed == ("p[7]",)


def test_bad_inputs_name_the_argument_and_shapes():
    x, y, w_h, theta, gw, gt = _net(d=3, m=4)
    with pytest.raises(ValueError, match=r"grad_w_h: expected shape \(d\+1, m\) = \(4, 4\), got \(4, 5\)"):
        fast.check_gradient(x, y, w_h, theta, np.zeros((4, 5)), gt)
    with pytest.raises(ValueError, match=r"grad_w_h: .*got \(3, 5\).*transposed"):
        x2, y2, w2, t2, g2, gt2 = _net(d=4, m=3)
        fast.check_gradient(x2, y2, w2, t2, g2.T, gt2)
    with pytest.raises(ValueError, match=r"grad_theta: expected shape \(m\+1,\) = \(5,\), got \(4,\)"):
        fast.check_gradient(x, y, w_h, theta, gw, gt[:-1])
    with pytest.raises(ValueError, match=r"w_h: expected shape"):
        fast.check_gradient(x, y, w_h[:-1], theta, gw, gt)
    with pytest.raises(ValueError, match="hidden"):
        fast.check_gradient(x, y, w_h, theta, gw, gt, hidden="swish")
    with pytest.raises(ValueError, match="grad_theta: expected finite"):
        fast.check_gradient(x, y, w_h, theta, gw, np.full_like(gt, np.nan))
    f, p0 = network_loss(x, y, w_h, theta)
    with pytest.raises(ValueError, match=r"grad: expected 21 entries"):
        fast_check(f, p0, np.zeros(20))
    with pytest.raises(ValueError, match="directions: expected a positive integer"):
        fast_check(f, p0, np.zeros(21), directions=0)


@pytest.mark.parametrize("n", [1, 4])
def test_black_box_checks_accept_the_subgradient_at_relu_kinks_and_nothing_else(n):
    """A plain black box (no network structure): kinks are found from the stencil's values and
    judged against per-sample one-sided derivatives; fast mode then defers to that check."""
    x, y, w_h, theta, _, _ = _net(d=4, m=6, n=n, seed=3, hidden="relu")
    w_h[:, 1:3] = 0.0  # pre_h[:, 1:3] = 0 exactly: every w_h[k, 1] and w_h[k, 2] sits on a kink
    g = formulas.batch_gradients(np.atleast_2d(x), np.atleast_1d(y), w_h, theta, hidden="relu")
    f, p0 = network_loss(x, y, w_h, theta, hidden="relu")
    right = pack(g.w_h, g.theta)
    res = fast.check_gradient_blackbox(f, p0, right)
    assert res.passed and res.n_kinks == 2 * 5, res.comparison.message
    assert fast_check(f, p0, right).passed
    # the interval matters: the right entry (relu'(0) = 0) is far from the central difference, the
    # mean of the one-sided slopes, and from the interval's midpoint
    assert abs(right[1] - res.reference[1]) > 1e-3 * abs(res.reference[1]) > 0
    wrong = right.copy()
    wrong[1] += 1.0 + abs(res.reference[1]) * 3  # w_h[0, 1], outside [left, right] derivative
    assert fast.check_gradient_blackbox(f, p0, wrong).comparison.failed == ("p[1]",)
    bad = fast_check(f, p0, wrong, name=lambda i: f"p[{i}]")
    assert not bad.passed and bad.failed == ("p[1]",)


def test_kink_detection_from_the_stencil_values():
    from gradcheck.largescale.stencil import derivative, kink_at_zero

    a = np.array([0.3, -2.0, 1e-3, 0.0, 1.0])

    def f(t, c):  # kink at 0 (|t|, relu-like), smooth, tiny kink, none, kink at t = 3e-3 (h/4 < 3e-3 < h/2)
        return (
            np.where(c == 0.3, c * np.abs(t) + t, 0)
            + np.where(c == -2.0, np.cosh(t), 0)
            + np.where(c == 1e-3, c * np.maximum(t, 0), 0)
            + np.where(c == 1.0, np.maximum(t - 3e-3, 0), 0)
        )

    steps = np.full(a.size, 2.0**-7)
    res = derivative(f, steps, args=(a,))
    f0 = f(np.zeros(a.size), a)
    assert kink_at_zero(res.values, f0, steps, noise=1e-16).tolist() == [True, False, True, False, False]
    # below the rounding of f, a kink is not claimed
    assert not kink_at_zero(res.values, f0, steps, noise=1e-3)[2]
