"""Every checker behind one signature: check(problem, gradient) -> Outcome.

``gradient`` is a :class:`Gradient`: the (possibly wrong) formulas under test as a
function of the parameters, ``at(p) -> (∇w_h, ∇θ)``; torch, jax and scipy see it
through the hook each offers for a hand-written gradient (a custom autograd Function,
a ``jax.custom_vjp``, scipy's ``grad`` callable); gradcheck gets the two arrays.
``calls`` counts evaluations of the loss at one parameter vector (for gradcheck's
incremental full check: loss-equivalent evaluations, i.e. coordinate evaluations / P).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.special import expit

from gradcheck.largescale import full as fast
from gradcheck.largescale.directional import fast_check, network_fast_check
from gradcheck.model.network import pack
from gradcheck.model.shapes import Problem


class Gradient(NamedTuple):
    at: Callable  # p (P,) -> (∇w_h, ∇θ) arrays, any shapes


class Outcome(NamedTuple):
    passed: bool | None  # None: the tool raised (counted as a detection: the user sees a failure)
    calls: float | None
    note: str = ""


_NP_SIGMA = {"sigmoid": expit, "relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh}


def numpy_loss(prob: Problem, counter: list):
    """The loss as a black box of stacked parameter vectors: (k, P) -> (k,); counts rows."""
    d, m = prob.d, prob.m
    x_bar = np.append(prob.x, 1.0)
    sh, sy = _NP_SIGMA[prob.hidden], _NP_SIGMA[prob.output]

    def f(P):
        P = np.atleast_2d(P)
        counter[0] += P.shape[0]
        W = P[:, : (d + 1) * m].reshape(-1, d + 1, m)
        h = sh(np.matmul(x_bar, W))  # (k, m)
        theta = P[:, (d + 1) * m :]
        y_hat = sy(np.einsum("km,km->k", h, theta[:, :-1]) + theta[:, -1])
        return 0.5 * (y_hat - prob.y) ** 2

    return f


def _flat(gradient: Gradient, p) -> np.ndarray:
    gw, gt = gradient.at(p)
    return np.concatenate([np.ravel(gw), np.ravel(gt)]).astype(np.float64)


# ---- gradcheck ----------------------------------------------------------------


def gradcheck_full(prob: Problem, gradient: Gradient) -> Outcome:
    gw, gt = gradient.at(pack(prob.w_h, prob.theta))
    r = fast.check_gradient(prob.x, prob.y, prob.w_h, prob.theta, gw, gt, **prob.kwargs)
    return Outcome(r.passed, r.nfev, r.comparison.message)


def gradcheck_full_scipy(prob: Problem, gradient: Gradient) -> Outcome:
    """The same full check with scipy.differentiate.derivative's loop for every coordinate."""
    gw, gt = gradient.at(pack(prob.w_h, prob.theta))
    r = fast.check_gradient(prob.x, prob.y, prob.w_h, prob.theta, gw, gt, engine="scipy", **prob.kwargs)
    return Outcome(r.passed, r.nfev, r.comparison.message)


def gradcheck_fast(prob: Problem, gradient: Gradient) -> Outcome:
    gw, gt = gradient.at(pack(prob.w_h, prob.theta))
    r = network_fast_check(prob.x, prob.y, prob.w_h, prob.theta, gw, gt, **prob.kwargs)
    return Outcome(r.passed, r.nfev, r.message)


def gradcheck_fast_blackbox(prob: Problem, gradient: Gradient) -> Outcome:
    """Fast mode on a plain black box: no network structure, default noise and scale.  Above
    100k parameters the verdict only (locate=False): naming the wrong entries of a black box
    bisects with O(P) work per call (≈ 17 s at 1M for a mistake spread over both blocks)."""
    counter = [0]
    f = numpy_loss(prob, counter)
    split = (prob.d + 1) * prob.m
    r = fast_check(
        f,
        pack(prob.w_h, prob.theta),
        _flat(gradient, pack(prob.w_h, prob.theta)),
        blocks={"w_h": slice(0, split), "theta": slice(split, None)},
        locate=pack(prob.w_h, prob.theta).size < 100_000,
    )
    return Outcome(r.passed, counter[0], r.message)


# ---- torch --------------------------------------------------------------------


def _torch():
    import torch

    tg = sys.modules["torch.autograd.gradcheck"]  # the module (torch.autograd.gradcheck is also a function)
    torch.set_num_threads(1)  # fastest for these small ops on 2 cores (see benchmarks/run.py)
    # On a mismatch, fast mode has its verdict and then recomputes both Jacobians in slow mode for
    # its error message (2P + 2 calls: hours at 1M); the benchmark keeps the verdict, skips the message.
    tg._run_slow_mode_and_get_error = lambda *a, **k: "\n(slow-mode message skipped by the benchmark)"
    return torch


