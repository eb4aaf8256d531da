"""Per-entry derivatives with error bounds, for any coordinate set: the generic machinery of the full checks.

:func:`run_derivative` is the order-4 derivative (:func:`gradcheck.largescale.stencil.derivative`) with the
full checks' settings; :func:`coordinates` adds the rounding of the evaluations to its error;
:func:`subgradients` judges entries at a kink by their one-sided derivatives; :func:`generic_full` runs
the network's :class:`gradcheck.largescale.incremental.Incremental` evaluations for any coordinates
(chunked, threaded, kinks handled); :func:`judge` is :func:`gradcheck.checking.tolerance.compare` behind a
check that every reference is finite.  Used by :mod:`gradcheck.largescale.full` (which has a faster path
for whole ranges of a smooth network) and :mod:`gradcheck.largescale.blackbox`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from gradcheck.checking.tolerance import SAFETY, Comparison, compare
from gradcheck.largescale.stencil import ORDER, derivative

__all__ = ["FACTOR", "ROUND", "FullCheck", "coordinates", "generic_full", "judge", "run_derivative", "subgradients"]

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


def coordinates(g, coords, steps, atol, *, noise=0.0, rounding=0.0, kinks=None, engine="stencil") -> tuple:
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
    steps = [np.minimum(ev.steps_at(ii), 0.5 * np.where(np.isfinite(d) & (d > 0), d, np.inf)) for d in (pos, neg)]
    return subgradients(ev, ii, ss, steps, atol, lambda a: 5 * ev.n * ev.factor_at("rounding", ii), coords.size, engine)


def subgradients(term, ii, ss, steps, atol, rounding, n_coords, engine="stencil"):
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


def generic_full(ev, coords, *, threads, chunk, engine):
    """Reference and error for ``coords`` of the network (incremental evaluations), chunked and threaded."""
    atol = 1e-15 * ev.scale_max
    pieces = [coords[s : s + chunk] for s in range(0, coords.size, chunk)]

    def work(c):
        kinks = ev.kink_distances(c)
        at = kinks[2] if kinks is not None else np.zeros(c.size, bool)
        parts = coordinates(
            ev,
            c[~at],
            ev.steps_at(c[~at]),
            atol,
            rounding=ev.factor_at("rounding", c[~at]),
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


def judge(g, ref, err, scale, rtol, name) -> Comparison:
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
