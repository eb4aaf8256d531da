"""gradcheck.check's inputs: torch and jax arrays (when installed), and every bad input — a clear
ValueError/TypeError naming it, before any evaluation of f beyond the one that shows it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from gradcheck import check
from gradcheck.checking.tolerance import default_rtol

RNG = np.random.default_rng(7)
X = RNG.normal(size=(12, 3))
Y = RNG.normal(size=12)
PARAMS = {"W1": RNG.normal(size=(3, 4)), "b": RNG.normal(size=4)}


class Counted:
    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, p):
        self.calls += 1
        return self.f(p)


def loss(p):
    return 0.5 * np.mean((np.tanh(X @ p["W1"] + p["b"]).sum(axis=1) - Y) ** 2)


def grad(p):
    z = X @ p["W1"] + p["b"]
    dz = ((np.tanh(z).sum(axis=1) - Y) / len(Y))[:, None] * (1 - np.tanh(z) ** 2)
    return {"W1": X.T @ dz, "b": dz.sum(axis=0)}


def test_the_fixture_is_right():
    assert check(loss, PARAMS, grad).passed


# ---- torch / jax ----------------------------------------------------------------------------


def _torch_problem(dtype):
    torch = pytest.importorskip("torch")
    Xt, Yt = torch.as_tensor(X, dtype=dtype), torch.as_tensor(Y, dtype=dtype)

    def loss_t(p):
        return 0.5 * ((torch.tanh(Xt @ p["W1"] + p["b"]).sum(dim=1) - Yt) ** 2).mean()

    params = {k: torch.as_tensor(v, dtype=dtype).requires_grad_(True) for k, v in PARAMS.items()}
    grads = dict(zip(params, torch.autograd.grad(loss_t(params), list(params.values()))))
    f = lambda p: loss_t({k: torch.as_tensor(v, dtype=dtype) for k, v in p.items()})  # returns a 0-d tensor
    return torch, f, params, grads


def test_torch_tensors_that_require_grad_are_accepted():
    torch, f, params, grads = _torch_problem(torch_dtype("float64"))
    r = check(f, params, grads)
    assert r.passed and r.rtol == default_rtol(np.float64), r.summary
    grads["W1"] = grads["W1"].clone()
    grads["W1"][2, 1] *= 1.01
    r = check(f, params, grads)
    assert r.n_failed == 1 and r.worst[0].name == "W1[2, 1]"


def test_torch_float32_is_judged_at_float32_precision():
    torch, f, params, grads = _torch_problem(torch_dtype("float32"))
    r = check(f, params, grads)
    assert r.passed and r.rtol == default_rtol(np.float32), r.summary
    k = int(torch.argmax(grads["b"].abs()))
    grads["b"] = grads["b"].clone()
    grads["b"][k] *= 1.01
    r = check(f, params, grads)
    assert r.n_failed == 1 and r.worst[0].name == f"b[{k}]", r.summary


def torch_dtype(name):
    torch = pytest.importorskip("torch")
    return getattr(torch, name)


JAX_SCRIPT = """
import sys

import numpy as np
import jax
import jax.numpy as jnp

from gradcheck import check

FACTOR = float(sys.argv[1])
from gradcheck.checking.tolerance import default_rtol

