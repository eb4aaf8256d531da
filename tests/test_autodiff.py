"""Tests for gradcheck.oracles.autodiff, the reverse-mode oracle, against central differences.

Finite differences: central, step H = 1e-6 on each input entry, the divisor being the
step actually taken ((a+H) − (a−H) in floating point).  Truncation error is
≈ H²/6·|f'''| ≈ 1e-13, round-off ≈ ε·S/H ≈ 2e-10·S where S is the magnitude of the
terms summed into f.  Stated tolerance, elementwise:
    |autodiff − fd| ≤ RTOL·|fd| + ATOL·(1 + S),   RTOL = 1e-6, ATOL = 1e-8.
Reference forwards for the differences are plain numpy written in this file
(``REF``), not the module's own forward functions.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck.model import network
from gradcheck.model.activations import ACTIVATIONS
from gradcheck.oracles import autodiff as ad

H, RTOL, ATOL = 1e-6, 1e-6, 1e-8
SETTINGS = settings(max_examples=40, deadline=None)


class Kink(Exception):
    """A relu argument changed sign between finite-difference evaluations."""


def central_diff(f, arrays, h=H):
    """∂f/∂arrays[k] for a function f(*arrays) -> ndarray: shape f.shape + arrays[k].shape."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    out_shape = np.shape(f(*arrays))
    result = []
    for a in arrays:
        J = np.zeros(out_shape + a.shape)
        for idx in np.ndindex(*a.shape):
            orig = a[idx]
            a[idx] = hi = orig + h
            f_hi = np.array(f(*arrays), dtype=np.float64)  # copy: f may return a view of a
            a[idx] = lo = orig - h
            f_lo = np.array(f(*arrays), dtype=np.float64)
            a[idx] = orig
            J[(Ellipsis,) + idx] = (f_hi - f_lo) / (hi - lo)
        result.append(J)
    return result


def assert_close(got, fd, scale=1.0):
    got, fd = np.asarray(got), np.asarray(fd)
    assert got.shape == fd.shape
    bound = RTOL * np.abs(fd) + ATOL * (1 + scale)
    excess = np.abs(got - fd) - bound
    assert np.all(excess <= 0), f"max |ad − fd| exceeds bound by {excess.max():.3g}:\n{got}\n{fd}"


# ---- reference numpy forwards (independent of the module) ---------------------------

REF = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "neg": lambda a: -a,
    "matmul": lambda a, b: a @ b,
    "append_one": lambda a: np.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, 1)], constant_values=1.0),
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "tanh": lambda a: np.sinh(a) / np.cosh(a),
    "relu": lambda a: a * (a > 0),
    "softplus": lambda a: np.log(1 + np.exp(a)),
    "identity": lambda a: a,
    "exp": np.exp,
    "log": np.log,
    "square": lambda a: a * a,
    "power": lambda a, *, p: a**p,
    "sum": lambda a, *, axis=None, keepdims=False: a.sum(axis=axis, keepdims=keepdims),
    "mean": lambda a, *, axis=None, keepdims=False: a.mean(axis=axis, keepdims=keepdims),
    "getitem": lambda a, *, index: a[index],
    "reshape": lambda a, *, shape: a.reshape(shape),
    "transpose": lambda a, *, axes=None: a.transpose(axes),
}

# ---- per-op input strategies: (arrays, params) -------------------------------------

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
shapes1 = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def arrays(shape, lo=-3.0, hi=3.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi))


def unary(lo=-3.0, hi=3.0, shape_strategy=shapes):
    return shape_strategy.flatmap(lambda s: arrays(s, lo, hi)).map(lambda a: ([a], {}))


away_from_0 = st.floats(0.05, 3.0) | st.floats(-3.0, -0.05)


@st.composite
def binary(draw):
    sa, sb = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_side=1, max_side=3, max_dims=3)).input_shapes
    return [draw(arrays(sa)), draw(arrays(sb))], {}


