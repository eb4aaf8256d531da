"""A tiny reverse-mode automatic differentiation on numpy arrays: an INDEPENDENT oracle.

Design (after micrograd's engine.py and HIPS autograd's VJP table):
  * ``_FORWARD`` and ``VJPS`` are two tables keyed by op name: the forward numpy
    function, and the vector-Jacobian product ``vjp(g, ans, *inputs, **params)``
    returning one gradient per input (already reduced to that input's shape).
  * :class:`Node` is the tracer: it records (op, parents, params) and replays
    ``VJPS`` in reverse topological order (an explicit stack, no recursion).
  * Every derivative is written here from first principles: nothing comes from
    :mod:`gradcheck.model.activations` or :mod:`gradcheck.model.formulas`, so a bug there is
    not shared by this oracle.  Only the ``Gradients`` NamedTuple is imported.
Conventions match the spec: bias LAST (x̄ = (x, 1)), relu'(0) = 0.  σ' and tanh' are
evaluated without cancellation (s(z)·s(−z), 4q/(1+q)²), so they stay accurate when saturated.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from gradcheck.model.formulas import Gradients
from gradcheck.model.shapes import as_float_array, validate

__all__ = [
    "Node",
    "VJPS",
    "apply",
    "unbroadcast",
    "grad",
    "jacobian",
    "activation",
    "ACTIVATION_NAMES",
    "network_loss",
    "gradients",
    "sigmoid",
    "tanh",
    "relu",
    "softplus",
    "identity",
    "exp",
    "log",
    "square",
    "append_one",
]


# ---- numerically stable forward functions (no overflow for |z| up to 1e4 and beyond)


def _sigmoid(z):
    e = np.exp(-np.abs(z))  # ≤ 1: never overflows
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(z):  # log(1 + e^z) = max(z, 0) + log1p(e^-|z|)
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _sech2(z):  # 1 − tanh² z = 4q/(1 + q)², q = e^{-2|z|}: no cancellation when |tanh z| → 1
    q = np.exp(-2 * np.abs(z))
    return 4 * q / (1 + q) ** 2


def _append_one(a):
    if a.ndim == 0:
        raise ValueError("append_one: expected an array of at least 1 dimension, got shape ()")
    return np.concatenate([a, np.ones(a.shape[:-1] + (1,))], axis=-1)


def _axes(axis, ndim) -> tuple[int, ...]:
    """``axis`` (None, int or tuple) as sorted non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    return tuple(sorted(ax % ndim for ax in (axis if isinstance(axis, tuple) else (axis,))))


