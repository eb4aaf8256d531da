"""Every gradient entry checked at the cost of a few forward passes.

**Full per-entry check** (:func:`check_gradient`).  Perturbing w_h[k, j] by t moves
only pre_h[:, j] (by t·x̄[:, k]); perturbing θ[j] moves only pre_y (by t·h̄[:, j]).  So
the loss change Δl(t) = l(p + t e_i) − l(p), for EVERY coordinate i and many t at once,
comes from the cached forward pass in O(n) work per (i, t):
    Δpre_y = θ_j·Δσ_h(pre_h_j; t x̄_k)  (or t h̄_j),  Δŷ = Δσ_y(pre_y; Δpre_y),  Δl = Δŷ (r + Δŷ/2)
with r = ŷ − y and Δσ(z; δ) = σ(z + δ) − σ(z) evaluated by cancellation-free identities
of σ (expm1, sinh, log1p) — σ only, never σ', never the chain rule: a derivative-free
evaluation of the true loss, accurate to a few ulps of Δl itself, so no residual size or
saturation limits the reference.  These vectorised evaluations feed
``scipy.differentiate.derivative`` (order 4, all coordinates at once, per-coordinate
data passed through ``args``), which returns each entry with an error estimate e_i; the
comparison is :func:`gradcheck.compare.compare`'s tolerance model
    |g_i − r_i| ≤ rtol·max(s_i, floor·max s) + 2·(e_i + rounding_i).
rounding_i bounds the rounding of Δl over the stencil (see ``_Incremental``).  The
scale s_i — a tolerance magnitude only — is mean_s max(|ŷ − y|, R)·|∂ŷ/∂p_i|: the size
of a correct gradient's terms including the rounding of ŷ − y that any implementation
of the formulas suffers (R as in :func:`gradcheck.properties.residual_size`), built
from *difference quotients of σ* at the cached pre-activations; σ', the formulas
under test and autodiff are not used, so a wrong formula cannot loosen its tolerance.
Kinks (relu): a coordinate whose stencil would cross a kink gets a one-sided stencil
away from it; at an exact kink both one-sided derivatives are taken per sample and
any value in [mean_s min(L_s, R_s), mean_s max(L_s, R_s)] (the subgradients) passes.

**Black box** (:func:`check_gradient_blackbox`): the same for any f: (k, P) → (k,) or
(k, n), rows built by :mod:`gradcheck.finite_differences`.  **Fast mode** for very
large networks: :mod:`gradcheck.fast_mode` (re-exported here).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, NamedTuple

import numpy as np
from scipy.differentiate import derivative
from scipy.special import expit

from . import activations
from .compare import FLOOR, SAFETY, UNDERFLOW, Comparison, compare, default_rtol, entry_name
from .finite_differences import DEFAULT_BUDGET, _perturbed
from .network import forward_unchecked, pack
from .shapes import as_float_array, validate

__all__ = ["FullCheck", "FastCheck", "check_gradient", "check_gradient_blackbox", "fast_check",
           "network_fast_check", "network_blackbox"]

EPS = np.finfo(np.float64).eps
ORDER, FACTOR, STEP, ROUND = 4, 2.0, 2.0 ** -7, 4.0
RTOL_FD, MAXITER, CHUNK = 1e-8, 6, 1 << 16


def _sech(z):
    e = np.exp(-np.abs(z))
    return 2 * e / (1 + e * e)


# Δσ(z; δ) = σ(z + δ) − σ(z) without cancellation (identities of σ itself, no derivative)
_DELTA = {
    "sigmoid": lambda z, dz: -np.expm1(-dz) * expit(z + dz) * expit(-z),
    "tanh": lambda z, dz: np.sinh(dz) * _sech(z + dz) * _sech(z),
    "softplus": lambda z, dz: np.log1p(expit(z) * np.expm1(dz)),
    "identity": lambda z, dz: dz + 0.0 * z,
    "relu": lambda z, dz: np.where(z > 0, np.maximum(dz, -z), np.maximum(z + dz, 0.0)),
}


class FullCheck(NamedTuple):
    passed: bool
    comparison: Comparison
    reference: np.ndarray  # (P,) derivative-free ∂l/∂p_i, pack order
    error: np.ndarray      # (P,) error bound used in the tolerance (scipy's error + rounding)
    tolerance: np.ndarray  # (P,) the whole allowance |g_i − reference_i| ≤ tolerance_i (compare's model)
    status: np.ndarray     # (P,) scipy.differentiate status (0 converged, −2 maxiter, …)
    nfev: float            # loss-equivalent evaluations: point evaluations / P (+1 forward)
    evaluations: int       # perturbed-coordinate evaluations in all
    n_kinks: int           # entries at an exact kink (judged against their subgradient interval)
    timing: dict


def _sigma(name: str, argument: str):
    act = activations.get(name, argument=argument)
    return _DELTA[act.name], act.kinks


def _slope(delta_sigma, z):
    """|σ(z + δ) − σ(z − δ)| / 2δ, a difference quotient of σ (cancellation-free, so right in
    saturation too), for tolerance magnitudes only."""
    delta = 1e-4 * np.maximum(1.0, np.abs(z))
    return np.abs(delta_sigma(z - delta, 2 * delta)) / (2 * delta)


class _Incremental:
    """Δl = l(p + t·e_i) − l(p) for many (i, t), from one cached forward pass (module doc)."""

    def __init__(self, X, Y, w_h, theta, hidden, output):
        (self.d_h, self.kinks_h), (self.d_y, self.kinks_y) = _sigma(hidden, "hidden"), _sigma(output, "output")
        f = forward_unchecked(X, Y, w_h, theta, hidden=hidden, output=output)
        c = np.ascontiguousarray
        self.xT, self.pre_hT, self.hT, self.h_barT = c(f.x_bar.T), c(f.pre_h.T), c(f.h.T), c(f.h_bar.T)
        self.pre_y, self.r, self.theta = f.pre_y, f.y_hat - Y, theta
        self.n, self.m, self.split = X.shape[0], w_h.shape[1], w_h.size
        self.P = self.split + theta.size
        S_y, S_h = _slope(self.d_y, f.pre_y), _slope(self.d_h, f.pre_h)
        r = f.y_hat - Y
        R = (np.abs(f.y_hat) + np.abs(Y) + S_y * (np.abs(f.h_bar) @ np.abs(theta)
             + (np.abs(theta[:-1]) * S_h * (np.abs(f.x_bar) @ np.abs(w_h))).sum(axis=1)))
        q = np.maximum(np.abs(r), R) * S_y
        self.scale = pack(np.abs(f.x_bar).T @ (q[:, None] * np.abs(theta[:-1]) * S_h) / self.n,
                          q @ np.abs(f.h_bar) / self.n)
        # rounding of Δl(t) = l(p + t e_i) − l(p) = Δŷ (r + Δŷ/2), each factor to a few ulps (the
        # rounded argument of σ adds eps·|pre|): ≤ c·eps·|Δl(t)|, |Δl(t)| ≤ |t|·mean_s (|r| + |Δŷ|/2)·|∂ŷ/∂p_i|,
        # |Δŷ| ≤ S_y·STEP + STEP² (|σ''| ≤ 2; STEP for a kinked σ_y) since |Δpre_y| ≤ STEP by the
        # steps below; the order-4 stencils have Σ|w_q t_q| ≤ 2 (central), ≲ 10 (one-sided)
        q_r = (np.abs(r) + (STEP if self.kinks_y else S_y * STEP + STEP ** 2)) * S_y
        c = 16 * (4 + np.abs(f.pre_h).max(initial=0) + np.abs(f.pre_y).max(initial=0))
        self.rounding = c * EPS * pack(np.abs(f.x_bar).T @ (q_r[:, None] * np.abs(theta[:-1]) * S_h) / self.n,
                                       q_r @ np.abs(f.h_bar) / self.n)
        self.noise_full = float(np.mean(EPS * (f.l + np.abs(r) * R)))  # a whole forward pass's rounding
        xmax, hmax = np.abs(f.x_bar).max(axis=0), np.abs(f.h_bar).max(axis=0)
        with np.errstate(divide="ignore"):
            steps = pack(STEP / (xmax[:, None] * np.maximum(1.0, np.abs(theta[:-1]))), STEP / hmax)
        self.steps = np.where(np.isfinite(steps), np.minimum(steps, 1e100), STEP)

    def __call__(self, t, i, s=None):
        """l(p + t·e_i) − l(p), mean over samples (or sample s's); t (A, q), i and s (A, 1) or (A,)."""
        shape = np.shape(t)
        t = np.reshape(t, (shape[0], -1))
        i = np.reshape(i, -1)
        rows = slice(None) if s is None else np.reshape(s, -1)[:, None]
        w = i < self.split
        if w.all() or not w.any():
            return self._eval(t, i, rows, w.all()).reshape(shape)
        out = np.empty(t.shape)
        for mask, is_w in ((w, True), (~w, False)):
            out[mask] = self._eval(t[mask], i[mask], rows if s is None else rows[mask], is_w)
        return out.reshape(shape)

    def _eval(self, t, i, rows, is_w):
        single = not isinstance(rows, slice)  # one sample per element: (A, 1) gathers
        col = (lambda a, j: a[j[:, None], rows]) if single else (lambda a, j: a[j])
        py, r = (self.pre_y[rows][:, None, :], self.r[rows][:, None, :]) if single else (self.pre_y, self.r)
        if is_w:
            k, j = np.divmod(i, self.m)
            d_pre_y = self.d_h(col(self.pre_hT, j)[:, None, :], t[:, :, None] * col(self.xT, k)[:, None, :])
            d_pre_y *= self.theta[j][:, None, None]
        else:
            d_pre_y = t[:, :, None] * col(self.h_barT, i - self.split)[:, None, :]
        d_y = self.d_y(py, d_pre_y)
        return (d_y * (r + 0.5 * d_y)).mean(axis=-1)

    def kink_distances(self, i, samples=None):
        """(distance to the nearest kink for t > 0, for t < 0, exact kink at t = 0) per
        coordinate (per (coordinate, sample) pair with ``samples``), or None if smooth."""
        if not (self.kinks_h or self.kinks_y):
            return None
        rows = slice(None) if samples is None else samples[:, None]
        take = (lambda a, j: a[j[:, None], rows]) if samples is not None else (lambda a, j: a[j])
        w = i < self.split
        k, j = np.divmod(np.where(w, i, 0), self.m)
        jt = np.where(w, 0, i - self.split)
        shape = (i.size, self.n if samples is None else 1)
        pos, neg, at = np.full(shape, np.inf), np.full(shape, np.inf), np.zeros(shape, bool)
        py = self.pre_y if samples is None else self.pre_y[samples][:, None]

        def add(tstar, moves):  # kinks at t = tstar (where the pre-activation moves)
            nonlocal pos, neg, at
            at |= moves & (tstar == 0)
            pos = np.where(moves & (tstar > 0), np.minimum(pos, tstar), pos)
            neg = np.where(moves & (tstar < 0), np.minimum(neg, -tstar), neg)

        with np.errstate(divide="ignore", invalid="ignore"):
            xk, hb = take(self.xT, k), take(self.h_barT, jt)
            for kappa in self.kinks_h:  # pre_h_j + t x̄_k = κ
                add(np.where(w[:, None], (kappa - take(self.pre_hT, j)) / xk, np.inf), w[:, None] & (xk != 0))
            for kappa in self.kinks_y:
                # θ_j: pre_y + t h̄_j = κ;  w_h[k, j]: |Δpre_y| ≤ |θ_j|·|t x̄_k| (σ_h 1-Lipschitz), both sides
                bound = np.abs(kappa - py) / (np.abs(self.theta[j])[:, None] * np.abs(xk))
                tstar = np.where(w[:, None], bound, (kappa - py) / hb)
                moves = np.where(w[:, None], (self.theta[j][:, None] != 0) & (xk != 0), hb != 0)
                add(tstar, moves)
                add(np.where(w[:, None], -bound, np.inf), moves & w[:, None])
        return pos.min(axis=1), neg.min(axis=1), at.any(axis=1)


def _run(g, n_elem, steps, direction, args, atol):
    res = derivative(g, np.zeros(n_elem), args=args, initial_step=steps, step_direction=direction,
                     order=ORDER, step_factor=FACTOR, maxiter=MAXITER, tolerances=dict(rtol=RTOL_FD, atol=atol))
    n = ORDER // 2
    # smallest spacing of the final stencil: h0/c^(n−1+nit−1) central; one-sided uses √c and is wider
    a = steps / FACTOR ** (n - 2 + res.nit + (direction != 0) * (n + 1))
    return res, a


def _coordinates(g, coords, steps, atol, *, noise=0.0, rounding=0.0, kinks=None) -> tuple:
    """df, error, status, point evaluations for ``coords``; the error adds the rounding:
    ROUND·noise/a for an absolute noise in g (black box), or ``rounding`` (×5 one-sided)."""
    direction = np.zeros(coords.size)
    if kinks is not None:
        pos, neg, _ = kinks
        near = np.minimum(pos, neg) <= 2 * steps
        direction = np.where(near, np.where(pos >= neg, 1.0, -1.0), 0.0)
        steps = np.where(near, np.minimum(steps, 0.5 * np.maximum(pos, neg)), steps)
    res, a = _run(g, coords.size, steps, direction, (coords,), atol)
    err = res.error + ROUND * noise / a + rounding * np.where(direction != 0, 5.0, 1.0)
    return res.df, err, res.status, int(res.nfev.sum())


def _kinked(ev, coords, atol):
    """Subgradient interval per coordinate at an exact kink: per-sample one-sided derivatives."""
    n = ev.n
    ii, ss = np.repeat(coords, n), np.tile(np.arange(n), coords.size)
    pos, neg, _ = ev.kink_distances(ii, ss)
    base = ev.steps[ii]
    out = []
    for sign, dist in ((1.0, pos), (-1.0, neg)):
        steps = np.minimum(base, 0.5 * np.where(np.isfinite(dist) & (dist > 0), dist, np.inf))
        res, a = _run(ev, ii.size, steps, np.full(ii.size, sign), (ii, ss), atol)
        out.append((res.df, res.error + 5 * n * ev.rounding[ii], res.status, int(res.nfev.sum())))
    (L, eL, sL, nL), (R, eR, sR, nR) = out
    mean = lambda v: v.reshape(coords.size, n).mean(axis=1)  # noqa: E731
    lo, hi, err = mean(np.minimum(L, R)), mean(np.maximum(L, R)), mean(np.maximum(eL, eR))
    status = np.minimum(sL, sR).reshape(coords.size, n).min(axis=1)
    # compare() allows 2·error: the half-width enters halved so the interval is exact
    return (lo + hi) / 2, (hi - lo) / 2 / SAFETY + err, status, nL + nR


def _full(ev, coords, *, threads, chunk):
    """Reference and error for ``coords`` of the network (incremental evaluations), chunked and threaded."""
    atol = 1e-15 * float(ev.scale.max(initial=0.0))
    pieces = [coords[s:s + chunk] for s in range(0, coords.size, chunk)]

    def work(c):
        kinks = ev.kink_distances(c)
        at = kinks[2] if kinks is not None else np.zeros(c.size, bool)
        parts = _coordinates(ev, c[~at], ev.steps[c[~at]], atol, rounding=ev.rounding[c[~at]],
                             kinks=None if kinks is None else tuple(k[~at] for k in kinks))
        out = [np.empty(c.size), np.empty(c.size), np.empty(c.size, int)]
        for o, v in zip(out, parts[:3]):
            o[~at] = v
        nfev = parts[3]
        if at.any():
            for o, v in zip(out, (kk := _kinked(ev, c[at], atol))[:3]):
                o[at] = v
            nfev += kk[3]
        return (*out, nfev, int(at.sum()))

    if threads > 1 and len(pieces) > 1:
        with ThreadPoolExecutor(threads) as pool:
            done = list(pool.map(work, pieces))
    else:
        done = [work(c) for c in pieces]
    cat = lambda k: np.concatenate([d[k] for d in done]) if done else np.empty(0)  # noqa: E731
    return cat(0), cat(1), cat(2), sum(d[3] for d in done), sum(d[4] for d in done)


def _gradient(grad_w_h, grad_theta, d, m) -> np.ndarray:
    gw = as_float_array(grad_w_h, "grad_w_h")
    if gw.shape != (d + 1, m):
        hint = " (transposed? ∇w_h has the shape of w_h, eq. 11)" if gw.shape == (m, d + 1) else ""
        raise ValueError(f"grad_w_h: expected shape (d+1, m) = ({d + 1}, {m}), got {gw.shape}{hint}")
    gt = as_float_array(grad_theta, "grad_theta")
    if gt.shape != (m + 1,):
        raise ValueError(f"grad_theta: expected shape (m+1,) = ({m + 1},), got {gt.shape}")
    return pack(gw, gt)


def _problem(x, y, w_h, theta, hidden, output):
    p = validate(x, y, w_h, theta)
    return p, _Incremental(np.atleast_2d(p.x), np.atleast_1d(p.y), p.w_h, p.theta, hidden, output)


def check_gradient(x, y, w_h, theta, grad_w_h, grad_theta, *, hidden="sigmoid", output="sigmoid",
                   rtol: float | None = None, threads: int = 2, chunk: int = CHUNK, _coords=None) -> FullCheck:
    """Check every entry of (∇w_h, ∇θ) of the mean loss over x (one sample (d,) or (n, d)).

    See the module docstring; ``rtol`` is compare's (default 1000·eps of the gradient's dtype)."""
    t0 = time.perf_counter()
    p, ev = _problem(x, y, w_h, theta, hidden, output)
    g = _gradient(grad_w_h, grad_theta, p.dims.d, p.dims.m)
    t1 = time.perf_counter()
    coords = np.arange(ev.P) if _coords is None else np.asarray(_coords, dtype=np.intp)
    ref, err, status, evals, n_kinks = _full(ev, coords, threads=threads, chunk=chunk)
    t2 = time.perf_counter()
    cmp = _judge(g[coords], ref, err, ev.scale[coords], rtol, lambda i: entry_name(coords[i], p.dims.d, p.dims.m))
    timing = dict(setup=t1 - t0, derivatives=t2 - t1, compare=time.perf_counter() - t2)
    tol = _tolerance(err, ev.scale[coords], rtol)
    return FullCheck(cmp.passed, cmp, ref, err, tol, status, evals / ev.P + 1, evals, n_kinks, timing)


def _tolerance(err, scale, rtol):
    """compare()'s allowance per entry (see gradcheck.compare)."""
    s = np.abs(scale)
    return (default_rtol(np.float64) if rtol is None else rtol) * np.maximum(s, FLOOR * s.max(initial=0.0)) \
        + SAFETY * err + UNDERFLOW


def _judge(g, ref, err, scale, rtol, name) -> Comparison:
    bad = ~(np.isfinite(ref) & np.isfinite(err))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        return Comparison(False, np.inf, np.inf, np.inf, np.inf, name(i), int(bad.sum()), (name(i),),
                          rtol or 0.0, f"the loss was not finite near {name(i)}: no reference for {int(bad.sum())} entries")
    return compare(g, ref, error=err, scale=scale, rtol=rtol, name=name)


class _BlackBox:
    """t, i ↦ mean of f(p0 + t e_i), chunked by :func:`gradcheck.finite_differences._perturbed`."""

    def __init__(self, f, p0, budget):
        self.f, self.p0, self.budget, self.calls = f, p0, budget, 0

    def __call__(self, t, i):
        t, i = np.broadcast_arrays(t, np.reshape(i, np.shape(i) + (1,) * (np.ndim(t) - np.ndim(i))))
        self.calls += t.size
        return _perturbed(self.f, self.p0, i.ravel(), t.ravel(), self.budget)[0].reshape(t.shape)


def _terms_noise(f, p0) -> float:
    terms = np.asarray(f(p0[None, :]), dtype=np.float64).ravel()
    return float(EPS * np.abs(terms).mean())


def check_gradient_blackbox(f: Callable, p0, grad, *, scale=None, noise: float | None = None, rtol=None,
                            coords=None, name: Callable[[int], str] | None = None,
                            budget: int = DEFAULT_BUDGET) -> FullCheck:
    """Every entry (or ``coords``) of ``grad`` against the derivative of f: (k, P) → (k,) or (k, n)
    (mean taken), by batched perturbations.  ``noise``: the loss's rounding (default
    eps·mean |terms of f(p0)|); ``scale``: entry magnitudes (default |reference|)."""
    t0 = time.perf_counter()
    p0 = as_float_array(p0, "p0").ravel()
    g = as_float_array(grad, "grad")
    if g.shape != p0.shape and g.size != p0.size:
        raise ValueError(f"grad: expected {p0.size} entries (the size of p0), got shape {g.shape}")
    g = g.ravel()
    coords = np.arange(p0.size) if coords is None else np.asarray(coords, dtype=np.intp)
    noise = _terms_noise(f, p0) if noise is None else float(noise)
    bb = _BlackBox(f, p0, budget)
    steps = STEP * np.maximum(1.0, np.abs(p0[coords]))
    s = None if scale is None else np.broadcast_to(np.asarray(scale, float).ravel(), p0.shape)[coords]
    ref, err, status, evals = _coordinates(bb, coords, steps, 0.0, noise=noise)
    t1 = time.perf_counter()
    cmp = _judge(g[coords], ref, err, s, rtol, (lambda i: name(coords[i])) if name else (lambda i: f"p[{coords[i]}]"))
    tol = _tolerance(err, np.abs(ref) if s is None else s, rtol)
    return FullCheck(cmp.passed, cmp, ref, err, tol, status, evals / p0.size + 1, evals, 0,
                     dict(derivatives=t1 - t0, compare=time.perf_counter() - t1))


from .fast_mode import FastCheck, fast_check, network_blackbox, network_fast_check  # noqa: E402  (re-export)