def _torch_check(prob: Problem, gradient: Gradient, fast_mode: bool) -> Outcome:
    torch = _torch()
    d, m = prob.d, prob.m
    x_bar = torch.from_numpy(np.append(prob.x, 1.0))
    act = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh}
    sh, sy = act[prob.hidden], act[prob.output]
    calls = [0]

    class Loss(torch.autograd.Function):
        @staticmethod
        def forward(ctx, p):
            calls[0] += 1
            ctx.save_for_backward(p)
            W, theta = p[: (d + 1) * m].reshape(d + 1, m), p[(d + 1) * m :]
            h = sh(x_bar @ W)
            return 0.5 * (sy(h @ theta[:-1] + theta[-1]) - prob.y) ** 2

        @staticmethod
        def backward(ctx, go):
            (p,) = ctx.saved_tensors
            g = torch.from_numpy(_flat(gradient, p.detach().numpy())).reshape(p.shape)
            return go * g

    p = torch.from_numpy(pack(prob.w_h, prob.theta).copy()).requires_grad_(True)
    ok = torch.autograd.gradcheck(Loss.apply, (p,), fast_mode=fast_mode, raise_exception=False)
    return Outcome(bool(ok), calls[0])


def torch_slow(prob, gradient):
    return _torch_check(prob, gradient, False)


def torch_fast(prob, gradient):
    return _torch_check(prob, gradient, True)


# ---- jax ----------------------------------------------------------------------


def _jax():
    import logging

    import jax

    logging.getLogger("jax._src.callback").setLevel(logging.CRITICAL)  # a wrong-size gradient raises anyway
    jax.config.update("jax_enable_x64", True)  # else float64 input is silently float32
    from jax.test_util import check_grads

    return jax, check_grads


def jax_rev(prob: Problem, gradient: Gradient) -> Outcome:
    jax, check_grads = _jax()
    jnp = jax.numpy
    d, m, P = prob.d, prob.m, pack(prob.w_h, prob.theta).size
    x_bar = jnp.asarray(np.append(prob.x, 1.0))
    act = {"sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, "tanh": jnp.tanh}
    sh, sy = act[prob.hidden], act[prob.output]
    calls = [0]

    def primal(p):
        calls[0] += 1
        W, theta = p[: (d + 1) * m].reshape(d + 1, m), p[(d + 1) * m :]
        return 0.5 * (sy(sh(x_bar @ W) @ theta[:-1] + theta[-1]) - prob.y) ** 2

    @jax.custom_vjp
    def loss(p):
        return primal(p)

    def fwd(p):
        return primal(p), p

    def bwd(p, ct):
        g = jax.pure_callback(
            lambda q: _flat(gradient, np.asarray(q)).reshape(P), jax.ShapeDtypeStruct((P,), jnp.float64), p
        )
        return (ct * g,)

    loss.defvjp(fwd, bwd)
    try:
        check_grads(loss, (jnp.asarray(pack(prob.w_h, prob.theta)),), order=1, modes=["rev"])
        return Outcome(True, calls[0])
    except AssertionError as exc:
        return Outcome(False, calls[0], str(exc).splitlines()[0][:120])


# ---- scipy --------------------------------------------------------------------

SCIPY_RTOL = 1e-5  # check_grad returns a number, not a verdict: pass when it is ≤ 1e-5·‖g‖


def scipy_check_grad(prob: Problem, gradient: Gradient) -> Outcome:
    from scipy.optimize import check_grad

    counter = [0]
    f = numpy_loss(prob, counter)
    g0 = _flat(gradient, pack(prob.w_h, prob.theta))
    if g0.size != pack(prob.w_h, prob.theta).size:
        raise ValueError(f"gradient has {g0.size} entries, expected {pack(prob.w_h, prob.theta).size}")
    err = check_grad(lambda p: float(f(p)[0]), lambda p: _flat(gradient, p), pack(prob.w_h, prob.theta))
    return Outcome(bool(err <= SCIPY_RTOL * np.linalg.norm(g0)), counter[0], f"check_grad = {err:.3g}")


TOOLS = {
    "gradcheck full": gradcheck_full,
    "gradcheck full (scipy loop)": gradcheck_full_scipy,
    "gradcheck fast": gradcheck_fast,
    "gradcheck fast (black box)": gradcheck_fast_blackbox,
    "torch slow": torch_slow,
    "torch fast": torch_fast,
    "jax check_grads": jax_rev,
    "scipy check_grad": scipy_check_grad,
}
NEEDS = {"torch slow": "torch", "torch fast": "torch", "jax check_grads": "jax"}


def available(name: str) -> str | None:
    """None when the tool can run here, else why not ('not installed')."""
    module = NEEDS.get(name)
    if module is None:
        return None
    try:
        (_torch if module == "torch" else _jax)()
        return None
    except ImportError:
        return "not installed"