@st.composite
def matmul_case(draw):
    n, k, p, b = (draw(st.integers(1, 3)) for _ in range(4))
    sa, sb = draw(
        st.sampled_from(
            [
                ((k,), (k,)),
                ((k,), (k, p)),
                ((n, k), (k,)),
                ((n, k), (k, p)),
                ((b, n, k), (k, p)),
                ((b, n, k), (1, k, p)),
                ((k,), (b, k, p)),
            ]
        )
    )
    return [draw(arrays(sa)), draw(arrays(sb))], {}


@st.composite
def power_case(draw):
    p = draw(st.sampled_from([0, 1, 2, 3, -1, 0.5, 1.5, -2.5]))
    lo = -3.0 if float(p).is_integer() and p >= 0 else 0.2  # non-integer or negative p: positive base
    return [draw(arrays(draw(shapes), lo))], {"p": p}


@st.composite
def reduce_case(draw):
    shape = draw(shapes)
    axis = draw(
        st.none()
        | hnp.valid_tuple_axes(len(shape))
        | (st.integers(-len(shape), len(shape) - 1) if shape else st.none())
    )
    return [draw(arrays(shape))], {"axis": axis, "keepdims": draw(st.booleans())}


@st.composite
def getitem_case(draw):
    shape = draw(shapes1)
    a = draw(arrays(shape))
    index = draw(
        hnp.basic_indices(shape, allow_newaxis=True)
        | st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=5).map(np.array)  # repeats
        | hnp.arrays(np.bool_, shape)
    )
    return [a], {"index": index}


@st.composite
def reshape_case(draw):
    shape = draw(shapes)
    target = draw(st.sampled_from([(-1,), shape[::-1], (1,) + shape, (int(np.prod(shape)), 1)]))
    return [draw(arrays(shape))], {"shape": target}


@st.composite
def transpose_case(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3))  # 3-cycles need ≥ 3 dims
    axes = draw(
        st.none() | st.permutations(range(len(shape))).map(tuple) | st.permutations(range(-len(shape), 0)).map(tuple)
    )
    return [draw(arrays(shape))], {"axes": axes}


CASES = {
    "add": binary(),
    "sub": binary(),
    "mul": binary(),
    "neg": unary(),
    "matmul": matmul_case(),
    "append_one": unary(shape_strategy=shapes1),
    "sigmoid": unary(-8, 8),
    "tanh": unary(-4, 4),
    "softplus": unary(-8, 8),
    "relu": shapes.flatmap(lambda s: hnp.arrays(np.float64, s, elements=away_from_0)).map(lambda a: ([a], {})),
    "identity": unary(),
    "exp": unary(),
    "log": unary(0.1, 5.0),
    "square": unary(),
    "power": power_case(),
    "sum": reduce_case(),
    "mean": reduce_case(),
    "getitem": getitem_case(),
    "reshape": reshape_case(),
    "transpose": transpose_case(),
}


def test_every_op_has_a_case_and_a_reference():
    assert set(CASES) == set(ad.VJPS) == set(REF)


@pytest.mark.parametrize("op", sorted(CASES))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_op_gradient_matches_central_differences(op, data):
    args, params = data.draw(CASES[op], label="args, params")
    nodes = [ad.Node(a) for a in args]
    out = ad.apply(op, *nodes, **params)
    np.testing.assert_allclose(out.value, REF[op](*args, **params), rtol=1e-12, atol=1e-12)
    probe = data.draw(arrays(out.shape, -1, 1), label="probe")
    out.backward(probe)
    fds = central_diff(lambda *xs: np.sum(REF[op](*xs, **params) * probe), args)
    scale = np.sum(np.abs(out.value * probe))
    for node, fd in zip(nodes, fds):
        assert_close(node.grad, fd, scale)


# ---- random compositions ---------------------------------------------------------------
# A tree is ("var", k) | ("const", c) | (op, params, children); leaves get values from a seed.
# A subtree object may appear several times: evaluate() memoizes by identity, so it becomes
# ONE Node with several consumers (shared subexpression), as may a shared input variable.


def _shrink(draw, shape):
    """A shape that broadcasts to ``shape``: some dims set to 1, some leading dims dropped."""
    s = tuple(1 if draw(st.booleans()) else n for n in shape)
    return s[draw(st.integers(0, len(s))) :]


