"""Check anyone's gradient: a scalar function of an array or of a dict/list of named arrays.

The engine is :func:`gradcheck.largescale.full.check_gradient_blackbox` (order-4 central
differences on every entry with a strict error bound, one-sided derivatives at kinks);
this module adapts any ``f`` and parameter structure to it and reports by name.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradcheck.checking.tolerance import default_rtol
from gradcheck.general.params import Tree, flatten, plain
from gradcheck.general.report import GradientReport, report
from gradcheck.largescale.full import check_gradient_blackbox
from gradcheck.model.shapes import positive_int

__all__ = ["assert_gradient", "check"]


class _Counted:
    """f as the engine wants it, (k, P) → (k,) or (k, n) per-sample terms, counting evaluations;
    ``vectorized`` f are called on the stack, others once per row on the rebuilt structure."""

    def __init__(self, f: Callable, tree: Tree, vectorized: bool, per_sample: bool):
        self.f, self.tree, self.vectorized, self.per_sample, self.calls = f, tree, vectorized, per_sample, 0

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.atleast_2d(rows)
        k = rows.shape[0]
        self.calls += k
        if self.vectorized:
            out = np.asarray(plain(self.f(rows)), dtype=np.float64)
        else:
            out = np.array([np.asarray(plain(self.f(self.tree.build(r))), dtype=np.float64) for r in rows])
        return out.reshape(k, -1) if self.per_sample else out.reshape(k)

    def first(self, p0: np.ndarray) -> np.ndarray:
        """f at the parameters, checked: a finite real scalar, (n,) terms with ``per_sample``, or
        the (1,) or (1, n) of a vectorized f on a (1, P) stack."""
        self.calls += 1
        if self.vectorized:
            out = self.f(p0[None, :].copy())
            want = "shape (1, n) for a (1, P) stack" if self.per_sample else "shape (1,) for a (1, P) stack"
            want += " (vectorized=True)"
            ok = (
                (lambda a: a.ndim == 2 and a.shape[0] == 1 and a.size)
                if self.per_sample
                else (lambda a: a.shape == (1,))
            )
        else:
            out = self.f(self.tree.build(p0.copy()))
            want = "shape (n,): one term per sample (per_sample=True)" if self.per_sample else "a scalar"
            ok = (lambda a: a.ndim == 1 and a.size) if self.per_sample else (lambda a: a.size == 1)
        try:
            arr = np.asarray(plain(out))
        except Exception as exc:
            raise TypeError(f"f: expected {want}, got {type(out).__name__} ({exc})") from None
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"f: expected a real number, got {type(out).__name__} of dtype {arr.dtype}")
        if not ok(arr):
            terms = not self.per_sample and arr.ndim == 1 + self.vectorized and arr.size > 1
            hint = " (per-sample terms whose mean is the loss? pass per_sample=True)" if terms else ""
            raise ValueError(f"f: expected {want}, got shape {arr.shape}{hint}")
        if not np.isfinite(arr).all():
            bad = arr.ravel()[~np.isfinite(arr.ravel())][0]
            raise ValueError(f"f: expected a finite value at params, got {float(bad)!r}")
        return arr


def _options(vectorized, per_sample, rtol, noise, n_worst):
    for label, v in (("vectorized", vectorized), ("per_sample", per_sample)):
        if not isinstance(v, bool):
            raise TypeError(f"{label}: expected True or False, got {v!r}")
    for label, v, low in (("rtol", rtol, "positive"), ("noise", noise, "non-negative")):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
            raise TypeError(f"{label}: expected a {low} finite number or None, got {v!r}")
        if not np.isfinite(v) or v < 0 or (v == 0 and low == "positive"):
            raise ValueError(f"{label}: expected a {low} finite number or None, got {v!r}")
    positive_int(n_worst, "n_worst")


def check(
    f: Callable,
    params,
    grad,
    *,
    vectorized: bool = False,
    per_sample: bool = False,
    rtol: float | None = None,
    noise: float | None = None,
    n_worst: int = 5,
) -> GradientReport:
    """Check every entry of ``grad`` against finite differences of the scalar function ``f``.

    ``params``: an array, or a dict (nested dicts and lists allowed) of named arrays — anything
    numpy converts (lists, torch tensors, jax CPU arrays).  ``f(params)`` returns a scalar; it is
    called on the same structure rebuilt from float64 numpy arrays (the perturbations need
    float64's resolution).  ``grad``: the same structure, or a callable of that structure
    returning it.  ``vectorized=True``: ``f`` instead maps a stack of flattened parameter
    vectors (k, P) → (k,) (dict order, then list order, each array in C order) — one call per
    chunk instead of one per perturbation.  ``per_sample=True``: ``f`` returns the per-sample
    terms whose mean is the loss, shape (n,) (vectorized: (k, n)); kinks are then judged per
    sample, as the spec network's check does.

    An entry passes when (the rule of :mod:`gradcheck.checking.tolerance`)
        |a_i − r_i| ≤ rtol · max(|r_i|, floor · max_j |r_j|) + safety · e_i + tiny / eps,
    a the gradient under test, r the order-4 central-difference reference, e_i its error bound
    (scipy's error estimate plus the rounding of f, ``noise`` per evaluation: default
    eps·mean |f(params)| in f's output dtype), safety = 2, floor = 1e-6.  ``rtol`` defaults to
    1000·eps of the least precise floating dtype among ``params`` and ``grad`` (2.2e-13 for
    float64, 1.2e-4 for float32).  Where f has a kink along an entry (relu), the entry passes
    when it lies between the one-sided derivatives L, R of f — with ``per_sample``, between
    mean_s min(L_s, R_s) and mean_s max(L_s, R_s) of the terms' one-sided derivatives.

    Bad input (a non-scalar or non-finite f, a ``grad`` whose structure or shapes differ,
    non-finite params, an unknown option value) raises ValueError/TypeError naming it, after at
    most one evaluation of f.  Returns a :class:`GradientReport`."""
    _options(vectorized, per_sample, rtol, noise, n_worst)
    if not callable(f):
        raise TypeError(f"f: expected a callable, got {type(f).__name__}")
    tree, p0 = flatten(params)
    if callable(grad):
        grad = grad(tree.build(p0.copy()))
    g, grad_dtypes = tree.match(grad)
    floats = [dt for dt in [leaf.dtype for leaf in tree.leaves] + grad_dtypes if dt.kind == "f"]
    least = max(floats, key=lambda dt: np.finfo(dt).eps, default=np.dtype(np.float64))
    rtol = default_rtol(least) if rtol is None else float(rtol)
    counted = _Counted(f, tree, vectorized, per_sample)
    f0 = counted.first(p0)
    if noise is None:
        out_dtype = f0.dtype if f0.dtype.kind == "f" else np.dtype(np.float64)
        noise = float(np.finfo(out_dtype).eps * np.abs(f0).mean())
    full = check_gradient_blackbox(counted, p0, g, noise=noise, rtol=rtol, name=tree.name)
    return report(g, full, tree.name, rtol=rtol, evaluations=counted.calls, n_worst=n_worst)


def assert_gradient(f: Callable, params, grad, **options) -> GradientReport:
    """:func:`check`, raising AssertionError with the report's summary when the gradient is wrong;
    returns the report when it is right."""
    result = check(f, params, grad, **options)
    if not result.passed:
        raise AssertionError(result.summary)
    return result
