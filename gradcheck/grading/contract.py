"""The API a submission must offer, as data: which functions, which arguments, which keys.

The course contract ``ftml`` (the default), as in the practical session::

    forward_pass(X, wh, theta) -> {"pre_h", "h", "pre_y", "y_hat"}
        X (n, d), one sample as a (1, d) row; wh (d+1, m); theta (m+1,) or (m+1, 1)
    compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta) -> {"dl_dtheta", "dl_dwh"}
        x (d,), y a float, the intermediates as forward_pass returned them for x;
        dl_dtheta has θ's shape, dl_dwh is (d+1, m)

A :class:`Contract` maps each argument to a *symbol* and each canonical quantity to a
returned key; the grader instantiates the symbols (for ordinary calls, for the
student's own pipeline through :class:`~gradcheck.grading.sandbox.protocol.Ref`, and for
the SGD loop run in the child through :class:`~gradcheck.grading.sandbox.protocol.Var`), so
student code only ever runs in the sandbox.  Symbols:

    X        a design matrix (n, d); one sample is passed as (1, d)
    x, x_row one sample as (d,) or (1, d);   y  its target, a Python float
    w_h      (d+1, m) (bias row last);  w_h.T  the same, transposed, (m, d+1)
    theta    (m+1,), or (m+1, 1) in the 'column' layout
    pre_h, h, pre_y, y_hat   forward intermediates for one sample

Harmless variants are :class:`Layout` s tried when the primary one makes the
student's code raise: θ as a column, and intermediates passed flat ((m,), floats)
instead of as forward_pass returns them for one row ((1, m), (1,)).  Another API is
described in a small adapter file defining ``CONTRACT`` (see
``examples/contracts/``), loaded with ``--contract path.py`` — trusted instructor
code, imported in the grader; it only describes calls, it never runs student code.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "Layout",
    "Signature",
    "Contract",
    "ContractError",
    "FTML",
    "CONTRACTS",
    "load_contract",
    "PARAMS",
    "INTERMEDIATES",
    "param_value",
    "param_shape",
    "bind",
    "reference_intermediates",
]

PARAMS = ("w_h", "w_h.T", "theta")
SAMPLE = ("X", "x", "x_row", "y")
INTERMEDIATES = ("pre_h", "h", "pre_y", "y_hat")


class ContractError(ValueError):
    """A contract (or adapter file) that does not describe a usable API."""


@dataclass(frozen=True)
class Layout:
    theta: str = "flat"  # 'flat' (m+1,) or 'column' (m+1, 1)
    intermediates: str = "row"  # 'row': as forward_pass returns them for a (1, d) row; 'flat'

    def __post_init__(self):
        if self.theta not in ("flat", "column") or self.intermediates not in ("row", "flat"):
            raise ContractError(
                f"layout: theta must be 'flat' or 'column' and intermediates 'row' or "
                f"'flat', got {self.theta!r}, {self.intermediates!r}"
            )

    @property
    def name(self) -> str:
        return f"theta={self.theta},intermediates={self.intermediates}"

    def describe(self) -> str:
        parts = []
        if self.theta == "column":
            parts.append("θ passed as a column (m+1, 1) (gradient expected in that shape)")
        if self.intermediates == "flat":
            parts.append("intermediates passed flat (pre_h of shape (m,), pre_y and y_hat as floats)")
        return "; ".join(parts) or "θ of shape (m+1,), intermediates as forward_pass returns them for one (1, d) row"


@dataclass(frozen=True)
class Signature:
    function: str
    args: Mapping[str, str]  # the student's argument name -> symbol
    keys: Mapping[str, str]  # canonical name -> the key of the returned dict


@dataclass(frozen=True)
class Contract:
    name: str
    forward: Signature  # keys: pre_h, h, pre_y, y_hat (y_hat required)
    gradients: Signature  # keys: one of w_h / w_h.T, and theta -> returned keys
    layouts: tuple = (Layout(),)
    description: str = ""

    def __post_init__(self):
        _check(self)

    @property
    def functions(self) -> tuple[str, str]:
        return (self.forward.function, self.gradients.function)

    def block_symbol(self, block: str) -> str:
        """The parameter symbol whose gradient is the canonical block 'w_h' or 'theta'."""
        return "theta" if block == "theta" else ("w_h" if "w_h" in self.gradients.keys else "w_h.T")


def _check(c: Contract) -> None:
    f, g = c.forward, c.gradients
    for sig, allowed in ((f, {"X", *PARAMS}), (g, {*SAMPLE[1:], *PARAMS, *INTERMEDIATES})):
        if not str(sig.function).isidentifier():
            raise ContractError(f"{c.name}: function name {sig.function!r} is not an identifier")
        bad = {a: s for a, s in sig.args.items() if not str(a).isidentifier() or s not in allowed}
        if bad:
            raise ContractError(f"{c.name}: {sig.function} arguments {bad} (symbols allowed: {sorted(allowed)})")
    if "y_hat" not in f.keys or set(f.keys) - set(INTERMEDIATES):
        raise ContractError(
            f"{c.name}: forward keys must map y_hat (and optionally pre_h, h, pre_y), got {dict(f.keys)}"
        )
    blocks = set(g.keys)
    if "theta" not in blocks or len(blocks & {"w_h", "w_h.T"}) != 1 or blocks - set(PARAMS):
        raise ContractError(f"{c.name}: gradient keys must map theta and one of w_h / w_h.T, got {dict(g.keys)}")
    used = {s for s in g.args.values() if s in INTERMEDIATES}
    if used - set(f.keys):
        raise ContractError(
            f"{c.name}: {g.function} needs {sorted(used - set(f.keys))}, which the forward keys do not map"
        )
    symbols = {*f.args.values(), *g.args.values(), *g.keys}
    if {"w_h", "w_h.T"} <= symbols:
        raise ContractError(f"{c.name}: use one of w_h and w_h.T throughout, not both")
    if not c.layouts or not all(isinstance(x, Layout) for x in c.layouts):
        raise ContractError(f"{c.name}: layouts must be a non-empty tuple of Layout")


FTML = Contract(
    name="ftml",
    forward=Signature("forward_pass", {"X": "X", "wh": "w_h", "theta": "theta"}, {k: k for k in INTERMEDIATES}),
    gradients=Signature(
        "compute_gradients",
        {"x": "x", "y": "y", "pre_h": "pre_h", "h": "h", "pre_y": "pre_y", "y_hat": "y_hat", "theta": "theta"},
        {"w_h": "dl_dwh", "theta": "dl_dtheta"},
    ),
    layouts=(Layout(), Layout("column", "row"), Layout("flat", "flat"), Layout("column", "flat")),
    description="forward_pass(X, wh, theta) and compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta)",
)
CONTRACTS = {"ftml": FTML}


def load_contract(spec: str | Contract | None = None) -> Contract:
    """'ftml' (default), a Contract, or the path of an adapter file defining ``CONTRACT``."""
    if spec is None:
        return FTML
    if isinstance(spec, Contract):
        return spec
    if spec in CONTRACTS:
        return CONTRACTS[spec]
    path = Path(spec)
    if path.suffix != ".py" or not path.is_file():
        raise ContractError(f"contract: expected one of {', '.join(CONTRACTS)} or an adapter .py file, got {spec!r}")
    module_spec = importlib.util.spec_from_file_location(f"gradcheck_contract_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)  # trusted instructor code: describes calls only
    contract = getattr(module, "CONTRACT", None)
    if not isinstance(contract, Contract):
        raise ContractError(f"contract: {path} must define CONTRACT = gradcheck.grading.contract.Contract(...)")
    return contract


# ------------------------------------------------------------ instantiating symbols
def param_value(symbol: str, w_h: np.ndarray, theta: np.ndarray, layout: Layout) -> np.ndarray:
    if symbol == "w_h":
        return np.array(w_h)
    if symbol == "w_h.T":
        return np.array(w_h.T)
    return np.array(theta).reshape(-1, 1) if layout.theta == "column" else np.array(theta)


def param_shape(symbol: str, d: int, m: int, layout: Layout) -> tuple[int, ...]:
    if symbol == "w_h":
        return (d + 1, m)
    if symbol == "w_h.T":
        return (m, d + 1)
    return (m + 1, 1) if layout.theta == "column" else (m + 1,)


def reference_intermediates(pre_h, h, pre_y, y_hat, layout: Layout) -> dict:
    """One sample's intermediates laid out as the student's code receives them."""
    if layout.intermediates == "flat":
        return {"pre_h": np.array(pre_h), "h": np.array(h), "pre_y": float(pre_y), "y_hat": float(y_hat)}
    scalar = (1, 1) if layout.theta == "column" else (1,)
    return {
        "pre_h": np.reshape(pre_h, (1, -1)),
        "h": np.reshape(h, (1, -1)),
        "pre_y": np.reshape(pre_y, scalar).astype(float),
        "y_hat": np.reshape(y_hat, scalar).astype(float),
    }


def bind(signature: Signature, values: Mapping) -> dict:
    """The keyword arguments of ``signature`` with every symbol replaced by ``values[symbol]``."""
    return {arg: values[symbol] for arg, symbol in signature.args.items()}
