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
from contextlib import nullcontext
from typing import NamedTuple

import numpy as np

from gradcheck.checking.tolerance import FLOOR, Comparison, Tally, allowance, default_rtol, entry_name, tally, verdict
from gradcheck.largescale.blackbox import check_gradient_blackbox
from gradcheck.largescale.entries import (
    CHUNK,
    FACTOR,
    MAXITER,
    ROUND,
    RTOL_FD,
    FullCheck,
    generic_full,
    judge,
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

TILE = 1 << 14  # w_h entries per tile: 6·TILE·n float64 per buffer (≈ 800 KB at n = 1)
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
    with blas_one_thread(np.atleast_2d(p.x).shape[0] == 1):
        return p, Incremental(np.atleast_2d(p.x), np.atleast_1d(p.y), p.w_h, p.theta, hidden, output)


def blas_one_thread(enabled: bool = True):
    """OpenBLAS (or MKL) limited to one thread, with the optional ``threadpoolctl`` (extra ``fast``).

    After a threaded call OpenBLAS's workers spin for ≈ 0.1 s, taking a core from the tiles
    that follow (measured here: a 1M gemv, then 100 ms of a second core's time).  Used for one
    sample only, where the products are vector-matrix and bit-identical with any thread count
    (tests/test_tiles.py); a batch's matrix products split differently across threads."""
    if not enabled:
        return nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the numpy path as it is
        return nullcontext()
    return threadpool_limits(1, user_api="blas")


class _Out(NamedTuple):
    ref: np.ndarray
    err: np.ndarray
    tol: np.ndarray
    status: np.ndarray


def _pool_map(fn, items, threads):
    if threads > 1 and len(items) > 1:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(fn, items))
    return [fn(item) for item in items]


def _segments(ev, start, stop) -> list:
    """(rows, cols, first flat index) pieces of [start, stop): tiles of w_h, then blocks of θ (rows None)."""
    segs = tile_ranges(start, min(stop, ev.split), ev.m, TILE)
    for lo in range(max(start, ev.split), stop, BLOCK):
        segs.append((None, slice(lo - ev.split, min(lo + BLOCK, stop) - ev.split), lo))
    return segs


def _size(seg) -> int:
    rows, cols, _ = seg
    return (cols.stop - cols.start) * (1 if rows is None else rows.stop - rows.start)