rng = np.random.default_rng(7)
X, Y = rng.normal(size=(12, 3)), rng.normal(size=12)
PARAMS = {"W1": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
Xj, Yj = jnp.asarray(X), jnp.asarray(Y)


def loss_j(p):
    return 0.5 * jnp.mean((jnp.tanh(Xj @ p["W1"] + p["b"]).sum(axis=1) - Yj) ** 2)


params = {k: jnp.asarray(v) for k, v in PARAMS.items()}
f = jax.jit(loss_j)  # compiled once: f is evaluated a few hundred times
r = check(f, params, jax.grad(loss_j))  # float32 unless jax_enable_x64: judged as float32
dtype = np.dtype(jnp.asarray(PARAMS["b"]).dtype)
assert r.passed and r.rtol == default_rtol(dtype), r.summary
g = {k: np.array(v) for k, v in jax.grad(loss_j)(params).items()}
k = int(np.argmax(np.abs(g["W1"])))
g["W1"].flat[k] *= FACTOR
r = check(f, params, g)
assert r.n_failed == 1 and r.worst[0].name == "W1[{}, {}]".format(*np.unravel_index(k, (3, 4))), r.summary
print("ok")
"""


@pytest.mark.parametrize(("x64", "factor"), [(False, 1.1), (True, 1.01)])
def test_jax_arrays_and_jax_grad(x64, factor):
    """In a child process: jax starts threads, and later tests fork (a fork after jax may deadlock).
    Without x64, jax computes f in float32: the right gradient passes at float32's rtol and the error
    bound carries f's float32 rounding (about 1e-2 of an entry here), so the injected error is 10 %."""
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax not installed")
    env = {**os.environ, "JAX_ENABLE_X64": "1" if x64 else "0", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT, str(factor)], capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


# ---- bad input ------------------------------------------------------------------------------


def test_non_scalar_f_after_one_evaluation():
    f = Counted(lambda p: X @ p["W1"][:, 0])
    with pytest.raises(ValueError, match=r"f: expected a scalar, got shape \(12,\) \(per-sample terms whose mean"):
        check(f, PARAMS, grad)
    assert f.calls == 1


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_f(value):
    f = Counted(lambda p: value)
    with pytest.raises(ValueError, match=f"f: expected a finite value at params, got {value!r}"):
        check(f, PARAMS, grad)
    assert f.calls == 1


def test_f_not_a_number_or_not_callable():
    with pytest.raises(TypeError, match="f: expected a real number, got str"):
        check(lambda p: "1.0", PARAMS, grad)
    with pytest.raises(TypeError, match="f: expected a real number, got complex"):
        check(lambda p: 1j, PARAMS, grad)
    with pytest.raises(TypeError, match="f: expected a callable, got float"):
        check(1.0, PARAMS, grad)


def test_vectorized_f_of_the_wrong_shape():
    f = Counted(lambda rows: rows.sum(axis=1, keepdims=True))  # (k, 1), not (k,)
    with pytest.raises(ValueError, match=r"f: expected shape \(1,\) for a \(1, P\) stack \(vectorized=True\), got"):
        check(f, PARAMS, grad, vectorized=True)
    assert f.calls == 1
    with pytest.raises(ValueError, match=r"f: expected shape \(n,\): one term per sample \(per_sample=True\)"):
        check(loss, PARAMS, grad, per_sample=True)


@pytest.mark.parametrize(
    ("bad", "message", "error"),
    [
        (
            {"W1": np.zeros((4, 3)), "b": np.zeros(4)},
            r"grad\['W1'\]: expected shape \(3, 4\), got \(4, 3\)",
            ValueError,
        ),
        (
            {"W1": np.zeros((3, 4))},
            r"grad: expected the keys of the parameters \['W1', 'b'\]; missing \['b'\]",
            ValueError,
        ),
        (
            {"W1": np.zeros((3, 4)), "b": np.zeros(4), "c": 1.0},
            r"grad: expected the keys .*; unexpected \['c'\]",
            ValueError,
        ),
        (
            {"W1": np.zeros((3, 4)), "b": np.full(4, np.nan)},
            r"grad\['b'\]: expected finite values, got nan",
            ValueError,
        ),
        ({"W1": np.zeros((3, 4)), "b": "zeros"}, r"grad\['b'\]: expected an array of real numbers, got str", TypeError),
        ([np.zeros((3, 4)), np.zeros(4)], r"grad: expected a dict with keys \['W1', 'b'\], got list", TypeError),
        (None, r"grad: expected a dict with keys", TypeError),
    ],
)
def test_grad_that_differs_from_params_names_the_entry_before_any_evaluation(bad, message, error):
    f = Counted(loss)
    with pytest.raises(error, match=message):
        check(f, PARAMS, bad)
    with pytest.raises(error, match=message):
        check(f, PARAMS, lambda p: bad)  # a callable returning it
    assert f.calls == 0


def test_nested_grad_errors_name_the_path():
    params = {"layers": [{"W": np.ones((2, 2))}, {"W": np.ones(3)}]}
    f = Counted(lambda p: float(np.sum(p["layers"][0]["W"]) + np.sum(p["layers"][1]["W"])))
    with pytest.raises(ValueError, match=r"grad\['layers'\]\[1\]\['W'\]: expected shape \(3,\), got \(2,\)"):
        check(f, params, {"layers": [{"W": np.ones((2, 2))}, {"W": np.ones(2)}]})
    with pytest.raises(ValueError, match=r"grad\['layers'\]: expected a list of 2 entries, got 1"):
        check(f, params, {"layers": [{"W": np.ones((2, 2))}]})
    with pytest.raises(TypeError, match=r"grad\['layers'\]\[0\]: expected a dict with keys \['W'\], got ndarray"):
        check(f, params, {"layers": [np.ones((2, 2)), {"W": np.ones(3)}]})
    with pytest.raises(ValueError, match=r"grad: expected shape \(3,\), got \(4,\)"):
        check(lambda w: float(np.sum(w)), np.ones(3), np.ones(4))
    assert f.calls == 0


@pytest.mark.parametrize(
    ("params", "message", "error"),
    [
        (
            {"W1": np.where(np.eye(3, 4) > 0, np.nan, 0.0), "b": np.zeros(4)},
            r"params\['W1'\]: expected finite values, got nan at params\['W1'\]\[0, 0\]",
            ValueError,
        ),
        (
            {"W1": np.zeros((3, 4)), "b": [0.0, np.inf, 0.0, 0.0]},
            r"params\['b'\]: expected finite values, got inf",
            ValueError,
        ),
        (
            {"W1": np.zeros((3, 4)), "b": np.zeros(4, complex)},
            r"params\['b'\]: expected a real numeric array",
            TypeError,
        ),
        ({"W1": np.zeros((3, 0)), "b": np.zeros(4)}, r"params\['W1'\]: expected at least one entry", ValueError),
        ({}, r"params: expected a non-empty dict of arrays", ValueError),
        ("weights", r"params: expected an array of real numbers, got str", TypeError),
    ],
)
def test_bad_params_before_any_evaluation(params, message, error):
    f = Counted(loss)
    with pytest.raises(error, match=message):
        check(f, params, grad)
    assert f.calls == 0


@pytest.mark.parametrize(
    ("options", "message", "error"),
    [
        (dict(vectorized=1), "vectorized: expected True or False, got 1", TypeError),
        (dict(per_sample="yes"), "per_sample: expected True or False, got 'yes'", TypeError),
        (dict(rtol=-1e-6), "rtol: expected a positive finite number or None, got -1e-06", ValueError),
        (dict(rtol=0.0), "rtol: expected a positive finite number or None, got 0.0", ValueError),
        (dict(rtol=float("nan")), "rtol: expected a positive finite number or None, got nan", ValueError),
        (dict(rtol="1e-6"), "rtol: expected a positive finite number or None, got '1e-6'", TypeError),
        (dict(noise=-1.0), "noise: expected a non-negative finite number or None, got -1.0", ValueError),
        (dict(n_worst=0), "n_worst: expected a positive integer, got 0", ValueError),
        (dict(tolerance=1e-6), "unexpected keyword argument 'tolerance'", TypeError),
    ],
)
def test_options_are_validated_up_front(options, message, error):
    f = Counted(loss)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        check(f, PARAMS, grad, **options)
    assert f.calls == 0


def test_positional_options_are_refused():
    with pytest.raises(TypeError):
        check(loss, PARAMS, grad, True)