def _build(draw, shape, depth, leaves, built, root=False):
    if depth == 0 or (not root and draw(st.integers(0, 7)) == 0):
        same = [k for k, s in enumerate(leaves) if s == shape]
        if same and draw(st.booleans()):
            return ("var", draw(st.sampled_from(same)))  # shared input: gradients accumulate
        leaves.append(shape)
        return ("var", len(leaves) - 1)
    reuse = [t for s, t in built if s == shape]
    if reuse and not root and draw(st.booleans()):
        return reuse[draw(st.integers(0, len(reuse) - 1))]  # shared interior subexpression
    tree = _compose(draw, shape, depth, leaves, built)
    built.append((shape, tree))
    return tree


def _compose(draw, shape, depth, leaves, built):
    kinds = (
        [
            "unary",
            "unary",
            "binary",
            "binary",
            "const",
            "matmul",
            "power",
            "log",
            "exp",
            "reduce",
            "int_index",
            "reshape",
        ]
        + (["slice", "fancy"] if shape else [])
        + (["append_one"] if shape and shape[-1] >= 2 else [])
        + (["transpose"] if len(shape) >= 2 else [])
    )
    kind = draw(st.sampled_from(kinds))
    sub = lambda s: _build(draw, s, depth - 1, leaves, built)
    side = lambda: draw(st.integers(1, 3))
    pos = lambda t: ("add", {}, [("softplus", {}, [t]), ("const", 0.5)])  # > 0.5, for log and x^p
    if kind == "unary":
        op = draw(st.sampled_from(["sigmoid", "tanh", "relu", "softplus", "identity", "neg", "square"]))
        return (op, {}, [sub(shape)])
    if kind == "binary":
        a, b = sorted([shape, _shrink(draw, shape)], key=lambda _: draw(st.booleans()))
        return (draw(st.sampled_from(["add", "sub", "mul"])), {}, [sub(a), sub(b)])
    if kind == "const":
        c = ("const", draw(st.sampled_from([0.5, -2.0, 3.0])))
        children = [sub(shape), c] if draw(st.booleans()) else [c, sub(shape)]
        return (draw(st.sampled_from(["add", "sub", "mul"])), {}, children)
    if kind == "matmul":
        k = side()
        if len(shape) == 0:
            sa, sb = (k,), (k,)
        elif len(shape) == 1:
            sa, sb = draw(st.sampled_from([((k,), (k, shape[0])), ((shape[0], k), (k,))]))
        else:
            sa, sb = shape[:-1] + (k,), draw(st.sampled_from([(k, shape[-1]), shape[:-2] + (k, shape[-1])]))
        return ("matmul", {}, [sub(sa), sub(sb)])
    if kind == "power":
        p = draw(st.sampled_from([2, 3, -1, 0.5, 1.5]))
        t = sub(shape)
        return ("power", {"p": p}, [t if p in (2, 3) else pos(t)])
    if kind == "log":
        return ("log", {}, [pos(sub(shape))])
    if kind == "exp":
        return ("exp", {}, [("tanh", {}, [sub(shape)])])
    if kind == "reduce":
        op, i, k = draw(st.sampled_from(["sum", "mean"])), draw(st.integers(0, len(shape))), side()
        if shape and draw(st.booleans()) and shape[min(i, len(shape) - 1)] == 1:
            i = min(i, len(shape) - 1)  # keepdims over an axis of size 1 in the output
            return (op, {"axis": i, "keepdims": True}, [sub(shape[:i] + (k,) + shape[i + 1 :])])
        return (
            op,
            {"axis": i - len(shape) - 1 if draw(st.booleans()) else i, "keepdims": False},
            [sub(shape[:i] + (k,) + shape[i:])],
        )
    if kind == "int_index":
        k = side()
        return ("getitem", {"index": draw(st.integers(-k, k - 1))}, [sub((k,) + shape)])
    if kind == "slice":
        i, extra, step = draw(st.integers(0, len(shape) - 1)), draw(st.integers(0, 2)), draw(st.sampled_from([1, 2]))
        start = draw(st.integers(0, extra))
        child = shape[:i] + (start + step * shape[i] + extra,) + shape[i + 1 :]
        index = (slice(None),) * i + (slice(start, start + step * shape[i], step),)
        return ("getitem", {"index": index}, [sub(child)])
    if kind == "fancy":
        k = side()
        index = np.array(draw(st.lists(st.integers(0, k - 1), min_size=shape[0], max_size=shape[0])))
        return ("getitem", {"index": index}, [sub((k,) + shape[1:])])
    if kind == "append_one":
        return ("append_one", {}, [sub(shape[:-1] + (shape[-1] - 1,))])
    if kind == "reshape":
        child = draw(st.sampled_from([(int(np.prod(shape)),), shape[::-1], shape + (1,)]))
        return ("reshape", {"shape": shape}, [sub(child)])
    perm = draw(st.permutations(range(len(shape))))  # transpose
    child = [0] * len(shape)
    for i, p in enumerate(perm):
        child[p] = shape[i]
    return ("transpose", {"axes": tuple(perm)}, [sub(tuple(child))])


