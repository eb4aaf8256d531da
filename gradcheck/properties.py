"""The properties that confirm the derivation, as checks returning data.

Each :class:`Property` checks one formula set ``F`` (a module with the public
functions of :mod:`gradcheck.formulas` — the real one, a catalogue mistake, or a
student's) on one drawn :class:`~gradcheck.strategies.Problem` and returns a
:class:`~gradcheck.compare.Comparison`.  The pytest suite, ``gradcheck verify``
and ``gradcheck mutants`` all run this one table.

Oracles: ``autodiff`` (:mod:`gradcheck.autodiff`, reverse mode), ``finite
differences`` (:mod:`gradcheck.finite_differences` on the whole gradient,
``scipy.differentiate.jacobian`` on each Jacobian factor), and ``algebra``
(identities between the note's own equations).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from scipy.differentiate import jacobian as scipy_jacobian

from . import activations, autodiff
from .compare import Comparison, compare, compare_gradients
from .finite_differences import estimate
from .formulas import Gradients
from .network import Forward, append_one, forward_unchecked, loss, pack, unpack
from .strategies import Problem

__all__ = ["Property", "PROPERTIES", "NotApplicable", "by_name", "gradient_scale", "residual_size"]

EPS = np.finfo(np.float64).eps


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
    return c._replace(worst=prefix + c.worst, failed=tuple(prefix + f for f in c.failed),
                      message=c.message and prefix + c.message)


# ---- the scale an entry is judged against ----------------------------------

def residual_size(f: Forward, y, w_h, theta, *, hidden="sigmoid", output="sigmoid"):
    """R = |ŷ| + |y| + |σ_y'(pre_y)|·(Σ_j|h̄_j θ_j| + Σ_j |θ_j σ_h'(pre_h_j)|·Σ_k|x̄_k w_h[k,j]|).

    eps·R bounds the rounding in ŷ − y to first order (the sums that make pre_y and
    pre_h may cancel); one sample."""
    d_out = np.abs(activations.get(output).dsigma(f.pre_y))
    d_hid = np.abs(activations.get(hidden).dsigma(f.pre_h))
    pre_h_terms = np.abs(f.x_bar) @ np.abs(w_h)
    inner = np.sum(np.abs(f.h_bar * theta)) + np.sum(np.abs(theta[:-1]) * d_hid * pre_h_terms)
    return float(abs(f.y_hat) + abs(y) + d_out * inner)


def gradient_scale(x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> Gradients:
    """Magnitude of the terms that make each gradient entry, for :func:`compare`'s ``scale``.

    Every entry is (ŷ − y)·∂ŷ/∂p, and ŷ − y carries a rounding error ≈ eps·R
    (:func:`residual_size`) that the subtraction can make large relative to it,
    so an honest per-sample scale is s = max(|ŷ − y|, R)·|∂ŷ/∂p|; a batch takes the
    mean of the per-sample scales.  ∂ŷ/∂p comes from the autodiff oracle.
    """
    X, Y = np.atleast_2d(x), np.atleast_1d(y)
    kw = dict(hidden=hidden, output=output)
    parts = []
    for xs, ys in zip(X, Y):
        def y_hat(w, t):
            h_bar = autodiff.append_one(autodiff.activation(hidden)(autodiff.append_one(autodiff.Node(xs)) @ w))
            return autodiff.activation(output)(h_bar @ t)
        dw, dt = autodiff.grad(y_hat, w_h, theta)
        f = forward_unchecked(xs, ys, w_h, theta, **kw)
        k = max(abs(f.y_hat - ys), residual_size(f, ys, w_h, theta, **kw))
        parts.append((k * np.abs(dw), k * np.abs(dt)))
    return Gradients(np.mean([q[0] for q in parts], axis=0), np.mean([q[1] for q in parts], axis=0))


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


KINK_MARGIN = 1e-3  # as gradcheck.strategies.problems' default kink_margin


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
        results.append(_prefixed(compare_gradients(Gradients(np.asarray(a.w_h), np.asarray(a.theta)), r,
                                                   scale=pack(s.w_h, s.theta)), label))
    if not results:
        raise NotApplicable("both mirrors put a kinked pre-activation within the margin of its kink")
    return _worst(results)


def _vs_finite_differences(which):
    def check(F, p):
        a, est = _analytic(F, p), estimate(p.x, p.y, p.w_h, p.theta, noise=_loss_noise(p), **p.kwargs)
        d, m = p.dims.d, p.dims.m
        ref, err = Gradients(*unpack(est.grad, d, m)), Gradients(*unpack(est.error, d, m))
        s = gradient_scale(p.x, p.y, p.w_h, p.theta, **p.kwargs)
        return compare(getattr(a, which), getattr(ref, which), error=getattr(err, which),
                       scale=getattr(s, which), name=_namer(which, p))
    return check


def _loss_noise(p: Problem) -> float:
    """Rounding in the loss: eps·mean_s(l_s + |ŷ_s − y_s|·R_s) (ŷ − y and the sums inside may cancel)."""
    X, Y = np.atleast_2d(p.x), np.atleast_1d(p.y)
    parts = [float(f.l) + abs(float(f.y_hat - ys)) * residual_size(f, ys, p.w_h, p.theta, **p.kwargs)
             for f, ys in ((forward_unchecked(xs, ys, p.w_h, p.theta, **p.kwargs), ys) for xs, ys in zip(X, Y))]
    return EPS * float(np.mean(parts))


def _namer(which, p):
    from .compare import entry_name
    d, m = p.dims.d, p.dims.m
    offset = 0 if which == "w_h" else (d + 1) * m
    return lambda i: entry_name(offset + i, d, m)


# ---- Jacobian factors of eq. (3) and (7) -----------------------------------

class Ops(NamedTuple):
    """What a map needs, for numpy arrays (finite differences) or autodiff Nodes."""
    sigma_h: Callable
    sigma_y: Callable
    append_one: Callable


def _ops(p: Problem, backend: str) -> Ops:
    if backend == "autodiff":
        return Ops(autodiff.activation(p.hidden), autodiff.activation(p.output), autodiff.append_one)
    return Ops(activations.get(p.hidden).sigma, activations.get(p.output).sigma, append_one)


def _column_map(p: Problem, f: Forward, n_c: int):
    """c ↦ pre_h with c = column n_c of w_h (other columns fixed)."""
    e = np.zeros((1, p.dims.m))
    e[0, n_c] = 1.0
    rest = p.w_h * (1 - e)
    return lambda o, c: f.x_bar @ (rest + c[..., :, None] * e)


def _loss_of_pre_h(p, o, pre_h):
    y_hat = o.sigma_y((o.append_one(o.sigma_h(pre_h)) @ p.theta[:, None])[..., 0])
    return 0.5 * (y_hat - p.y) ** 2


class Factor(NamedTuple):
    name: str
    equation: str
    analytic: Callable  # (F, p, f) → Jacobian
    map: Callable       # (p, f) → ((ops, v) → output), vectorised over a leading axis of v
    at: Callable        # (p, f) → point v
    scale: Callable | None = None  # (p, f) → entry scales, for maps that end in l (ŷ − y cancels)
    through: str = "hy"  # the activations the map applies: 'h', 'y', both or none


def _residual_size(p, f):
    return residual_size(f, p.y, p.w_h, p.theta, **p.kwargs)


def _scale_theta(p, f):
    return gradient_scale(p.x, p.y, p.w_h, p.theta, **p.kwargs).theta


def _scale_w_h(p, f, *n_c):
    s = gradient_scale(p.x, p.y, p.w_h, p.theta, **p.kwargs).w_h
    return s[:, n_c[0]] if n_c else s


def _columns(p):
    return range(p.dims.m)


FACTORS = [
    Factor("dl_dy_hat", "(4)", lambda F, p, f: F.dl_dy_hat(f.y_hat, p.y),
           lambda p, f: lambda o, v: 0.5 * (v - p.y) ** 2, lambda p, f: f.y_hat, _residual_size, ""),
    Factor("dy_hat_dpre_y", "(5)", lambda F, p, f: F.dy_hat_dpre_y(f.pre_y, p.output),
           lambda p, f: lambda o, v: o.sigma_y(v), lambda p, f: f.pre_y, None, "y"),
    Factor("dpre_y_dtheta", "(3)", lambda F, p, f: F.dpre_y_dtheta(f.h_bar),
           lambda p, f: lambda o, v: (v @ f.h_bar[:, None])[..., 0], lambda p, f: p.theta, None, ""),
    Factor("dpre_y_dh", "(7)", lambda F, p, f: F.dpre_y_dh(p.theta),
           lambda p, f: lambda o, v: (o.append_one(v) @ p.theta[:, None])[..., 0], lambda p, f: f.h, None, ""),
    Factor("dh_dpre_h", "(7)", lambda F, p, f: F.dh_dpre_h(f.pre_h, p.hidden),
           lambda p, f: lambda o, v: o.sigma_h(v), lambda p, f: f.pre_h, None, "h"),
    Factor("jacobian_theta", "(3)", lambda F, p, f: F.jacobian_theta(f, p.y, output=p.output),
           lambda p, f: lambda o, v: 0.5 * (o.sigma_y((v @ f.h_bar[:, None])[..., 0]) - p.y) ** 2,
           lambda p, f: p.theta, _scale_theta, "y"),
    Factor("jacobian_w_h", "(10)", lambda F, p, f: F.jacobian_w_h(f, p.y, p.theta, **p.kwargs).T,
           lambda p, f: lambda o, v: _loss_of_pre_h(p, o, f.x_bar @ v), lambda p, f: p.w_h, _scale_w_h),
]
COLUMN_FACTORS = [  # one Jacobian per column c = w_h[:, n_c]
    Factor("dpre_h_dc", "(7)", lambda F, p, f, n_c: F.dpre_h_dc(f.x_bar, n_c, p.dims.m),
           lambda p, f, n_c: lambda o, v: _column_map(p, f, n_c)(o, v), lambda p, f, n_c: p.w_h[:, n_c], None, ""),
    Factor("jacobian_column", "(8)",
           lambda F, p, f, n_c: F.jacobian_column(f, p.y, p.theta, n_c, **p.kwargs),
           lambda p, f, n_c: lambda o, v: _loss_of_pre_h(p, o, _column_map(p, f, n_c)(o, v)),
           lambda p, f, n_c: p.w_h[:, n_c], _scale_w_h),
    Factor("jacobian_column_u", "(9)",
           lambda F, p, f, n_c: F.jacobian_column_u(f, p.y, p.theta, n_c, **p.kwargs),
           lambda p, f, n_c: lambda o, v: _loss_of_pre_h(p, o, _column_map(p, f, n_c)(o, v)),
           lambda p, f, n_c: p.w_h[:, n_c], _scale_w_h),
]


def _safe_step(p: Problem, f: Forward, through: str = "hy") -> float:
    """Largest first step for scipy.differentiate that keeps every kinked
    pre-activation the map goes ``through`` ('h', 'y') on its side of the kink
    (smooth maps get 0.05)."""
    dist = np.inf
    if "h" in through and activations.get(p.hidden).kinks:
        dist = min(dist, np.min(np.abs(f.pre_h)))
    if "y" in through and activations.get(p.output).kinks:
        dist = min(dist, np.min(np.abs(f.pre_y)))
    sens = max(1.0, np.max(np.abs(f.x_bar))) * max(1.0, np.max(np.abs(p.theta))) * max(1.0, np.max(np.abs(f.h_bar)))
    return float(min(0.05, 0.25 * dist / sens))


def _oracle_jacobian(oracle: str, p: Problem, f: Forward, g, v, through: str = "hy", noise: float = 0.0):
    """Jacobian of v ↦ g(v) as a matrix (output size × input size), with an error bound.

    scipy.differentiate.jacobian's ``error`` is the change between its last two
    iterates, which can agree on a wrong value; a second run from a step three
    times smaller exposes that, and rounding adds ≈ Σ|w_k|·eps·max|g|/h at the
    last step h (w_k the stencil's weights, Σ|w_k| ≈ 3 at order 8; |g| the larger
    of its values over the first stencil and Σ_j |J_qj v_j|, the size of the terms
    that sums inside g may cancel; ×10 for safety; or ``noise``/eps where the
    caller knows g's rounding better — the loss, where ŷ − y cancels), so
        |df − df'| + error + 32·max(eps·max_stencil |g_q|, eps·Σ_j |J_qj v_j|, noise) / h_last.
    """
    v = np.asarray(v, dtype=np.float64)
    if oracle == "autodiff":
        ops = _ops(p, "autodiff")
        (J,) = autodiff.jacobian(lambda node: g(ops, node), v)
        out = np.size(g(_ops(p, "numpy"), v))
        return J.reshape(out, v.size), None
    ops = _ops(p, "numpy")
    flat = v.reshape(-1)

    def vectorised(z):  # scipy passes (P, *batch); the maps take (*batch, *v.shape)
        batch = z.shape[1:]
        zt = np.moveaxis(z, 0, -1).reshape(batch + v.shape)
        return np.moveaxis(np.reshape(g(ops, zt), batch + (-1,)), -1, 0)

    step = _safe_step(p, f, through)
    res = scipy_jacobian(vectorised, flat, initial_step=step)  # default rtol √eps
    alt = scipy_jacobian(vectorised, flat, initial_step=step / 3)
    stencil = flat + step * np.vstack([np.eye(flat.size), -np.eye(flat.size)])  # (2P, P)
    values = np.reshape(g(ops, stencil.reshape((-1,) + v.shape)), (2 * flat.size, -1))
    magnitude = np.maximum(np.max(np.abs(np.vstack([values, np.reshape(g(ops, v), (1, -1))])), axis=0),
                           np.abs(res.df) @ np.abs(flat))[:, None]  # |J||v|: terms of sums inside g
    h_last = step * 2.0 ** -np.maximum(res.nit - 1, 0)
    return res.df, np.abs(res.df - alt.df) + res.error + 32 * np.maximum(EPS * magnitude, noise) / h_last


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
    stacks = [np.vstack([fn(f, p.y, p.theta, n_c, **p.kwargs) for n_c in _columns(p)])
              for fn in (F.jacobian_column, F.jacobian_column_u)]
    return _worst(_prefixed(compare(s, J10), label) for s, label in zip(stacks, ("eq. (8): ", "eq. (9): ")))


def _transpose(F, p):
    """eq. (11) is the transpose of eq. (10)."""
    f = _fwd(p)
    return compare(F.grad_w_h(f, p.y, p.theta, **p.kwargs), F.jacobian_w_h(f, p.y, p.theta, **p.kwargs).T,
                   name=_namer("w_h", p))


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
    reach = np.max(np.abs(g_w), initial=0) * np.sum(np.abs(f.x_bar)) + np.max(np.abs(g_t), initial=0) * np.sum(np.abs(f.h_bar))
    step = min(1e-3 / L, 1e-4 / reach) if reach else 1e-3 / L
    l0 = float(f.l)
    rounding = EPS * (l0 + abs(f.y_hat - p.y) * residual_size(f, p.y, p.w_h, p.theta, **p.kwargs))
    if not step * (sq(r.w_h) + sq(r.theta)) > 100 * rounding:
        raise NotApplicable("the gradient is too small for a descent step to be measurable")
    l1 = loss(p.x, p.y, p.w_h - step * g_w, p.theta - step * g_t, **p.kwargs)
    passed = bool(l1 < l0)
    change = (l1 - l0) / l0
    return Comparison(passed, abs(l1 - l0), 0.0 if passed else 1.0, 0.0 if passed else np.inf, 0.0, "loss", 0 if passed else 1,
                      () if passed else ("loss",), 0.0,
                      "" if passed else f"an SGD step of {step:.3g} changed the loss from {l0!r} to {l1!r} ({change:+.3g} relative)")


PROPERTIES: list[Property] = [
    Property("grad_theta vs autodiff", "(6)", "autodiff", _vs_autodiff("theta")),
    Property("grad_theta vs finite differences", "(6)", "finite differences", _vs_finite_differences("theta")),
    Property("grad_w_h vs autodiff", "(11)", "autodiff", _vs_autodiff("w_h")),
    Property("grad_w_h vs finite differences", "(11)", "finite differences", _vs_finite_differences("w_h")),
    Property("gradients on both sides of the kinks vs autodiff", "(6), (11)", "autodiff", _both_sides),
    *(Property(f"{fa.name} vs {o}", fa.equation, o, _factor_check(fa, o, column))
      for fa, column in [*((fa, False) for fa in FACTORS), *((fa, True) for fa in COLUMN_FACTORS)]
      for o in ("autodiff", "finite differences")),
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
