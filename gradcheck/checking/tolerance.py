"""The tolerance model: the one rule every judge in gradcheck applies.

An entry passes when
    |a_i − r_i| ≤ rtol · max(s_i, floor · max_j s_j) + safety · e_i + tiny / eps
where a is the gradient under test, r the reference, e_i the reference's own
error bound (0 for exact oracles), and s_i the scale of entry i: |r_i| by
default, or the mean magnitude of the per-sample terms when r is a batch mean
that cancels.  ``rtol`` defaults to 1000·eps of the tested dtype (2.2e-13 for
float64, 1.2e-4 for float32); ``floor`` keeps entries near zero (underflow in
σ') from demanding more than the dtype can give, relative to the largest entry;
tiny/eps (1e-292 in float64) is where subnormals leave no relative precision.
There is no other absolute tolerance: a gradient 1e-4 small is judged as
strictly as one of size 1.  The result is data (:class:`Comparison`).

Every verdict — the property table, the grader, the diagnosis, the large-scale
checks — goes through :func:`allowance` (the right-hand side above) via
:func:`compare`, or :func:`within` for a bare verdict; the honest scales s_i come
from :mod:`gradcheck.checking.scale`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gradcheck.model.formulas import Gradients
from gradcheck.model.network import pack

__all__ = [
    "Comparison",
    "Tally",
    "allowance",
    "compare",
    "compare_gradients",
    "default_rtol",
    "entry_name",
    "tally",
    "verdict",
    "within",
]

SAFETY = 2.0
FLOOR = 1e-6
UNDERFLOW = float(np.finfo(np.float64).tiny / np.finfo(np.float64).eps)


class Comparison(NamedTuple):
    passed: bool
    max_abs_error: float
    max_rel_error: float  # max_i |a_i − r_i| / max(s_i, floor·max s), over entries the scale resolves or that fail
    max_excess: float  # max_i |a_i − r_i| / tolerance_i: ≤ 1 passes
    norm_rel_error: float  # ‖a − r‖₂ / ‖r‖₂ (0 when both vanish)
    worst: str  # the worst entry, named in the spec's terms
    n_failed: int
    failed: tuple[str, ...]  # up to 10 failing entries, worst first
    rtol: float
    message: str = ""


def default_rtol(dtype) -> float:
    dtype = np.dtype(dtype)
    return 1000 * float(np.finfo(dtype if dtype.kind == "f" else np.float64).eps)


def allowance(
    scale, error=None, *, rtol: float | None = None, floor: float = FLOOR, safety: float = SAFETY
) -> np.ndarray:
    """The tolerance of each entry: rtol·max(s_i, floor·max_j s_j) + safety·e_i + tiny/eps.

    ``rtol`` defaults to :func:`default_rtol` of float64; ``error`` to 0 (an exact reference)."""
    s = np.abs(np.asarray(scale, dtype=np.float64))
    rtol = default_rtol(np.float64) if rtol is None else rtol
    tol = rtol * np.maximum(s, floor * np.max(s, initial=0.0)) + UNDERFLOW
    return tol if error is None else tol + safety * np.asarray(error, dtype=np.float64)


def within(actual, reference, scale, *, error=None, rtol: float | None = None) -> np.ndarray:
    """Per entry: |a_i − r_i| ≤ :func:`allowance` (False where a is not finite).  The bare verdict
    of :func:`compare`, without its report; shapes must already agree."""
    a, r = np.asarray(actual, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(a) & (np.abs(a - r) <= allowance(scale, error, rtol=rtol))


def entry_name(i: int, d: int, m: int) -> str:
    """Name flat index i of p = (w_h.ravel(), θ): 'w_h[3, 1]', 'w_h[bias row, 1]', 'theta[bias]'."""
    split = (d + 1) * m
    if i < split:
        k, j = divmod(int(i), m)
        return f"w_h[{'bias row' if k == d else k}, {j}]"
    j = int(i) - split
    return "theta[bias]" if j == m else f"theta[{j}]"


def _index_name(shape) -> Callable[[int], str]:
    return lambda i: f"[{', '.join(map(str, np.unravel_index(i, shape)))}]" if shape else "[]"


def _failure(message: str, rtol: float) -> Comparison:
    return Comparison(False, np.inf, np.inf, np.inf, np.inf, "", 0, (), rtol, message)


def compare(
    actual,
    reference,
    *,
    error=None,
    scale=None,
    rtol: float | None = None,
    floor: float = FLOOR,
    safety: float = SAFETY,
    name: Callable[[int], str] | None = None,
) -> Comparison:
    """Compare ``actual`` with ``reference`` entry by entry (see the module docstring)."""
    a, r = np.asarray(actual), np.asarray(reference, dtype=np.float64)
    rtol = default_rtol(a.dtype) if rtol is None else rtol
    if a.shape != r.shape:
        return _failure(f"expected shape {r.shape}, got {a.shape}", rtol)
    if a.dtype.kind not in "biuf":
        return _failure(f"expected a real array, got dtype {a.dtype}", rtol)
    r = r.ravel()
    e = np.zeros_like(r) if error is None else np.broadcast_to(np.asarray(error, float).ravel(), r.shape)
    s = np.abs(r) if scale is None else np.broadcast_to(np.asarray(scale, float).ravel(), r.shape)
    denom = np.maximum(s, floor * np.max(s, initial=0.0))
    part = tally(a.ravel(), r, e, denom, rtol=rtol, safety=safety)
    return verdict([part], rtol=rtol, name=name or _index_name(np.shape(reference)))


class Tally(NamedTuple):
    """:func:`compare`'s reductions over one block of entries (indices are global)."""

    size: int
    max_abs: float
    max_rel: float
    max_excess: float
    worst: int  # first index of the largest excess
    n_failed: int
    failed: tuple[tuple[float, int], ...]  # (−excess, index) of up to 10 failing entries, worst first
    sq_diff: float  # Σ (a − r)²
    sq_ref: float  # Σ r²
    nonfinite: tuple | None = None  # (index, value) of the first non-finite a


