"""Every gradient entry checked at the cost of a few forward passes.

**Full per-entry check** (:func:`check_gradient`).  :class:`gradcheck.largescale.incremental.Incremental`
evaluates Δl(t) = l(p + t e_i) − l(p) for EVERY coordinate i and many t at once from the
cached forward pass, in O(n) work per (i, t), derivative-free (σ only, never σ' or the
chain rule) and accurate to a few ulps of Δl.  These vectorised evaluations feed
``scipy.differentiate.derivative`` (order 4, all coordinates at once, per-coordinate
data passed through ``args``) — its first two central iterations done in one vectorised
call by :func:`gradcheck.largescale.stencil.derivative`, scipy's own loop for every coordinate not
converged after them or one-sided — which returns each entry with an error estimate e_i; the
comparison is :func:`gradcheck.checking.tolerance.compare`'s tolerance model
    |g_i − r_i| ≤ rtol·max(s_i, floor·max s) + 2·(e_i + rounding_i).
rounding_i bounds the rounding of Δl over the stencil (see ``Incremental``).  The
scale s_i — a tolerance magnitude only — is mean_s max(|ŷ − y|, R)·|∂ŷ/∂p_i|: the size
of a correct gradient's terms including the rounding of ŷ − y that any implementation
of the formulas suffers (R as in :func:`gradcheck.checking.scale.residual_size`), built
from *difference quotients of σ* at the cached pre-activations; σ', the formulas
under test and autodiff are not used, so a wrong formula cannot loosen its tolerance.
Kinks (relu): a coordinate whose stencil would cross a kink gets a one-sided stencil
away from it; at an exact kink both one-sided derivatives are taken per sample and
any value in [mean_s min(L_s, R_s), mean_s max(L_s, R_s)] (the subgradients) passes.

**Black box** (:func:`check_gradient_blackbox`): the same for any f: (k, P) → (k,) or
(k, n), rows built by :mod:`gradcheck.oracles.finite_differences`.  **Fast mode** for very
large networks: :mod:`gradcheck.largescale.directional`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from gradcheck.checking.tolerance import SAFETY, Comparison, allowance, compare, entry_name
from gradcheck.largescale.incremental import EPS, STEP, Incremental
from gradcheck.largescale.stencil import ORDER, derivative, kink_at_zero
from gradcheck.model.network import pack
from gradcheck.model.shapes import as_float_array, validate
from gradcheck.oracles.finite_differences import DEFAULT_BUDGET, perturbed, rows_per_chunk

__all__ = [
    "FullCheck",
    "check_gradient",
    "check_gradient_blackbox",
    "network_gradient",
    "network_problem",
    "run_derivative",
]

FACTOR, ROUND = 2.0, 4.0
RTOL_FD, MAXITER, CHUNK = 1e-8, 6, 1 << 16


class FullCheck(NamedTuple):
    passed: bool
    comparison: Comparison
    reference: np.ndarray  # (P,) derivative-free ∂l/∂p_i, pack order
    error: np.ndarray  # (P,) error bound used in the tolerance (scipy's error + rounding)
    tolerance: np.ndarray  # (P,) the whole allowance |g_i − reference_i| ≤ tolerance_i (compare's model)
    status: np.ndarray  # (P,) scipy.differentiate status (0 converged, −2 maxiter, …)
    nfev: float  # loss-equivalent evaluations: point evaluations / P (+1 forward)
    evaluations: int  # perturbed-coordinate evaluations in all
    n_kinks: int  # entries at an exact kink (judged against their subgradient interval)
    timing: dict


def run_derivative(g, n_elem, steps, direction, args, atol, engine="stencil"):
    res = derivative(
        g,
        np.broadcast_to(steps, (n_elem,)),
        args=args,
        direction=direction,
        factor=FACTOR,
        maxiter=MAXITER,
        rtol=RTOL_FD,
        atol=atol,
        vectorised=engine == "stencil",
    )
    n = ORDER // 2
    # smallest spacing of the final stencil: h0/c^(n−1+nit−1) central; one-sided uses √c and is wider
    a = steps / FACTOR ** (n - 2 + res.nit + (direction != 0) * (n + 1))
    return res, a


def _coordinates(g, coords, steps, atol, *, noise=0.0, rounding=0.0, kinks=None, engine="stencil") -> tuple:
    """df, error, status, point evaluations for ``coords``; the error adds the rounding:
    ROUND·noise/a for an absolute noise in g (black box), or ``rounding`` (×5 one-sided)."""
    direction = np.zeros(coords.size)
    if kinks is not None:
        pos, neg, _ = kinks
        near = np.minimum(pos, neg) <= 2 * steps
        direction = np.where(near, np.where(pos >= neg, 1.0, -1.0), 0.0)
        steps = np.where(near, np.minimum(steps, 0.5 * np.maximum(pos, neg)), steps)
    res, a = run_derivative(g, coords.size, steps, direction, (coords,), atol, engine)
    err = res.error + ROUND * noise / a + rounding * np.where(direction != 0, 5.0, 1.0)
    return res.df, err, res.status, int(res.nfev.sum())


def _kinked(ev, coords, atol, engine):
    """Subgradient interval per coordinate at an exact kink of the network (kinks located exactly)."""
    ii, ss = np.repeat(coords, ev.n), np.tile(np.arange(ev.n), coords.size)
    pos, neg, _ = ev.kink_distances(ii, ss)  # one-sided steps stop short of the next kink
    steps = [np.minimum(ev.steps[ii], 0.5 * np.where(np.isfinite(d) & (d > 0), d, np.inf)) for d in (pos, neg)]
    return _subgradients(ev, ii, ss, steps, atol, lambda a: 5 * ev.n * ev.rounding[ii], coords.size, engine)


def _subgradients(term, ii, ss, steps, atol, rounding, n_coords, engine="stencil"):
    """At a kink, per-sample one-sided derivatives L_s, R_s of term(t, i, s) (sample s's loss term
    at p + t e_i) for the (coordinate, sample) pairs (ii, ss); any value in
    [mean_s min(L_s, R_s), mean_s max(L_s, R_s)] (the subgradients) passes.  ``rounding(a)``:
    the rounding bound of the one-sided stencil whose smallest spacing is a."""
    out = []
    for sign, st in zip((1.0, -1.0), steps):
        res, a = run_derivative(term, ii.size, st, np.full(ii.size, sign), (ii, ss), atol, engine)
        out.append((res.df, res.error + rounding(a), res.status, int(res.nfev.sum())))
    (L, eL, sL, nL), (R, eR, sR, nR) = out
    mean = lambda v: v.reshape(n_coords, -1).mean(axis=1)
    lo, hi, err = mean(np.minimum(L, R)), mean(np.maximum(L, R)), mean(np.maximum(eL, eR))
    status = np.minimum(sL, sR).reshape(n_coords, -1).min(axis=1)
    # compare() allows 2·error: the half-width enters halved so the interval is exact
    return (lo + hi) / 2, (hi - lo) / 2 / SAFETY + err, status, nL + nR


def _full(ev, coords, *, threads, chunk, engine):
    """Reference and error for ``coords`` of the network (incremental evaluations), chunked and threaded."""
    atol = 1e-15 * float(ev.scale.max(initial=0.0))
    pieces = [coords[s : s + chunk] for s in range(0, coords.size, chunk)]

    def work(c):
        kinks = ev.kink_distances(c)
        at = kinks[2] if kinks is not None else np.zeros(c.size, bool)
        parts = _coordinates(
            ev,
            c[~at],
            ev.steps[c[~at]],
            atol,
            rounding=ev.rounding[c[~at]],
            kinks=None if kinks is None else tuple(k[~at] for k in kinks),
            engine=engine,
        )
        out = [np.empty(c.size), np.empty(c.size), np.empty(c.size, int)]
        for o, v in zip(out, parts[:3]):
            o[~at] = v
        nfev = parts[3]
        if at.any():
            for o, v in zip(out, (kk := _kinked(ev, c[at], atol, engine))[:3]):
                o[at] = v
            nfev += kk[3]
        return (*out, nfev, int(at.sum()))

    if threads > 1 and len(pieces) > 1:
        with ThreadPoolExecutor(threads) as pool:
            done = list(pool.map(work, pieces))
    else:
        done = [work(c) for c in pieces]
    cat = lambda k: np.concatenate([d[k] for d in done]) if done else np.empty(0)
    return cat(0), cat(1), cat(2), sum(d[3] for d in done), sum(d[4] for d in done)


def network_gradient(grad_w_h, grad_theta, d, m) -> np.ndarray:
    gw = as_float_array(grad_w_h, "grad_w_h")
    if gw.shape != (d + 1, m):
        hint = " (transposed? ∇w_h has the shape of w_h, eq. 11)" if gw.shape == (m, d + 1) else ""
        raise ValueError(f"grad_w_h: expected shape (d+1, m) = ({d + 1}, {m}), got {gw.shape}{hint}")
    gt = as_float_array(grad_theta, "grad_theta")
    if gt.shape != (m + 1,):
        raise ValueError(f"grad_theta: expected shape (m+1,) = ({m + 1},), got {gt.shape}")
    return pack(gw, gt)


def network_problem(x, y, w_h, theta, hidden, output):
    p = validate(x, y, w_h, theta)
    return p, Incremental(np.atleast_2d(p.x), np.atleast_1d(p.y), p.w_h, p.theta, hidden, output)


def check_gradient(
    x,
    y,
    w_h,
    theta,
    grad_w_h,
    grad_theta,
    *,
    hidden="sigmoid",
    output="sigmoid",
    rtol: float | None = None,
    threads: int = 2,
    chunk: int = CHUNK,
    engine: str = "stencil",
    _coords=None,
) -> FullCheck:
    """Check every entry of (∇w_h, ∇θ) of the mean loss over x (one sample (d,) or (n, d)).

    See the module docstring; ``rtol`` is compare's (default 1000·eps of the gradient's dtype).
    ``engine``: "stencil" (scipy's first two iterations vectorised, :mod:`gradcheck.largescale.stencil`) or
    "scipy" (``scipy.differentiate.derivative``'s loop for every coordinate; same results, slower)."""
    if engine not in ("stencil", "scipy"):
        raise ValueError(f"engine: expected 'stencil' or 'scipy', got {engine!r}")
    t0 = time.perf_counter()
    p, ev = network_problem(x, y, w_h, theta, hidden, output)
    g = network_gradient(grad_w_h, grad_theta, p.dims.d, p.dims.m)
    t1 = time.perf_counter()
    coords = np.arange(ev.P) if _coords is None else np.asarray(_coords, dtype=np.intp)
    ref, err, status, evals, n_kinks = _full(ev, coords, threads=threads, chunk=chunk, engine=engine)
    t2 = time.perf_counter()
    cmp = _judge(g[coords], ref, err, ev.scale[coords], rtol, lambda i: entry_name(coords[i], p.dims.d, p.dims.m))
    timing = dict(setup=t1 - t0, derivatives=t2 - t1, compare=time.perf_counter() - t2)
    tol = allowance(ev.scale[coords], err, rtol=rtol)
    return FullCheck(cmp.passed, cmp, ref, err, tol, status, evals / ev.P + 1, evals, n_kinks, timing)


def _judge(g, ref, err, scale, rtol, name) -> Comparison:
    bad = ~(np.isfinite(ref) & np.isfinite(err))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        return Comparison(
            False,
            np.inf,
            np.inf,
            np.inf,
            np.inf,
            name(i),
            int(bad.sum()),
            (name(i),),
            rtol or 0.0,
            f"the loss was not finite near {name(i)}: no reference for {int(bad.sum())} entries",
        )
    return compare(g, ref, error=err, scale=scale, rtol=rtol, name=name)


class _BlackBox:
    """t, i ↦ mean of f(p0 + t e_i), chunked by :func:`gradcheck.oracles.finite_differences.perturbed`;
    ``term(t, i, s)``: sample s's term alone (for the one-sided derivatives at kinks)."""

    def __init__(self, f, p0, budget):
        self.f, self.p0, self.budget, self.calls = f, p0, budget, 0

    def _rows(self, t, *index):
        shaped = [np.reshape(v, np.shape(v) + (1,) * (np.ndim(t) - np.ndim(v))) for v in index]
        return np.broadcast_arrays(t, *shaped)

    def __call__(self, t, i):
        t, i = self._rows(t, i)
        self.calls += t.size
        return perturbed(self.f, self.p0, i.ravel(), t.ravel(), self.budget)[0].reshape(t.shape)

    def term(self, t, i, s):
        t, i, s = self._rows(t, i, s)
        tf, jf, sf = t.ravel(), i.ravel(), s.ravel()
        # one evaluation per distinct point p0 + t e_i: every sample's term comes from the same row
        key = np.stack([jf.astype(np.int64), np.ascontiguousarray(tf, dtype=np.float64).view(np.int64)], axis=1)
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        uj, ut, out = jf[first], tf[first], np.empty(t.size)
        chunk = rows_per_chunk(self.f, self.p0.size, self.budget)
        for a in range(0, first.size, chunk):
            rows = np.repeat(self.p0[None, :], min(chunk, first.size - a), axis=0)
            rows[np.arange(rows.shape[0]), uj[a : a + chunk]] += ut[a : a + chunk]
            terms = np.asarray(self.f(rows), dtype=np.float64).reshape(rows.shape[0], -1)
            mine = np.flatnonzero((inverse.ravel() >= a) & (inverse.ravel() < a + rows.shape[0]))
            out[mine] = terms[inverse.ravel()[mine] - a, sf[mine]]
        self.calls += first.size
        return out.reshape(t.shape)


def _blackbox_kinks(bb, coords, res, steps, f0, noise, n):
    """Coordinates (indices into ``coords``) with a kink at p0 (:func:`gradcheck.largescale.stencil.kink_at_zero`),
    and :func:`_subgradients` for them: their subgradient intervals replace the central estimates."""
    c = np.flatnonzero(kink_at_zero(res.values, f0, steps, noise))
    if not c.size:
        return c, None
    ii, ss = np.repeat(coords[c], n), np.tile(np.arange(n), c.size)
    st = np.repeat(steps[c], n)
    return c, _subgradients(bb.term, ii, ss, (st, st), 0.0, lambda a: 5 * ROUND * n * noise / a, c.size)


def check_gradient_blackbox(
    f: Callable,
    p0,
    grad,
    *,
    scale=None,
    noise: float | None = None,
    rtol=None,
    coords=None,
    name: Callable[[int], str] | None = None,
    budget: int = DEFAULT_BUDGET,
) -> FullCheck:
    """Every entry (or ``coords``) of ``grad`` against the derivative of f: (k, P) → (k,) or (k, n)
    (mean taken), by batched perturbations.  ``noise``: the loss's rounding (default
    eps·mean |terms of f(p0)|); ``scale``: entry magnitudes (default |reference|).  A coordinate
    along which the loss has a kink at p0 (detected from the stencil's values) is judged
    against its subgradient interval, from per-sample one-sided derivatives."""
    t0 = time.perf_counter()
    p0 = as_float_array(p0, "p0").ravel()
    g = as_float_array(grad, "grad")
    if g.shape != p0.shape and g.size != p0.size:
        raise ValueError(f"grad: expected {p0.size} entries (the size of p0), got shape {g.shape}")
    g = g.ravel()
    coords = np.arange(p0.size) if coords is None else np.asarray(coords, dtype=np.intp)
    terms = np.asarray(f(p0[None, :]), dtype=np.float64).ravel()
    noise = float(EPS * np.abs(terms).mean()) if noise is None else float(noise)
    bb = _BlackBox(f, p0, budget)
    steps = STEP * np.maximum(1.0, np.abs(p0[coords]))
    s = None if scale is None else np.broadcast_to(np.asarray(scale, float).ravel(), p0.shape)[coords]
    res, a = run_derivative(bb, coords.size, steps, np.zeros(coords.size), (coords,), 0.0)
    ref, err, status, evals = res.df, res.error + ROUND * noise / a, res.status, int(res.nfev.sum())
    kinked, interval = _blackbox_kinks(bb, coords, res, steps, terms.mean(), noise, terms.size)
    if interval is not None:  # (its error carries its own rounding)
        ref[kinked], err[kinked], status[kinked] = interval[:3]
        evals += interval[3]
    t1 = time.perf_counter()
    cmp = _judge(g[coords], ref, err, s, rtol, (lambda i: name(coords[i])) if name else (lambda i: f"p[{coords[i]}]"))
    tol = allowance(np.abs(ref) if s is None else s, err, rtol=rtol)
    return FullCheck(
        cmp.passed,
        cmp,
        ref,
        err,
        tol,
        status,
        evals / p0.size + 1,
        evals,
        kinked.size,
        dict(derivatives=t1 - t0, compare=time.perf_counter() - t1),
    )
