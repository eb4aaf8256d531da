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

**Speed** (smooth activations, a range of coordinates): the first two iterations of every w_h entry
are evaluated tile by tile (:mod:`gradcheck.largescale.tiles`), in cache, on both cores; only the θ
entries and the entries not converged after them take the generic path
(:func:`gradcheck.largescale.entries.generic_full`), and the comparison runs block by block
(:func:`gradcheck.checking.tolerance.tally`), merged in index order into the same verdict.

**Black box** (:func:`check_gradient_blackbox`, :mod:`gradcheck.largescale.blackbox`): the same for any
f: (k, P) → (k,) or (k, n).  **Fast mode** for very large networks: :mod:`gradcheck.largescale.directional`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from gradcheck.checking.tolerance import FLOOR, Comparison, allowance, default_rtol, entry_name, tally, verdict
from gradcheck.largescale.blackbox import check_gradient_blackbox
from gradcheck.largescale.entries import (
    CHUNK,
    FACTOR,
    MAXITER,
    ROUND,
    RTOL_FD,
    FullCheck,
    generic_full,
    run_derivative,
)
from gradcheck.largescale.incremental import EPS, STEP, Incremental
from gradcheck.largescale.stencil import richardson
from gradcheck.largescale.tiles import StencilTiles, tile_ranges
from gradcheck.model.network import pack
from gradcheck.model.shapes import as_float_array, validate

__all__ = [
    "EPS",
    "ROUND",
    "STEP",
    "FullCheck",
    "check_gradient",
    "check_gradient_blackbox",
    "network_gradient",
    "network_problem",
    "run_derivative",
]

TILE = 1 << 13  # w_h entries per tile: 6·TILE·n float64 per buffer (≈ 400 KB at n = 1)
BLOCK = 1 << 16  # entries per comparison block
_STEPS = np.array([1.0, FACTOR, FACTOR**2])
assert MAXITER >= 2 and FACTOR == 2.0  # the tiles evaluate scipy's first two iterations, c = 2


def _gradient_blocks(grad_w_h, grad_theta, d, m) -> tuple[np.ndarray, np.ndarray]:
    gw = as_float_array(grad_w_h, "grad_w_h")
    if gw.shape != (d + 1, m):
        hint = " (transposed? ∇w_h has the shape of w_h, eq. 11)" if gw.shape == (m, d + 1) else ""
        raise ValueError(f"grad_w_h: expected shape (d+1, m) = ({d + 1}, {m}), got {gw.shape}{hint}")
    gt = as_float_array(grad_theta, "grad_theta")
    if gt.shape != (m + 1,):
        raise ValueError(f"grad_theta: expected shape (m+1,) = ({m + 1},), got {gt.shape}")
    return gw, gt


def network_gradient(grad_w_h, grad_theta, d, m) -> np.ndarray:
    return pack(*_gradient_blocks(grad_w_h, grad_theta, d, m))


def network_problem(x, y, w_h, theta, hidden, output):
    p = validate(x, y, w_h, theta)
    return p, Incremental(np.atleast_2d(p.x), np.atleast_1d(p.y), p.w_h, p.theta, hidden, output)


class _Out(NamedTuple):
    ref: np.ndarray
    err: np.ndarray
    status: np.ndarray


def _pool_map(fn, items, threads):
    if threads > 1 and len(items) > 1:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(fn, items))
    return [fn(item) for item in items]


def _tiled(ev, start, stop, out, *, threads, atol) -> tuple[np.ndarray, int]:
    """Scipy's first two central iterations for the w_h entries of [start, stop), tile by tile, into
    ``out`` (indexed from ``start``); returns the entries not converged and the evaluations made."""
    tiles = StencilTiles(ev, target=TILE)
    ranges = tile_ranges(start, min(stop, ev.split), ev.m, TILE)

    def work(tile):
        rows, cols, first = tile
        h = ev.steps_tile(rows, cols)
        vals = tiles.values(rows, cols, h)
        h = h.reshape(-1)
        df, error = richardson(vals, h[:, None] / _STEPS, FACTOR)
        at = slice(first - start, first - start + h.size)
        out.ref[at] = df
        np.add(error, ev.rounding[first : first + h.size], out=out.err[at])  # + the evaluations' rounding
        with np.errstate(invalid="ignore"):
            converged = error < atol + RTOL_FD * np.abs(df)
        out.status[at] = np.where(converged, 0, -2)
        return first + np.flatnonzero(~converged)

    todo = _pool_map(work, ranges, threads)
    return (np.concatenate(todo) if todo else np.empty(0, np.intp)), 6 * max(0, min(stop, ev.split) - start)