# ---- gradient helpers -----------------------------------------------------------


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` over the axes numpy broadcasting added or stretched, back to ``shape``."""
    g = np.sum(g, axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return np.reshape(np.sum(g, axis=stretched, keepdims=True) if stretched else g, shape)


def _unreduce(g, shape, axis, keepdims):
    """Spread the gradient of a reduction (sum/mean) back over the reduced axes."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, _axes(axis, len(shape)))
    return np.broadcast_to(g, shape)


def _matmul_vjp(g, ans, a, b):
    # Promote 1-D operands as numpy does: a (k,) → (1, k), b (k,) → (k, 1).
    a2, b2 = (a[None, :] if a.ndim == 1 else a), (b[:, None] if b.ndim == 1 else b)
    g2 = g[..., None] if b.ndim == 1 else g
    g2 = np.expand_dims(g2, -2) if a.ndim == 1 else g2
    ga = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape)
    gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape)
    return ga.reshape(a.shape), gb.reshape(b.shape)


def _getitem_vjp(g, ans, a, *, index):
    out = np.zeros(a.shape)
    np.add.at(out, index, g)  # repeated fancy indices accumulate
    return (out,)


def _mean_count(shape, axis):
    return float(np.prod([shape[i] for i in _axes(axis, len(shape))]))


# ---- the two tables -------------------------------------------------------------

_FORWARD: dict[str, Callable] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "neg": np.negative,
    "matmul": np.matmul,
    "append_one": _append_one,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda a: np.where(a > 0, a, 0.0),
    "softplus": _softplus,
    "identity": lambda a: a,
    "exp": np.exp,
    "log": np.log,
    "square": np.square,
    "power": lambda a, *, p: np.power(a, p),
    "sum": lambda a, *, axis=None, keepdims=False: np.sum(a, axis=axis, keepdims=keepdims),
    "mean": lambda a, *, axis=None, keepdims=False: np.mean(a, axis=axis, keepdims=keepdims),
    "getitem": lambda a, *, index: a[index],
    "reshape": lambda a, *, shape: np.reshape(a, shape),
    "transpose": lambda a, *, axes=None: np.transpose(a, axes),
}

# vjp(g, ans, *inputs, **params) -> one gradient per input, each of its input's shape.
VJPS: dict[str, Callable[..., tuple]] = {
    "add": lambda g, ans, a, b: (unbroadcast(g, a.shape), unbroadcast(g, b.shape)),
    "sub": lambda g, ans, a, b: (unbroadcast(g, a.shape), unbroadcast(-g, b.shape)),
    "mul": lambda g, ans, a, b: (unbroadcast(g * b, a.shape), unbroadcast(g * a, b.shape)),
    "neg": lambda g, ans, a: (-g,),
    "matmul": _matmul_vjp,
    "append_one": lambda g, ans, a: (g[..., :-1],),  # the appended 1 is a constant
    "sigmoid": lambda g, s, a: (g * s * _sigmoid(-a),),  # s(1 − s), 1 − s = s(−z) stably
    "tanh": lambda g, t, a: (g * _sech2(a),),  # 1 − t², computed stably
    "relu": lambda g, ans, a: (g * (a > 0),),  # relu'(0) = 0
    "softplus": lambda g, ans, a: (g * _sigmoid(a),),
    "identity": lambda g, ans, a: (g,),
    "exp": lambda g, ans, a: (g * ans,),
    "log": lambda g, ans, a: (g / a,),
    "square": lambda g, ans, a: (g * 2 * a,),
    "power": lambda g, ans, a, *, p: (g * p * np.power(a, p - 1) if p != 0 else np.zeros_like(a),),
    "sum": lambda g, ans, a, *, axis=None, keepdims=False: (_unreduce(g, a.shape, axis, keepdims),),
    "mean": lambda g, ans, a, *, axis=None, keepdims=False: (
        _unreduce(g, a.shape, axis, keepdims) / _mean_count(a.shape, axis),
    ),
    "getitem": _getitem_vjp,
    "reshape": lambda g, ans, a, *, shape: (np.reshape(g, a.shape),),
    "transpose": lambda g, ans, a, *, axes=None: (
        np.transpose(g) if axes is None else np.transpose(g, np.argsort([x % a.ndim for x in axes])),
    ),
}
assert _FORWARD.keys() == VJPS.keys()


# ---- the tracer -------------------------------------------------------------------


class Node:
    """A value in the traced graph; ``.grad`` accumulates ∂(output)/∂(this value) with +=."""

    __slots__ = ("value", "grad", "op", "parents", "params")
    __array_ufunc__ = None  # ndarray ⊕ Node defers to Node's reflected operators

    def __init__(self, value, op: str = "const", parents: tuple = (), params: dict | None = None):
        value = np.asarray(value)
        if value.dtype.kind not in "biuf":
            raise TypeError(f"value: expected real numbers, got {type(value).__name__} of dtype {value.dtype}")
        self.value = np.array(value, dtype=np.float64)
        self.grad = np.zeros_like(self.value)
        self.op, self.parents, self.params = op, parents, params or {}

    def __repr__(self):
        return f"Node(op={self.op!r}, shape={self.value.shape})"

    shape = property(lambda self: self.value.shape)
    ndim = property(lambda self: self.value.ndim)
    T = property(lambda self: self.transpose())

    def __add__(self, o):
        return apply("add", self, o)

    def __radd__(self, o):
        return apply("add", o, self)

    def __sub__(self, o):
        return apply("sub", self, o)

    def __rsub__(self, o):
        return apply("sub", o, self)

    def __mul__(self, o):
        return apply("mul", self, o)

    def __rmul__(self, o):
        return apply("mul", o, self)

    def __matmul__(self, o):
        return apply("matmul", self, o)

    def __rmatmul__(self, o):
        return apply("matmul", o, self)

    def __neg__(self):
        return apply("neg", self)

    def __truediv__(self, o):
        return self * _lift(o) ** -1

    def __rtruediv__(self, o):
        return o * self**-1

    def __pow__(self, p):
        if isinstance(p, Node) or not isinstance(p, numbers.Real):
            raise TypeError(f"exponent: expected a constant real number, got {type(p).__name__}")
        return apply("power", self, p=float(p))

    def __getitem__(self, index):
        if isinstance(index, Node) or (isinstance(index, tuple) and any(isinstance(i, Node) for i in index)):
            raise TypeError("index: expected a constant index (int, slice, array), got a Node")
        return apply("getitem", self, index=index)

    def sum(self, axis=None, keepdims=False):
        return apply("sum", self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return apply("mean", self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        return apply("reshape", self, shape=shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return apply("transpose", self, axes=tuple(ax % self.ndim for ax in axes) if axes else None)

    def topological_order(self) -> list[Node]:
        """Every ancestor before its descendants (iterative post-order DFS)."""
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node.parents if id(p) not in seen)
        return order

    def backward(self, seed=None, *, order: list[Node] | None = None) -> None:
        """Accumulate d(seed · self)/d(leaf) into every leaf's ``.grad`` (across calls, like
        PyTorch); interior nodes' ``.grad`` are recomputed by each call (+= within it)."""
        if seed is None:
            if self.value.ndim:
                raise ValueError(f"seed: backward() on a non-scalar Node of shape {self.shape} needs a seed")
            seed = 1.0
        if np.shape(seed) != self.shape:
            raise ValueError(f"seed: expected shape {self.shape} (the Node's), got {np.shape(seed)}")
        order = order or self.topological_order()
        for node in order:
            if node.parents:
                node.grad.fill(0.0)
        self.grad += seed
        for node in reversed(order):
            if not node.parents:
                continue
            grads = VJPS[node.op](node.grad, node.value, *(p.value for p in node.parents), **node.params)
            for p, gp in zip(node.parents, grads):
                if np.shape(gp) != p.value.shape:  # a silent broadcast here would hide a bug
                    raise AssertionError(f"vjp of {node.op!r}: gradient shape {np.shape(gp)} != {p.value.shape}")
                p.grad += gp


def _lift(x) -> Node:
    return x if isinstance(x, Node) else Node(x)


def apply(op: str, *args, **params) -> Node:
    """Run primitive ``op`` forward on Nodes/constants and record it for backward."""
    if not isinstance(op, str) or op not in _FORWARD:
        raise ValueError(f"op: unknown operation {op!r}; expected one of {', '.join(_FORWARD)}")
    parents = tuple(_lift(a) for a in args)
    return Node(_FORWARD[op](*(p.value for p in parents), **params), op, parents, params)


# ---- elementwise functions on Nodes ------------------------------------------------


def _unary(op):
    f = lambda x: apply(op, x)
    f.__name__ = f.__doc__ = op
    return f


sigmoid, tanh, relu, softplus, identity, exp, log, square, append_one = map(
    _unary, ["sigmoid", "tanh", "relu", "softplus", "identity", "exp", "log", "square", "append_one"]
)

ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "identity", "softplus")


def activation(name: str, *, argument: str = "activation") -> Callable[[Node], Node]:
    """The activation ``name`` as a function Node -> Node (e.g. for ``jacobian``)."""
    if not isinstance(name, str) or name not in ACTIVATION_NAMES:
        raise ValueError(f"{argument}: expected one of {', '.join(ACTIVATION_NAMES)}, got {name!r}")
    return _unary(name)


# ---- public API ----------------------------------------------------------------------


def _inputs(arrays) -> tuple[Node, ...]:
    if not arrays:
        raise ValueError("arrays: expected at least one input array")
    return tuple(Node(as_float_array(a, f"arrays[{i}]")) for i, a in enumerate(arrays))


def _trace(fn, nodes) -> Node:
    out = fn(*nodes)
    if not isinstance(out, Node):
        raise TypeError(f"fn: expected to return a Node, got {type(out).__name__}")
    return out


def grad(fn: Callable[..., Node], *arrays) -> tuple[np.ndarray, ...]:
    """Gradient of the scalar ``fn(*nodes)`` w.r.t. each input array (same shapes)."""
    nodes = _inputs(arrays)
    out = _trace(fn, nodes)
    if out.value.ndim != 0:
        raise ValueError(f"fn: grad needs a scalar output, got shape {out.shape}; use jacobian")
    out.backward()
    return tuple(n.grad.copy() for n in nodes)


def jacobian(fn: Callable[..., Node], *arrays) -> tuple[np.ndarray, ...]:
    """Jacobian of ``fn`` w.r.t. each input: shape ``out.shape + in.shape``
    (J[i..., j...] = ∂out[i...]/∂in[j...]); a scalar output gives ``in.shape``.
    One reverse pass per output entry over the same traced graph."""
    nodes = _inputs(arrays)
    out = _trace(fn, nodes)
    order = out.topological_order()
    jacs = [np.zeros(out.shape + n.shape) for n in nodes]
    for idx in np.ndindex(*out.shape):
        for node in order:  # leaves too: each pass starts from zero
            node.grad.fill(0.0)
        seed = np.zeros(out.shape)
        seed[idx] = 1.0
        out.backward(seed, order=order)
        for J, n in zip(jacs, nodes):
            J[idx] = n.grad
    return tuple(jacs)


def network_loss(x, y, w_h, theta, *, hidden: str = "sigmoid", output: str = "sigmoid") -> Node:
    """The spec's loss as a Node: l = ½(σ_y(h̄ θ) − y)², h̄ = (σ_h(x̄ w_h), 1), x̄ = (x, 1);
    the mean of l over samples when x is a design matrix (n, d).  Arguments may be Nodes
    or arrays; shapes are NOT validated here (:func:`gradients` validates)."""
    act_h, act_y = activation(hidden, argument="hidden"), activation(output, argument="output")
    x, y = _lift(x), _lift(y)
    h = act_h(append_one(x) @ w_h)
    y_hat = act_y(append_one(h) @ theta)
    l = 0.5 * (y_hat - y) ** 2
    return l.mean() if x.ndim == 2 else l


def gradients(x, y, w_h, theta, *, hidden: str = "sigmoid", output: str = "sigmoid") -> Gradients:
    """∇_{w_h} and ∇_θ of the loss (mean loss for a design matrix), by reverse mode."""
    p = validate(x, y, w_h, theta)  # activation names are checked by network_loss
    gw, gt = grad(lambda w, t: network_loss(p.x, p.y, w, t, hidden=hidden, output=output), p.w_h, p.theta)
    return Gradients(gw, gt)
