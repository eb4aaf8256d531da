"""The properties that confirm the derivation, as checks returning data.

Each :class:`Property` checks one formula set ``F`` (a module with the public
functions of :mod:`gradcheck.model.formulas` — the real one, a catalogue mistake, or a
student's) on one drawn :class:`~gradcheck.checking.strategies.Problem` and returns a
:class:`~gradcheck.checking.tolerance.Comparison`.  The pytest suite, ``gradcheck verify``
and ``gradcheck mutants`` all run this one table.

Oracles: ``autodiff`` (:mod:`gradcheck.oracles.autodiff`, reverse mode), ``finite
differences`` (:mod:`gradcheck.oracles.finite_differences` on the whole gradient,
``scipy.differentiate.jacobian`` on each Jacobian factor), and ``algebra``
(identities between the note's own equations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gradcheck.checking.factors import COLUMN_FACTORS, FACTORS, Factor, ops, safe_step
from gradcheck.checking.scale import EPS, gradient_scale, loss_noise, residual_size
from gradcheck.checking.strategies import Problem
from gradcheck.checking.tolerance import Comparison, compare, compare_gradients, entry_name
from gradcheck.model import activations
from gradcheck.model.formulas import Gradients
from gradcheck.model.network import Forward, forward_unchecked, loss, pack, unpack
from gradcheck.oracles import autodiff
from gradcheck.oracles.finite_differences import estimate
from gradcheck.oracles.jacobian import autodiff_jacobian, scipy_jacobian_bounded

__all__ = ["NotApplicable", "PROPERTIES", "Property", "by_name"]


class NotApplicable(Exception):
    """The drawn example says nothing about this property (e.g. a zero gradient for a descent step)."""


class Property(NamedTuple):
    name: str
    equation: str
    oracle: str
    check: Callable[[object, Problem], Comparison]
    batch: bool = False  # draws a design matrix rather than one sample


def _fwd(p: Problem) -> Forward:
    return forward_unchecked(p.x, p.y, p.w_h, p.theta, **p.kwargs)


def _worst(results) -> Comparison:
    results = list(results)
    failed = [r for r in results if not r.passed]
    return max(failed or results, key=lambda r: r.max_rel_error)


def _prefixed(c: Comparison, prefix: str) -> Comparison:
    return c._replace(
        worst=prefix + c.worst, failed=tuple(prefix + f for f in c.failed), message=c.message and prefix + c.message
    )


# ---- whole gradients, eq. (6) and (11), against both oracles ---------------


def _analytic(F, p: Problem) -> Gradients:
    f = _fwd(p)
    return Gradients(F.grad_w_h(f, p.y, p.theta, **p.kwargs), F.grad_theta(f, p.y, output=p.output))


def _vs_autodiff(which):
    def check(F, p):
        a, r = _analytic(F, p), autodiff.gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
        s = gradient_scale(p.x, p.y, p.w_h, p.theta, **p.kwargs)
        return compare(getattr(a, which), getattr(r, which), scale=getattr(s, which), name=_namer(which, p))

    return check


KINK_MARGIN = 1e-3  # as gradcheck.checking.strategies.problems' default kink_margin


def _mirrored(p: Problem):
    """p with θ ↦ −θ (pre_y ↦ −pre_y) and p with w_h ↦ −w_h (pre_h ↦ −pre_h): every unit of that
    layer on the other side of its kink, so inactive ReLU units are checked as often as active ones
    (a dropped σ' shows only where σ' ≠ 1).  A mirror whose kinked pre-activations come closer to a
    kink than KINK_MARGIN is left out."""
    for label, q in (("θ ↦ −θ: ", p._replace(theta=-p.theta)), ("w_h ↦ −w_h: ", p._replace(w_h=-p.w_h))):
        f = _fwd(q)
        near = [f.pre_h] * bool(activations.get(q.hidden).kinks) + [f.pre_y] * bool(activations.get(q.output).kinks)
        if all(np.min(np.abs(v)) >= KINK_MARGIN for v in near):
            yield label, q


def _both_sides(F, p):
    """eq. (6) and (11) against autodiff on p's two mirrors (see :func:`_mirrored`)."""
    results = []
    for label, q in _mirrored(p):
        a, r = _analytic(F, q), autodiff.gradients(q.x, q.y, q.w_h, q.theta, **q.kwargs)
        s = gradient_scale(q.x, q.y, q.w_h, q.theta, **q.kwargs)
        results.append(
            _prefixed(
                compare_gradients(Gradients(np.asarray(a.w_h), np.asarray(a.theta)), r, scale=pack(s.w_h, s.theta)),
                label,
            )
        )
    if not results:
        raise NotApplicable("both mirrors put a kinked pre-activation within the margin of its kink")
    return _worst(results)