def tally(a, r, e, denom, *, rtol: float, safety: float = SAFETY, start: int = 0, tol=None) -> Tally:
    """The reductions of :func:`compare` over a block: 1-D ``a`` (any real dtype), ``r``, ``e`` and
    ``denom`` = max(s_i, floor·max_j s_j) with the max over ALL entries (so blocks add up exactly);
    ``tol``: allowance(denom, e, rtol=rtol, safety=safety) if the caller has it already."""
    a = np.asarray(a, dtype=np.float64)
    if not np.isfinite(np.add.reduce(a)) and not np.all(np.isfinite(a)):  # (a cheap screen first)
        i = int(np.flatnonzero(~np.isfinite(a))[0])
        return Tally(a.size, np.inf, np.inf, np.inf, start + i, 0, (), np.inf, 0.0, (start + i, a[i]))
    d = a - r
    diff = np.abs(d)
    atol = UNDERFLOW
    if tol is None:
        tol = allowance(denom, e, rtol=rtol, safety=safety)  # = rtol·denom + tiny/eps + safety·e
    bad = diff > tol
    # relative error is reported where the scale, not the oracle's error bar, sets the tolerance,
    # and for every failing entry (its error exceeds the whole allowance; reporting only: tol unchanged)
    resolvable = rtol * denom >= safety * e + atol
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.max(diff / denom, where=(resolvable | bad) & (diff > 0) & (denom > 0), initial=0.0)
        excess = np.where(diff == 0, 0.0, diff / tol)
    worst = int(np.argmax(excess)) if r.size else 0
    order = np.flatnonzero(bad)[np.argsort(-excess[bad], kind="stable")][:10] if bad.any() else ()
    return Tally(
        a.size,
        float(diff.max(initial=0.0)),
        float(rel),
        float(excess.max(initial=0.0)),
        start + worst,
        int(bad.sum()) if len(order) else 0,
        tuple((float(-excess[i]), start + int(i)) for i in order),
        _sum_squares(d),
        _sum_squares(r),
    )


def _sum_squares(v, chunk: int = 8192):
    """v·v, as np.linalg.norm computes it, in pieces of ≤ 8192 (above 10⁴ entries OpenBLAS's ddot
    wakes its threads: 30 ms per call on a busy 2-core machine); exact same value up to 8192."""
    return v.dot(v) if v.size <= chunk else sum(v[i : i + chunk].dot(v[i : i + chunk]) for i in range(0, v.size, chunk))


def verdict(parts: list[Tally], *, rtol: float, name: Callable[[int], str]) -> Comparison:
    """The :class:`Comparison` of the blocks ``parts`` (in index order) taken together."""
    size = sum(p.size for p in parts)
    for p in parts:
        if p.nonfinite is not None:
            return _failure(f"non-finite value {p.nonfinite[1]} at {name(p.nonfinite[0])}", rtol)
    top = max(parts, key=lambda p: p.max_excess) if parts else None  # the first block of the largest
    worst = top.worst if top else 0
    n_failed = sum(p.n_failed for p in parts)
    failed = sorted(f for p in parts for f in p.failed)[:10]
    max_abs = max((p.max_abs for p in parts), default=0.0)
    sq_diff, sq_ref = (sum(p.sq_diff for p in parts), sum(p.sq_ref for p in parts)) if parts else (0.0, 0.0)
    norm_rel = 0.0 if max_abs == 0 else float(np.sqrt(sq_diff) / np.sqrt(sq_ref)) if sq_ref else np.inf
    return Comparison(
        passed=n_failed == 0,
        max_abs_error=max_abs,
        max_rel_error=max((p.max_rel for p in parts), default=0.0),
        max_excess=top.max_excess if top else 0.0,
        norm_rel_error=norm_rel,
        worst=name(worst) if size else "",
        n_failed=n_failed,
        failed=tuple(name(i) for _, i in failed),
        rtol=rtol,
        message="" if not n_failed else f"{n_failed} of {size} entries disagree; worst {name(worst)}",
    )


def _block_shape_message(label: str, got, want) -> str:
    hint = " (transposed? eq. (10) is the Jacobian, eq. (11) its transpose)" if tuple(got) == tuple(want)[::-1] else ""
    return f"{label}: expected shape {tuple(want)}, got {tuple(got)}{hint}"


def compare_gradients(actual: Gradients, reference: Gradients, *, error=None, scale=None, **options) -> Comparison:
    """Compare (∇w_h, ∇θ) pairs; entries are named 'w_h[k, j]', 'theta[bias]', …

    ``error`` and ``scale`` are flat vectors in the order of :func:`gradcheck.model.network.pack`.
    """
    d, m = reference.w_h.shape[0] - 1, reference.w_h.shape[1]
    rtol = options.get("rtol") or default_rtol(np.asarray(actual.w_h).dtype)
    for label, got, want in (("∇w_h", actual.w_h, reference.w_h), ("∇θ", actual.theta, reference.theta)):
        if np.shape(got) != np.shape(want):
            return _failure(_block_shape_message(label, np.shape(got), np.shape(want)), rtol)
    dtype = np.result_type(np.asarray(actual.w_h), np.asarray(actual.theta))
    a = pack(np.asarray(actual.w_h), np.asarray(actual.theta)).astype(dtype)
    return compare(
        a, pack(reference.w_h, reference.theta), error=error, scale=scale, name=lambda i: entry_name(i, d, m), **options
    )