class _Tiled:
    """The smooth network's check of the range [start, stop): scipy's first two central iterations of
    every w_h entry tile by tile (:mod:`gradcheck.largescale.tiles`), the rest (θ, entries not converged
    after them) by :func:`gradcheck.largescale.entries.generic_full`, and the comparison tallied per piece
    (:func:`gradcheck.checking.tolerance.tally`) while it is in cache."""

    def __init__(self, ev, start, stop, g_at, *, rtol, atol):
        self.ev, self.start, self.g_at, self.rtol, self.atol = ev, start, g_at, rtol, atol
        self.tiles, self.segs = StencilTiles(ev, target=TILE), _segments(ev, start, stop)
        # status: zeros (converged) that stay untouched pages unless an entry is not: fresh pages cost here
        self.out = _Out(*(np.empty(stop - start) for _ in range(3)), np.zeros(stop - start, int))
        self.rtol_cmp = default_rtol(g_at(0, 0).dtype) if rtol is None else rtol
        self.F = FLOOR * ev.scale_max if (start, stop) == (0, ev.P) else None  # floor · max s of the check

    def stencil(self, seg):
        """Values, derivatives and error bounds of a tile; its tally if every entry converged."""
        rows, cols, first = seg
        if rows is None:
            return first + np.arange(_size(seg)), None
        ev, out, at = self.ev, self.out, slice(first - self.start, first - self.start + _size(seg))
        h = ev.steps_tile(rows, cols)
        vals = self.tiles.values(rows, cols, h)
        h = h.reshape(-1)
        df, error = richardson(vals, h[None] / _STEPS[:, None], FACTOR)
        out.ref[at] = df
        np.add(error, ev.factor_tile("rounding", rows, cols), out=out.err[at])  # + the evaluations' rounding
        with np.errstate(invalid="ignore"):
            converged = error < self.atol + RTOL_FD * np.abs(df)
        if converged.all():
            return np.empty(0, np.intp), (self.tally(seg) if self.F is not None else None)
        out.status[at][~converged] = -2
        return first + np.flatnonzero(~converged), None

    def tally(self, seg):
        """compare's reductions and allowance() for a piece; a non-finite reference is counted instead."""
        rows, cols, first = seg
        lo = first - self.start
        hi, out = lo + _size(seg), self.out
        ref, err = out.ref[lo:hi], out.err[lo:hi]
        denom = np.maximum(self.ev.factor_tile("scale", rows, cols), self.F)  # = max(s, floor·max s)
        tol = out.tol[lo:hi]
        tol[:] = allowance(denom, err, rtol=self.rtol)
        if not np.isfinite(np.add.reduce(ref) + np.add.reduce(err)):  # a cheap screen; exact below
            bad = ~(np.isfinite(ref) & np.isfinite(err))
            if bad.any():
                return lo + int(np.argmax(bad)), int(bad.sum())
        same = self.rtol_cmp == (default_rtol(np.float64) if self.rtol is None else self.rtol)
        return tally(self.g_at(lo, hi), ref, err, denom, rtol=self.rtol_cmp, start=lo, tol=tol if same else None)

    def run(self, *, threads, chunk, name):
        ev, out = self.ev, self.out
        done = _pool_map(self.stencil, self.segs, threads)
        todo = np.concatenate([t for t, _ in done])
        evals = 6 * sum(_size(s) for s in self.segs if s[0] is not None)
        if todo.size:  # they restart from the same step, as in scipy's loop
            ref, err, status, more, _ = generic_full(ev, todo, threads=threads, chunk=chunk, engine="stencil")
            at = todo - self.start
            out.ref[at], out.err[at], out.status[at] = ref, err, status
            evals += more
        if self.F is None:
            scale_max = max(self.ev.factor_tile("scale", r, c).max(initial=0) for r, c, _ in self.segs)
            self.F = FLOOR * float(scale_max)
        missing = [s for s, (_, part) in zip(self.segs, done) if part is None]
        tallied = iter(_pool_map(self.tally, missing, threads))
        parts = [part if part is not None else next(tallied) for _, part in done]
        return out, evals, _merge(parts, rtol=self.rtol, rtol_cmp=self.rtol_cmp, name=name)


def _merge(parts, *, rtol, rtol_cmp, name) -> Comparison:
    """:func:`gradcheck.checking.tolerance.verdict` of the pieces, or the failure naming the first entry
    without a finite reference (no tolerance can hold it)."""
    bad = [p for p in parts if not isinstance(p, Tally)]
    if bad:
        i, count = bad[0][0], sum(c for _, c in bad)
        message = f"the loss was not finite near {name(i)}: no reference for {count} entries"
        return Comparison(False, np.inf, np.inf, np.inf, np.inf, name(i), count, (name(i),), rtol or 0.0, message)
    return verdict(parts, rtol=rtol_cmp, name=name)


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
    if isinstance(coords, tuple) and engine == "stencil" and not (ev.kinks_h or ev.kinks_y):
        start, stop = coords
        gw_flat = gw.reshape(-1)
        g_at = lambda lo, hi: _flat_slice(gw_flat, gt, start + lo, start + hi)
        run = _Tiled(ev, start, stop, g_at, rtol=rtol, atol=1e-15 * ev.scale_max)
        out, evals, cmp = run.run(threads=threads, chunk=chunk, name=lambda i: entry_name(start + i, *p.dims[:2]))
        ref, err, tol, status, n_kinks = *out, 0
        t2 = time.perf_counter()
    else:
        index = np.arange(*coords) if isinstance(coords, tuple) else coords
        ref, err, status, evals, n_kinks = generic_full(ev, index, threads=threads, chunk=chunk, engine=engine)
        t2 = time.perf_counter()
        g = pack(gw, gt)[index]
        cmp = judge(g, ref, err, ev.scale[index], rtol, lambda i: entry_name(index[i], p.dims.d, p.dims.m))
        tol = allowance(ev.scale[index], err, rtol=rtol)
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