def _vs_finite_differences(which):
    def check(F, p):
        a, est = _analytic(F, p), estimate(p.x, p.y, p.w_h, p.theta, noise=_loss_noise(p), **p.kwargs)
        d, m = p.dims.d, p.dims.m
        ref, err = Gradients(*unpack(est.grad, d, m)), Gradients(*unpack(est.error, d, m))
        s = gradient_scale(p.x, p.y, p.w_h, p.theta, **p.kwargs)
        return compare(
            getattr(a, which),
            getattr(ref, which),
            error=getattr(err, which),
            scale=getattr(s, which),
            name=_namer(which, p),
        )

    return check


def _loss_noise(p: Problem) -> float:
    return loss_noise(p.x, p.y, p.w_h, p.theta, **p.kwargs)


def _columns(p: Problem) -> range:
    return range(p.dims.m)


def _namer(which, p):
    d, m = p.dims.d, p.dims.m
    offset = 0 if which == "w_h" else (d + 1) * m
    return lambda i: entry_name(offset + i, d, m)


# ---- Jacobian factors of eq. (3) and (7), against both oracles ----------------


def _oracle_jacobian(oracle: str, p: Problem, f: Forward, g, v, through: str, noise: float):
    """The Jacobian of the factor map g at v by ``oracle``, and its error bound (None: exact)."""
    numpy_ops = ops(p, "numpy")
    if oracle == "autodiff":
        autodiff_ops = ops(p, "autodiff")
        return autodiff_jacobian(lambda node: g(autodiff_ops, node), lambda z: g(numpy_ops, z), v), None
    return scipy_jacobian_bounded(lambda z: g(numpy_ops, z), v, step=safe_step(p, f, through), noise=noise)


def _factor_check(factor: Factor, oracle: str, column: bool):
    def one(F, p, f, *n_c):
        a = np.asarray(factor.analytic(F, p, f, *n_c), dtype=np.float64)
        noise = _loss_noise(p) if factor.scale is not None else 0.0  # maps that end in l
        J, err = _oracle_jacobian(oracle, p, f, factor.map(p, f, *n_c), factor.at(p, f, *n_c), factor.through, noise)
        if a.size != J.size:  # a wrong shape fails with a message naming both shapes
            return compare(a, J)
        scale = None if factor.scale is None else np.reshape(factor.scale(p, f, *n_c), J.shape)
        return compare(a.reshape(J.shape), J, error=err, scale=scale)

    def check(F, p):
        f = _fwd(p)
        if not column:
            return one(F, p, f)
        return _worst(_prefixed(one(F, p, f, n_c), f"column {n_c}: ") for n_c in _columns(p))

    return check


# ---- identities between the note's equations, shapes, batches, descent ----


def _stacked_columns(F, p):
    """eq. (8) and (9) for every column, stacked, equal eq. (10)."""
    f = _fwd(p)
    J10 = F.jacobian_w_h(f, p.y, p.theta, **p.kwargs)
    stacks = [
        np.vstack([fn(f, p.y, p.theta, n_c, **p.kwargs) for n_c in _columns(p)])
        for fn in (F.jacobian_column, F.jacobian_column_u)
    ]
    return _worst(_prefixed(compare(s, J10), label) for s, label in zip(stacks, ("eq. (8): ", "eq. (9): ")))


def _transpose(F, p):
    """eq. (11) is the transpose of eq. (10)."""
    f = _fwd(p)
    return compare(
        F.grad_w_h(f, p.y, p.theta, **p.kwargs), F.jacobian_w_h(f, p.y, p.theta, **p.kwargs).T, name=_namer("w_h", p)
    )


def _shapes(F, p):
    """F.gradients returns arrays of the shapes of w_h (d+1, m) and θ (m+1,)."""
    g = F.gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
    r = autodiff.gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
    return compare_gradients(Gradients(np.asarray(g.w_h), np.asarray(g.theta)), r)