@st.composite
def compositions(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    leaves: list[tuple[int, ...]] = []
    tree = _build(draw, shape, draw(st.integers(2, 5)), leaves, [], root=True)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = [rng.uniform(-1.5, 1.5, s) for s in leaves]
    return tree, values, rng.uniform(-1, 1, shape)


def evaluate(tree, env, apply, relu_args=None, memo=None):
    """Interpret ``tree``: ``apply(op, *children, **params)``; records relu arguments."""
    memo = {} if memo is None else memo
    if tree[0] == "var":
        return env[tree[1]]
    if tree[0] == "const":
        return tree[1]
    if id(tree) not in memo:
        op, params, children = tree
        args = [evaluate(c, env, apply, relu_args, memo) for c in children]
        if op == "relu" and relu_args is not None:
            relu_args.append(np.sign(args[0]))
        memo[id(tree)] = apply(op, *args, **params)
    return memo[id(tree)]


def ref_apply(op, *args, **params):
    return REF[op](*(np.asarray(a, dtype=np.float64) for a in args), **params)


@SETTINGS
@given(compositions())
def test_random_compositions_match_central_differences(case):
    tree, values, probe = case
    base_signs: list[np.ndarray] = []
    sizes: list[float] = []

    def ref_apply_recording(op, *args, **params):
        out = ref_apply(op, *args, **params)
        sizes.append(float(np.max(np.abs(out), initial=0.0)))
        return out

    def f(*xs):
        signs: list[np.ndarray] = []
        value = np.sum(evaluate(tree, list(xs), ref_apply, signs) * probe)
        if any(not np.array_equal(s, b) for s, b in zip(signs, base_signs)):
            raise Kink  # the difference straddles relu's kink: no derivative to compare
        return value

    try:  # the naive reference must not overflow: keep every intermediate |value| ≤ 1e4
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            base = evaluate(tree, values, ref_apply_recording, base_signs)
            assume(max(sizes) <= 1e4)
            fds = central_diff(f, values)
    except (Kink, FloatingPointError):
        assume(False)
    nodes = [ad.Node(v) for v in values]
    out = evaluate(tree, nodes, ad.apply)
    np.testing.assert_allclose(out.value, base, rtol=1e-12, atol=1e-12)
    out.backward(probe)
    scale = max(1.0, float(np.sum(np.abs(base * probe))))
    for node, fd in zip(nodes, fds):
        assert_close(node.grad, fd, scale)


# ---- jacobian -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ad.ACTIVATION_NAMES)
@settings(max_examples=15, deadline=None)
@given(z=hnp.arrays(np.float64, st.integers(1, 5), elements=away_from_0))
def test_activation_jacobian_is_diagonal_of_the_derivative(name, z):
    (J,) = ad.jacobian(ad.activation(name), z)
    (fd,) = central_diff(lambda a: REF[name](a), [z])
    assert J.shape == z.shape + z.shape
    assert_close(J, fd)
    assert np.count_nonzero(J - np.diag(np.diag(J))) == 0


@SETTINGS
@given(n=st.integers(1, 3), k=st.integers(1, 3), p=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_jacobian_of_a_matrix_valued_function(n, k, p, seed):
    rng = np.random.default_rng(seed)
    A, B = rng.normal(size=(n, k)), rng.normal(size=(k, p))
    fn = lambda a, b: ad.append_one(ad.tanh(a @ b) * a[:, :1])
    JA, JB = ad.jacobian(fn, A, B)
    fdA, fdB = central_diff(lambda a, b: REF["append_one"](np.tanh(a @ b) * a[:, :1]), [A, B])
    assert JA.shape == (n, p + 1, n, k) and JB.shape == (n, p + 1, k, p)
    assert_close(JA, fdA)
    assert_close(JB, fdB)


def test_jacobian_of_scalar_output_has_input_shape():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    (J,) = ad.jacobian(lambda a: (a * a).sum(), x)
    assert J.shape == x.shape
    np.testing.assert_allclose(J, 2 * x, rtol=1e-15)
    np.testing.assert_allclose(J, ad.grad(lambda a: (a * a).sum(), x)[0], rtol=1e-15)


# ---- the network --------------------------------------------------------------------------

PAIRS = [(h, o) for h in ad.ACTIVATION_NAMES for o in ad.ACTIVATION_NAMES]


def test_activation_names_match_the_harness():
    assert set(ad.ACTIVATION_NAMES) == set(ACTIVATIONS)


@pytest.mark.parametrize("hidden, output", PAIRS)
@settings(max_examples=8, deadline=None)
@given(d=st.integers(1, 3), m=st.integers(1, 3), n=st.none() | st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_network_gradients_match_central_differences(hidden, output, d, m, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(d,) if n is None else (n, d))
    y = rng.normal(size=() if n is None else (n,))
    w_h, theta = rng.normal(size=(d + 1, m)), rng.normal(size=m + 1)
    f = network.forward(x, y, w_h, theta, hidden=hidden, output=output)
    assume(hidden != "relu" or np.min(np.abs(f.pre_h)) >= 1e-3)  # away from relu's kink
    assume(output != "relu" or np.min(np.abs(f.pre_y)) >= 1e-3)
    g = ad.gradients(x, y, w_h, theta, hidden=hidden, output=output)
    fd_w, fd_t = central_diff(lambda w, t: network.loss(x, y, w, t, hidden=hidden, output=output), [w_h, theta])
    np.testing.assert_allclose(
        ad.network_loss(x, y, w_h, theta, hidden=hidden, output=output).value, f.loss, rtol=1e-13, atol=1e-15
    )
    scale = float(np.max(np.abs(f.l)))
    assert_close(g.w_h, fd_w, scale)
    assert_close(g.theta, fd_t, scale)


# ---- graph mechanics ---------------------------------------------------------------------


def test_shared_subexpression_accumulates():
    x = np.array([0.4, -1.1, 2.0])
    s = 1 / (1 + np.exp(-x))
    (g,) = ad.grad(lambda a: (lambda t: (t * t + t).sum())(ad.sigmoid(a)), x)  # t used three times
    np.testing.assert_allclose(g, (2 * s + 1) * s * (1 - s), rtol=1e-14)
    (g1,) = ad.grad(lambda a: (lambda t: (t * t).sum())(ad.sigmoid(a)), x)  # t pushed twice before expansion
    np.testing.assert_allclose(g1, 2 * s * s * (1 - s), rtol=1e-14)
    (g2,) = ad.grad(lambda a: (a * a * a).sum(), x)  # input used three times
    np.testing.assert_allclose(g2, 3 * x**2, rtol=1e-15)


def test_deep_chain_does_not_recurse():
    assert sys.getrecursionlimit() < 20_000

    def chain(x):
        y = x
        for _ in range(10_000):  # y_k = (y_{k-1} + x)/2 = x, dy/dx = 1 − 2^-k → 1
            y = (y + x) * 0.5
        return y.sum()

    (g,) = ad.grad(chain, np.array([0.7, -0.3]))
    np.testing.assert_allclose(g, [1.0, 1.0], rtol=1e-12)


def test_backward_twice_accumulates_into_leaves_only():
    x = ad.Node([1.0, 2.0])
    sq = x * x
    out = sq.sum()
    out.backward()
    out.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])  # leaves: two passes add up
    np.testing.assert_array_equal(sq.grad, [1.0, 1.0])  # interior: this pass only


def test_stable_sigmoid_and_softplus_at_extremes():
    z = np.array([-1e4, -40.0, 0.0, 40.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = ad.sigmoid(ad.Node(z)).value
        sp = ad.softplus(ad.Node(z)).value
        (gs,) = ad.grad(lambda a: ad.sigmoid(a).sum(), z)
        (gsp,) = ad.grad(lambda a: ad.softplus(a).sum(), z)
    np.testing.assert_allclose(s, [0, np.exp(-40) / (1 + np.exp(-40)), 0.5, 1 / (1 + np.exp(-40)), 1], rtol=1e-15)
    np.testing.assert_allclose(sp, [0, np.log1p(np.exp(-40)), np.log(2), 40, 1e4], rtol=1e-15)
    np.testing.assert_allclose(gs, [0, np.exp(-40), 0.25, np.exp(-40), 0], rtol=1e-12)  # both tails accurate
    np.testing.assert_allclose(gsp, s, rtol=1e-15)


def test_relu_derivative_at_zero_is_zero():
    (g,) = ad.grad(lambda a: ad.relu(a).sum(), np.array([-1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])


def test_ndarray_on_the_left_defers_to_node():
    a, x = np.array([1.0, 2.0]), ad.Node([3.0, 4.0])
    for out in (a + x, a - x, a * x, a @ x, 2.0 * x, 1.0 / x):
        assert isinstance(out, ad.Node)
    (g,) = ad.grad(lambda t: (np.array([1.0, 2.0]) @ t) / 2, np.array([3.0, 4.0]))
    np.testing.assert_allclose(g, [0.5, 1.0])


# ---- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: ad.apply("cosh", ad.Node(1.0)), ValueError, "op: unknown operation 'cosh'"),
        (lambda: ad.activation("gelu"), ValueError, "activation: expected one of"),
        (lambda: ad.network_loss(np.ones(2), 0.0, np.ones((3, 2)), np.ones(3), hidden="gelu"), ValueError, "hidden"),
        (lambda: ad.gradients(np.ones(2), 0.0, np.ones((3, 2)), np.ones(3), output=None), ValueError, "output"),
        (lambda: ad.gradients(np.ones(2), 0.0, np.ones((2, 2)), np.ones(3)), ValueError, "w_h"),
        (lambda: ad.gradients(np.ones(2), 0.0, np.ones((3, 2)), np.ones(2)), ValueError, "theta"),
        (lambda: ad.grad(lambda a: a * 2, np.ones(3)), ValueError, r"fn: grad needs a scalar output, got shape \(3,\)"),
        (lambda: ad.grad(lambda a: 1.0, np.ones(3)), TypeError, "fn: expected to return a Node"),
        (lambda: ad.grad(lambda: ad.Node(1.0)), ValueError, "arrays: expected at least one"),
        (lambda: ad.grad(lambda a: a.sum(), np.array([1.0, np.nan])), ValueError, r"arrays\[0\]"),
        (lambda: ad.grad(lambda a: a.sum(), "abc"), TypeError, r"arrays\[0\]"),
        (lambda: ad.Node(2.0) ** ad.Node(2.0), TypeError, "exponent"),
        (lambda: ad.Node([1.0, 2.0])[ad.Node(0.0)], TypeError, "index"),
        (lambda: (ad.Node([1.0, 2.0]) * 2).backward(), ValueError, "seed"),
        (lambda: (ad.Node([1.0, 2.0]) * 2).backward(np.ones(3)), ValueError, r"seed: expected shape \(2,\)"),
        (lambda: ad.Node([1.0]) + "abc", TypeError, "value: expected real numbers"),
        (lambda: ad.append_one(ad.Node(1.0)), ValueError, "append_one"),
    ],
)
def test_bad_input_raises_a_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
