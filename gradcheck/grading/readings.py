"""Reading what a submission returned into canonical arrays, noting harmless variants.

Canonical shapes (one configuration d, m; a batch of n samples):
    pre_h, h (n, m)     pre_y, y_hat (n,)     ∇w_h (d+1, m)     ∇θ (m+1,)
Everything arrives as float64 (the sandbox converts), with the returned *kind*
('ndarray:float32', 'float:float64', 'list:float64', ...) kept so that precision can
be judged by the dtype the student returned.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gradcheck.grading.contract import Contract, Layout, param_shape

__all__ = ["Value", "read_forward", "read_gradients", "dtype_of"]


class Value(NamedTuple):
    array: np.ndarray | None  # canonical shape, float64; None when unusable
    dtype: str  # the returned dtype: 'float64', 'float32', ...
    kind: str  # what was returned, e.g. 'ndarray:float32'
    shape: tuple  # the returned shape
    shape_ok: bool  # the required shape (harmless variants count as ok)
    note: str = ""  # a harmless variant, or how a wrong shape was still compared
    error: str = ""  # why the value is unusable


def dtype_of(kind: str) -> str:
    return kind.split(":", 1)[1] if ":" in kind else "float64"


def _python(kind: str) -> str:
    head = kind.split(":", 1)[0]
    return {"float": "a Python float", "list": "a list", "tuple": "a tuple", "int": "a Python int"}.get(head, "")


def _missing(key: str, function: str, returned) -> Value:
    keys = ", ".join(sorted(returned)) or "nothing"
    return Value(None, "", "", (), False, error=f"{function} returned no {key!r} (it returned {keys})")


def _finite(v: Value, label: str) -> Value:
    if v.array is not None and not np.all(np.isfinite(v.array)):
        return v._replace(array=None, error=f"{label} contains NaN or inf")
    return v


def read_forward(contract: Contract, values: dict, kinds: dict, n: int, m: int) -> dict[str, Value]:
    """{canonical name: Value} for the intermediates the contract maps."""
    out = {}
    for name, key in contract.forward.keys.items():
        if key not in values:
            out[name] = _missing(key, contract.forward.function, values)
            continue
        a, kind = values[key], kinds.get(key, "")
        base = Value(None, dtype_of(kind), kind, a.shape, False)
        vector = name in ("pre_h", "h")
        want = (n, m) if vector else (n,)
        note = ""
        if a.shape == want:
            arr = a
        elif vector and n == 1 and a.shape == (m,):
            arr, note = a.reshape(want), f"{key} returned with shape ({m},) for one sample (accepted)"
        elif not vector and a.shape in ((n, 1),) + (((), (1, 1)) if n == 1 else ()):
            arr = a.reshape(want)
            what = _python(kind) or ("a 0-d array" if a.shape == () else "a column of shape (n, 1)")
            note = f"{key} returned as {what} (accepted)"
        else:
            out[name] = base._replace(error=f"{key} has shape {a.shape}, expected {want}")
            continue
        out[name] = _finite(base._replace(array=arr, shape_ok=True, note=note), key)
    return out


def read_gradients(contract: Contract, values: dict, kinds: dict, d: int, m: int, layout: Layout) -> dict[str, Value]:
    """{'w_h': Value (d+1, m), 'theta': Value (m+1,)} from a gradient call's result."""
    out = {}
    for block in ("w_h", "theta"):
        symbol = contract.block_symbol(block)
        key = contract.gradients.keys[symbol]
        if key not in values:
            out[block] = _missing(key, contract.gradients.function, values)
            continue
        a, kind = values[key], kinds.get(key, "")
        want = param_shape(symbol, d, m, layout)
        base = Value(None, dtype_of(kind), kind, a.shape, a.shape == want)
        if a.shape == want:
            arr, note = a, ""
        elif a.size == int(np.prod(want)) and tuple(s for s in a.shape if s != 1) == tuple(s for s in want if s != 1):
            arr, note = a.reshape(want), f"{key} has shape {a.shape}, expected {want}: values compared after reshaping"
        elif a.ndim == 2 and a.shape == want[::-1]:
            arr, note = (
                a.T,
                f"{key} has shape {a.shape}, expected {want} (transposed?): values compared after transposing",
            )
        else:
            out[block] = base._replace(error=f"{key} has shape {a.shape}, expected {want}")
            continue
        if _python(kind) and not note:
            note = f"{key} returned as {_python(kind)} (accepted)"
        canonical = arr.T if symbol == "w_h.T" else arr.reshape(-1) if block == "theta" else arr
        out[block] = _finite(base._replace(array=np.array(canonical), note=note), key)
    return out