def _batch(F, p):
    """The batch gradient (mean of per-sample gradients) is the gradient of the mean loss.

    Entry scales are the means of the per-sample scales: the mean may cancel."""
    g = F.batch_gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
    r = autodiff.gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
    s = gradient_scale(p.x, p.y, p.w_h, p.theta, **p.kwargs)
    return compare_gradients(Gradients(np.asarray(g.w_h), np.asarray(g.theta)), r, scale=pack(s.w_h, s.theta))


def _descent(F, p):
    """One SGD step w ← w − η∇l with a small η lowers the loss when ∇l ≠ 0.

    η = min(1e-3 / L, 1e-4 / (‖∇_{w_h}‖∞‖x̄‖₁ + ‖∇θ‖∞‖h̄‖₁)) with L =
    (1 + ‖x̄‖²)(1 + ‖θ‖²)(1 + ‖h̄‖²), a bound on the curvature, so the step neither
    overshoots nor moves a pre-activation by more than 1e-4 (inside the kink margin).
    The example applies when the true decrease η‖∇l‖² (∇l from autodiff) exceeds
    100× the loss's rounding, eps·(l + |ŷ − y|·R) (R: :func:`residual_size`)."""
    g = F.gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
    g_w, g_t = np.asarray(g.w_h, dtype=float), np.asarray(g.theta, dtype=float)
    r = autodiff.gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
    f = _fwd(p)
    sq = lambda a: float(np.sum(np.asarray(a) ** 2))
    L = (1 + sq(f.x_bar)) * (1 + sq(p.theta)) * (1 + sq(f.h_bar))
    reach = np.max(np.abs(g_w), initial=0) * np.sum(np.abs(f.x_bar)) + np.max(np.abs(g_t), initial=0) * np.sum(
        np.abs(f.h_bar)
    )
    step = min(1e-3 / L, 1e-4 / reach) if reach else 1e-3 / L
    l0 = float(f.l)
    rounding = EPS * (l0 + abs(f.y_hat - p.y) * residual_size(f, p.y, p.w_h, p.theta, **p.kwargs))
    if not step * (sq(r.w_h) + sq(r.theta)) > 100 * rounding:
        raise NotApplicable("the gradient is too small for a descent step to be measurable")
    l1 = loss(p.x, p.y, p.w_h - step * g_w, p.theta - step * g_t, **p.kwargs)
    passed = bool(l1 < l0)
    change = (l1 - l0) / l0
    return Comparison(
        passed,
        abs(l1 - l0),
        0.0 if passed else 1.0,
        0.0 if passed else np.inf,
        0.0,
        "loss",
        0 if passed else 1,
        () if passed else ("loss",),
        0.0,
        "" if passed else f"an SGD step of {step:.3g} changed the loss from {l0!r} to {l1!r} ({change:+.3g} relative)",
    )


PROPERTIES: list[Property] = [
    Property("grad_theta vs autodiff", "(6)", "autodiff", _vs_autodiff("theta")),
    Property("grad_theta vs finite differences", "(6)", "finite differences", _vs_finite_differences("theta")),
    Property("grad_w_h vs autodiff", "(11)", "autodiff", _vs_autodiff("w_h")),
    Property("grad_w_h vs finite differences", "(11)", "finite differences", _vs_finite_differences("w_h")),
    Property("gradients on both sides of the kinks vs autodiff", "(6), (11)", "autodiff", _both_sides),
    *(
        Property(f"{fa.name} vs {o}", fa.equation, o, _factor_check(fa, o, column))
        for fa, column in [*((fa, False) for fa in FACTORS), *((fa, True) for fa in COLUMN_FACTORS)]
        for o in ("autodiff", "finite differences")
    ),
    Property("columns (8)/(9) stacked = (10)", "(8)-(10)", "algebra", _stacked_columns),
    Property("(11) = (10) transposed", "(10)-(11)", "algebra", _transpose),
    Property("gradient shapes", "(6), (11)", "autodiff", _shapes),
    Property("batch gradient = mean of per-sample gradients", "(1)", "autodiff", _batch, batch=True),
    Property("SGD step lowers the loss", "§1.1", "descent", _descent),
]


def by_name(name: str) -> Property:
    for prop in PROPERTIES:
        if prop.name == name:
            return prop
    raise ValueError(f"name: expected one of {[p.name for p in PROPERTIES]}, got {name!r}")
