"""Input validation, up front and in one place.

The spec's shapes (bias LAST, inputs as line vectors):
    x ∈ R^d (one sample) or X ∈ R^{n×d} (a design matrix), y ∈ R or R^n,
    w_h ∈ R^{(d+1)×m}, θ ∈ R^{m+1}.
Every error names the argument, the expected shape or value and the actual one.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Dims", "Problem", "validate", "as_float_array", "positive_int"]


class Dims(NamedTuple):
    d: int  # input features (x̄ has d+1 entries)
    m: int  # hidden units (h̄ has m+1 entries)
    n: int | None  # samples in a design matrix; None for a single line vector


class Problem(NamedTuple):
    """One problem of the spec's network: the data, the weights and the two activations."""

    x: np.ndarray  # (d,) one sample, or (n, d)
    y: np.ndarray  # () or (n,)
    w_h: np.ndarray  # (d+1, m), bias row last
    theta: np.ndarray  # (m+1,), bias entry last
    hidden: str = "sigmoid"
    output: str = "sigmoid"

    @property
    def dims(self) -> Dims:
        x = np.asarray(self.x)
        return Dims(x.shape[-1], np.shape(self.w_h)[1], x.shape[0] if x.ndim == 2 else None)

    @property
    def d(self) -> int:
        return self.dims.d

    @property
    def m(self) -> int:
        return self.dims.m

    @property
    def kwargs(self) -> dict:
        """hidden= and output= for the functions that take them."""
        return dict(hidden=self.hidden, output=self.output)


def positive_int(value, argument: str, *, optional: bool = False) -> int | None:
    """``value`` if it is an int ≥ 1 (``bool`` refused; None allowed when ``optional``), else a ValueError
    naming ``argument``."""
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        wanted = "a positive integer or None" if optional else "a positive integer"
        raise ValueError(f"{argument}: expected {wanted}, got {value!r}")
    return int(value)


def as_float_array(value, argument: str, *, allow_complex: bool = False) -> np.ndarray:
    """``value`` as a plain float ndarray (subclasses stripped), or a clear error."""
    if isinstance(value, np.ndarray) and value.dtype == object or isinstance(value, (str, bytes)):
        raise TypeError(f"{argument}: expected an array of real numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{argument}: expected an array of real numbers, got {type(value).__name__} ({exc})") from None
    kinds = "biufc" if allow_complex else "biuf"
    if arr.dtype.kind not in kinds:
        raise TypeError(f"{argument}: expected a real numeric array, got dtype {arr.dtype}")
    if arr.dtype.kind in "biu" or arr.dtype.itemsize < 4:
        arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = f"[{', '.join(map(str, bad))}]" if arr.ndim else ""
        raise ValueError(f"{argument}: expected finite values, got {arr[tuple(bad)].item()!r} at {argument}{where}")
    return arr


def validate(x, y, w_h, theta) -> Problem:
    """Check a sample (or design matrix), its target(s) and the parameters.

    >>> p = validate([0.5, -1.0], 1.0, np.zeros((3, 4)), np.zeros(5))
    >>> p.dims
    Dims(d=2, m=4, n=None)
    """
    x = as_float_array(x, "x")
    if x.ndim not in (1, 2):
        raise ValueError(f"x: expected a line vector of shape (d,) or a design matrix (n, d), got shape {x.shape}")
    d = x.shape[-1]
    n = x.shape[0] if x.ndim == 2 else None
    if d < 1 or n == 0:
        raise ValueError(f"x: expected at least one feature and one sample, got shape {x.shape}")
    w_h = as_float_array(w_h, "w_h")
    if w_h.ndim != 2 or w_h.shape[0] != d + 1 or w_h.shape[1] < 1:
        hint = " (missing the bias row? x̄ = (x, 1) puts it last)" if w_h.ndim == 2 and w_h.shape[0] == d else ""
        raise ValueError(f"w_h: expected shape (d+1, m) = ({d + 1}, m) for x with d = {d}, got {w_h.shape}{hint}")
    m = w_h.shape[1]
    theta = as_float_array(theta, "theta")
    if theta.shape != (m + 1,):
        hint = " (missing the bias entry? h̄ = (h, 1) puts it last)" if theta.shape == (m,) else ""
        raise ValueError(f"theta: expected shape (m+1,) = ({m + 1},) for w_h with m = {m}, got {theta.shape}{hint}")
    y = as_float_array(y, "y")
    want = () if n is None else (n,)
    if y.shape != want and not (n is not None and y.shape == (n, 1)):
        raise ValueError(f"y: expected shape {want} to match x of shape {x.shape}, got {y.shape}")
    return Problem(x, y.reshape(want), w_h, theta)