def _derivatives(ev, coords, *, threads, chunk, engine, atol):
    """Reference, error bound and status of ``coords`` (an index array, or a range (start, stop)),
    the evaluations and the entries at an exact kink."""
    if isinstance(coords, tuple) and engine == "stencil" and not (ev.kinks_h or ev.kinks_y):
        start, stop = coords
        out = _Out(np.empty(stop - start), np.empty(stop - start), np.empty(stop - start, int))
        todo, evals = _tiled(ev, start, stop, out, threads=threads, atol=atol)
        rest = np.concatenate([todo, np.arange(max(start, ev.split), stop)])
        if rest.size:
            ref, err, status, more, n_kinks = generic_full(ev, rest, threads=threads, chunk=chunk, engine=engine)
            out.ref[rest - start], out.err[rest - start], out.status[rest - start] = ref, err, status
            evals += more  # the unconverged restart from the same step, as in scipy's loop
        return (*out, evals, 0)
    if isinstance(coords, tuple):
        coords = np.arange(*coords)
    return generic_full(ev, coords, threads=threads, chunk=chunk, engine=engine)


def _verdict(g_at, ref, err, scale, *, rtol, threads, name):
    """compare(g, ref, error=err, scale=scale, rtol) and allowance(scale, err, rtol), block by block;
    a reference that is not finite fails the check by name (no tolerance can hold it)."""
    F = FLOOR * float(scale.max(initial=0.0))
    tol = np.empty(ref.size)
    rtol_cmp = default_rtol(g_at(0, 0).dtype) if rtol is None else rtol

    def work(lo):
        hi = min(lo + BLOCK, ref.size)
        denom = np.maximum(scale[lo:hi], F)  # = max(s, floor·max s) of the whole check
        tol[lo:hi] = allowance(denom, err[lo:hi], rtol=rtol)
        bad = ~(np.isfinite(ref[lo:hi]) & np.isfinite(err[lo:hi]))
        first = lo + int(np.argmax(bad)) if bad.any() else None
        return tally(g_at(lo, hi), ref[lo:hi], err[lo:hi], denom, rtol=rtol_cmp, start=lo), first, int(bad.sum())

    parts = _pool_map(work, list(range(0, ref.size, BLOCK)), threads)
    bad = [(first, count) for _, first, count in parts if first is not None]
    if bad:
        i, count = bad[0][0], sum(c for _, c in bad)
        message = f"the loss was not finite near {name(i)}: no reference for {count} entries"
        return Comparison(False, np.inf, np.inf, np.inf, np.inf, name(i), count, (name(i),), rtol or 0.0, message), tol
    return verdict([p for p, _, _ in parts], rtol=rtol_cmp, name=name), tol


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
    gw, gt = _gradient_blocks(grad_w_h, grad_theta, p.dims.d, p.dims.m)
    t1 = time.perf_counter()
    coords = _as_range(_coords, ev.P)
    atol = 1e-15 * float(ev.scale.max(initial=0.0))
    ref, err, status, evals, n_kinks = _derivatives(ev, coords, threads=threads, chunk=chunk, engine=engine, atol=atol)
    t2 = time.perf_counter()
    if isinstance(coords, tuple):
        start, stop = coords
        gw_flat = gw.reshape(-1)
        g_at = lambda lo, hi: _flat_slice(gw_flat, gt, start + lo, start + hi)
        scale, index = ev.scale[start:stop], lambda i: start + i
    else:
        g = pack(gw, gt)[coords]
        g_at, scale, index = (lambda lo, hi: g[lo:hi]), ev.scale[coords], lambda i: coords[i]
    name = lambda i: entry_name(index(i), p.dims.d, p.dims.m)
    cmp, tol = _verdict(g_at, ref, err, scale, rtol=rtol, threads=threads, name=name)
    timing = dict(setup=t1 - t0, derivatives=t2 - t1, compare=time.perf_counter() - t2)
    return FullCheck(cmp.passed, cmp, ref, err, tol, status, evals / ev.P + 1, evals, n_kinks, timing)


def _as_range(coords, P):
    """None → (0, P); a contiguous increasing index array → (start, stop); else the index array."""
    if coords is None:
        return (0, P)
    c = np.asarray(coords, dtype=np.intp)
    if c.ndim == 1 and c.size and c[-1] - c[0] == c.size - 1 and np.all(np.diff(c) == 1):
        return (int(c[0]), int(c[-1]) + 1)
    return c


def _flat_slice(gw_flat, gt, lo, hi):
    split = gw_flat.size
    if hi <= split:
        return gw_flat[lo:hi]
    if lo >= split:
        return gt[lo - split : hi - split]
    return np.concatenate([gw_flat[lo:], gt[: hi - split]])
