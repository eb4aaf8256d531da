"""gradcheck.check / assert_gradient on anyone's function: dict, nested and list parameters, a
logistic regression and a two-layer tanh MLP with right and injected-wrong gradients (one entry
×1.01, a missing 1/n), kinks (relu), float32, vectorized f, and the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gradcheck
from gradcheck import assert_gradient, check
from gradcheck.checking.tolerance import compare, default_rtol
from gradcheck.general.params import flatten
from gradcheck.largescale.full import check_gradient_blackbox

RNG = np.random.default_rng(13)
N, D, M = 50, 4, 5
X = RNG.normal(size=(N, D))
Y_CLASS = (RNG.random(N) > 0.5).astype(float)
Y = RNG.normal(size=N)


class Counted:
    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, p):
        self.calls += 1
        return self.f(p)


# ---- logistic regression ---------------------------------------------------------------


def logistic(p):
    z = X @ p["w"] + p["b"]
    return np.mean(np.logaddexp(0.0, z) - Y_CLASS * z)


def logistic_grad(p, *, n=N):
    z = X @ p["w"] + p["b"]
    r = 1.0 / (1.0 + np.exp(-z)) - Y_CLASS
    return {"w": X.T @ r / n, "b": r.sum() / n}


LOGISTIC = {"w": RNG.normal(size=D), "b": 0.3}


def test_logistic_regression_right_gradient_passes_and_counts_every_evaluation():
    f = Counted(logistic)
    r = check(f, LOGISTIC, logistic_grad)
    assert r.passed and r.n_failed == 0 and r.n_entries == D + 1, r.summary
    assert r.evaluations == f.calls > 6 * (D + 1)  # six per entry (order-4 stencil), the rest checked
    assert r.rtol == default_rtol(np.float64)
    assert r.max_rel_error < 1e-9 and r.passed == r.details.passed
    assert {e.name for e in r.worst} <= {"w[0]", "w[1]", "w[2]", "w[3]", "b"}


def test_logistic_regression_one_entry_off_by_one_percent_is_named():
    g = logistic_grad(LOGISTIC)
    g["w"][2] *= 1.01
    r = check(logistic, LOGISTIC, g)
    assert not r.passed and r.n_failed == 1
    worst = r.worst[0]
    assert worst.name == "w[2]" and not worst.passed
    assert worst.rel_error == pytest.approx(0.01, rel=1e-6)
    assert worst.abs_error == abs(worst.analytic - worst.numeric) > worst.tolerance > 0
    assert worst.analytic == g["w"][2] and worst.numeric == pytest.approx(g["w"][2] / 1.01, rel=1e-10)
    assert all(e.passed for e in r.worst[1:])


def test_a_missing_one_over_n_fails_every_entry_with_its_relative_error():
    """The gradient is N = 50 times too large: relative error 49 on every entry (the black-box
    check used to report max_rel_error 0.0 here, every entry counted 'unresolvable')."""
    r = check(logistic, LOGISTIC, lambda p: logistic_grad(p, n=1))
    assert not r.passed and r.n_failed == D + 1
    assert r.max_rel_error == pytest.approx(N - 1, rel=1e-8)
    assert all(e.rel_error == pytest.approx(N - 1, rel=1e-8) and e.abs_error > 0 for e in r.worst)
    assert r.details.comparison.max_rel_error == pytest.approx(N - 1, rel=1e-8)


def test_blackbox_failing_check_reports_the_relative_error():
    tree, p0 = flatten(LOGISTIC)
    f = lambda rows: np.array([logistic(tree.build(row)) for row in rows])
    g, _ = tree.match(logistic_grad(LOGISTIC, n=1))
    res = check_gradient_blackbox(f, p0, g)
    assert not res.passed and res.comparison.max_rel_error == pytest.approx(N - 1, rel=1e-8)
    right, _ = tree.match(logistic_grad(LOGISTIC))
    assert check_gradient_blackbox(f, p0, right).passed


def test_compare_reports_relative_error_of_failing_entries_only_beyond_resolvable_ones():
    """An entry whose tolerance is set by the error bar (not the scale): rel 0 while it passes,
    its relative error once it fails; the verdicts (the tolerance) are unchanged."""
    r, e = np.array([1.0, 2.0]), np.array([1e-6, 1e-6])
    ok = compare(np.array([1.0 + 1e-7, 2.0]), r, error=e)
    assert ok.passed and ok.max_rel_error == 0.0
    bad = compare(np.array([1.5, 2.0]), r, error=e)
    assert not bad.passed and bad.failed == ("[0]",) and bad.max_rel_error == pytest.approx(0.5)


# ---- two-layer tanh MLP -----------------------------------------------------------------


def mlp(p):
    h = np.tanh(X @ p["W1"] + p["b1"])
    return 0.5 * np.mean((h @ p["W2"] + p["b2"] - Y) ** 2)


def mlp_grad(p, *, n=N):
    z = X @ p["W1"] + p["b1"]
    h = np.tanh(z)
    r = (h @ p["W2"] + p["b2"] - Y) / n
    dz = np.outer(r, p["W2"]) * (1 - h**2)
    return {"W1": X.T @ dz, "b1": dz.sum(axis=0), "W2": h.T @ r, "b2": r.sum()}


MLP = {"W1": RNG.normal(size=(D, M)), "b1": 0.1 * RNG.normal(size=M), "W2": RNG.normal(size=M), "b2": 0.1}


def test_mlp_right_gradient_passes():
    r = assert_gradient(mlp, MLP, mlp_grad)
    assert r.passed and r.n_entries == D * M + 2 * M + 1
    assert r.summary.startswith(f"gradient check passed: {D * M + 2 * M + 1} entries agree")


def test_mlp_wrong_entry_raises_with_the_summary_naming_it():
    g = mlp_grad(MLP)
    g["W1"][0, 2] *= 1.01
    with pytest.raises(AssertionError) as info:
        assert_gradient(mlp, MLP, g)
    r = check(mlp, MLP, g)
    assert str(info.value) == r.summary == str(r)
    assert r.n_failed == 1 and r.worst[0].name == "W1[0, 2]" and "FAIL W1[0, 2]" in r.summary
    assert r.worst[0].rel_error == pytest.approx(0.01, rel=1e-6)


def test_mlp_missing_one_over_n_fails_everywhere():
    r = check(mlp, MLP, mlp_grad(MLP, n=1))
    assert r.n_failed == r.n_entries and r.max_rel_error == pytest.approx(N - 1, rel=1e-6)
    lines = str(r).splitlines()
    assert len(lines) == 1 + 5 + 1  # the head line, the five worst entries, how many more
    assert lines[-1] == f"  … and {r.n_entries - 5} more failing entries (n_worst=5)"


def test_vectorized_f_gives_the_same_verdicts_and_counts():
    split = np.cumsum([D * M, M, M])

    def stacked(P):
        W1, b1, W2, b2 = np.split(P, split, axis=1)
        h = np.tanh(np.einsum("nd,kdm->knm", X, W1.reshape(-1, D, M)) + b1[:, None, :])
        return 0.5 * np.mean((np.einsum("knm,km->kn", h, W2) + b2 - Y) ** 2, axis=1)

    g = mlp_grad(MLP)
    g["b1"][3] *= 1.01
    plain, fast = check(mlp, MLP, g), check(stacked, MLP, g, vectorized=True)
    assert fast.worst[0].name == plain.worst[0].name == "b1[3]"
    assert fast.n_failed == plain.n_failed == 1 and fast.evaluations == plain.evaluations
    np.testing.assert_allclose(fast.details.reference, plain.details.reference, rtol=1e-9)


# ---- structures and names ---------------------------------------------------------------


def _layers_loss(p):
    (l0, l1) = p["layers"]
    h = np.tanh(X @ l0["W"] + l0["b"])
    return 0.5 * np.mean((h @ l1["W"] + l1["b"] - Y) ** 2)


def _layers_grad(p, *, n=N):
    l0, l1 = p["layers"]
    z = X @ l0["W"] + l0["b"]
    h = np.tanh(z)
    r = (h @ l1["W"] + l1["b"] - Y) / n
    dz = np.outer(r, l1["W"]) * (1 - h**2)
    return {"layers": [{"W": X.T @ dz, "b": dz.sum(axis=0)}, {"W": h.T @ r, "b": np.array([r.sum()])}]}


LAYERS = {"layers": [{"W": MLP["W1"], "b": MLP["b1"]}, {"W": MLP["W2"], "b": np.array([0.1])}]}


def test_nested_dicts_and_lists_are_named_by_path():
    assert check(_layers_loss, LAYERS, _layers_grad).passed
    g = _layers_grad(LAYERS)
    g["layers"][1]["b"][0] *= 1.01
    r = check(_layers_loss, LAYERS, g)
    assert r.n_failed == 1 and r.worst[0].name == "layers[1].b[0]"
    g = _layers_grad(LAYERS)
    g["layers"][0]["W"][3, 1] *= 1.01
    r = check(_layers_loss, LAYERS, g)
    assert r.n_failed == 1 and r.worst[0].name == "layers[0].W[3, 1]"


def test_a_top_level_list_of_arrays_and_a_bare_array():
    as_list = [MLP["W1"], MLP["b1"], MLP["W2"], MLP["b2"]]
    keys = ["W1", "b1", "W2", "b2"]
    loss = lambda p: mlp(dict(zip(keys, p)))
    grad = lambda p: [mlp_grad(dict(zip(keys, p)))[k] for k in keys]
    assert check(loss, as_list, grad).passed
    g = grad(as_list)
    g[0][1, 2] *= 1.01
    r = check(loss, as_list, g)
    assert r.n_failed == 1 and r.worst[0].name == "[0][1, 2]"
    w = LOGISTIC["w"]
    bare = lambda v: logistic({"w": v, "b": 0.3})
    g = logistic_grad({"w": w, "b": 0.3})["w"]
    assert check(bare, w, g).passed
    g[1] *= 1.01
    r = check(bare, list(w), list(g))  # plain lists are arrays
    assert r.n_failed == 1 and r.worst[0].name == "p[1]"


def test_flatten_and_build_round_trip_keep_the_structure():
    params = {"a": [np.arange(6.0).reshape(2, 3), {"c": 2.5}], "t": (np.ones(2), np.zeros(1))}
    tree, p = flatten(params)
    assert p.dtype == np.float64 and p.size == 6 + 1 + 2 + 1
    back = tree.build(p)
    assert isinstance(back["a"], list) and isinstance(back["t"], tuple)
    np.testing.assert_array_equal(back["a"][0], params["a"][0])
    assert back["a"][1]["c"] == 2.5 and np.ndim(back["a"][1]["c"]) == 0
    assert [tree.name(i) for i in (0, 5, 6, 7, 9)] == ["a[0][0, 0]", "a[0][1, 2]", "a[1].c", "t[0][0]", "t[1][0]"]


# ---- kinks ------------------------------------------------------------------------------


def relu_loss(p):
    h = np.maximum(X @ p["W1"] + p["b1"], 0.0)
    return 0.5 * (h @ p["W2"] + p["b2"] - Y) ** 2  # per-sample terms


def relu_grad(p, *, slope_at_0=0.0):
    z = X @ p["W1"] + p["b1"]
    h = np.maximum(z, 0.0)
    r = (h @ p["W2"] + p["b2"] - Y) / N
    dz = np.outer(r, p["W2"]) * np.where(z > 0, 1.0, np.where(z == 0, slope_at_0, 0.0))
    return {"W1": X.T @ dz, "b1": dz.sum(axis=0), "W2": h.T @ r, "b2": r.sum()}


def _one_kink():
    p = {k: np.array(v, dtype=float) for k, v in MLP.items()}
    p["W1"][:, 2] = [0.5, 0.0, 0.0, 0.0]
    p["b1"][2] = -0.5 * X[3, 0]
    assert (X @ p["W1"] + p["b1"])[3, 2] == 0.0  # sample 3 sits exactly on hidden unit 2's kink
    return p


def test_a_kink_of_a_scalar_f_accepts_either_one_sided_derivative_and_nothing_else():
    p = _one_kink()
    f = lambda q: np.mean(relu_loss(q))
    for slope in (0.0, 1.0):  # relu'(0) = 0 or 1: the left or the right derivative
        r = check(f, p, relu_grad(p, slope_at_0=slope))
        assert r.passed and r.n_kinks >= 1, r.summary
    g = relu_grad(p)
    g["b1"][2] += 0.5  # far outside [left, right]
    r = check(f, p, g)
    assert not r.passed and r.worst[0].name == "b1[2]"


def test_all_samples_at_a_kink_per_sample_terms_judge_each_sample():
    """A dead hidden unit (its weights and bias 0): every sample sits on the kink.  For the scalar
    loss the one-sided derivatives L, R along W1[k, 1] sum the samples with X[:, k] > 0 and < 0
    apart, and relu'(0) = 0 gives 0, outside [L, R] where they have one sign: that is what a
    scalar f shows.  With the per-sample terms, 0 lies in every sample's interval: it passes."""
    p = {k: np.array(v, dtype=float) for k, v in MLP.items()}
    p["W1"][:, 1], p["b1"][1] = 0.0, 0.0
    g = relu_grad(p)
    r_terms = check(relu_loss, p, g, per_sample=True)
    assert r_terms.passed and r_terms.n_kinks == D + 1, r_terms.summary
    r = (np.maximum(X @ p["W1"] + p["b1"], 0.0) @ p["W2"] + p["b2"] - Y) / N
    c = r * p["W2"][1]
    one_sided = [(np.sum(c * X[:, k] * (X[:, k] > 0)), np.sum(c * X[:, k] * (X[:, k] < 0))) for k in range(D)]
    outside = {f"W1[{k}, 1]" for k, (R, L) in enumerate(one_sided) if not min(L, R) <= 0.0 <= max(L, R)}
    outside |= {"b1[1]"} if not min(np.sum(c), 0.0) <= 0.0 <= max(np.sum(c), 0.0) else set()
    scalar = check(lambda q: np.mean(relu_loss(q)), p, g, n_worst=50)
    assert outside and {e.name for e in scalar.worst if not e.passed} == outside
    # every sample's one-sided term derivatives come from one evaluation of f per point, not one per
    # sample (N = 50 times as many)
    assert r_terms.evaluations < 2 * scalar.evaluations < r_terms.details.evaluations
    wrong = relu_grad(p)
    wrong["W1"][0, 1] += 1.0 + np.mean(np.abs(N * c * X[:, 0]))  # beyond the per-sample interval's width
    bad = check(relu_loss, p, wrong, per_sample=True)
    assert bad.n_failed == 1 and bad.worst[0].name == "W1[0, 1]"


# ---- float32 ------------------------------------------------------------------------------


X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
MLP32 = {k: np.asarray(v, dtype=np.float32) for k, v in MLP.items()}


def mlp_grad32(p):
    z = X32 @ p["W1"] + p["b1"]
    h = np.tanh(z)
    r = (h @ p["W2"] + p["b2"] - Y32) / np.float32(N)
    dz = np.outer(r, p["W2"]) * (1 - h * h)
    return {"W1": X32.T @ dz, "b1": dz.sum(axis=0), "W2": h.T @ r, "b2": r.sum()}


def test_float32_gradient_is_judged_at_float32_precision():
    g = mlp_grad32(MLP32)
    assert all(np.asarray(v).dtype == np.float32 for v in g.values())
    r = check(mlp, MLP32, g)
    assert r.passed and r.rtol == default_rtol(np.float32), r.summary
    assert r.max_rel_error > 1e-9  # float32's rounding: it would fail at float64's rtol
    assert not check(mlp, MLP32, g, rtol=default_rtol(np.float64)).passed
    g["W1"][0, 2] *= 1.01
    r = check(mlp, MLP32, g)
    assert r.n_failed == 1 and r.worst[0].name == "W1[0, 2]"


def test_float32_f_gets_float32_rounding_in_its_error_bound():
    """f computing in float32 inside: its rounding (eps32·|f| per evaluation) enters the error
    bound, which then resolves about 1e-3 of the larger entries (the engine's steps are sized
    for float64): the right gradient passes, 1 % off the largest entry fails."""

    def mlp32(p):
        q = {k: np.asarray(v, dtype=np.float32) for k, v in p.items()}
        h = np.tanh(X32 @ q["W1"] + q["b1"])
        return np.float32(0.5) * np.mean((h @ q["W2"] + q["b2"] - Y32) ** 2)

    assert np.asarray(mlp32(MLP32)).dtype == np.float32
    right = check(mlp32, MLP32, mlp_grad32(MLP32))
    assert right.passed and np.max(right.details.error / np.abs(right.details.reference)) > 1e-6
    g = mlp_grad32(MLP32)
    k = np.unravel_index(np.argmax(np.abs(g["W1"])), g["W1"].shape)
    g["W1"][k] *= 1.01
    r = check(mlp32, MLP32, g)
    assert r.n_failed == 1 and r.worst[0].name == f"W1[{k[0]}, {k[1]}]"


# ---- the report ---------------------------------------------------------------------------


def test_report_of_an_entry_whose_reference_is_zero_carries_its_absolute_error():
    f = lambda w: float(w[0] ** 2 + 3 * w[1])  # w[2] unused: its derivative is exactly 0
    w = np.array([0.5, -1.0, 2.0])
    r = check(f, w, np.array([1.0, 3.0, 1e-3]))
    assert r.n_failed == 1
    e = r.worst[0]
    assert e.name == "p[2]" and e.numeric == 0.0 and e.rel_error is None and e.abs_error == 1e-3 > e.tolerance
    assert "abs error 1.00e-03 (" in r.summary and "rel" not in r.summary.splitlines()[1]
    d = r.to_dict()
    json.dumps(d)
    assert d["passed"] is False and d["worst"][0]["rel_error"] is None and d["worst"][0]["name"] == "p[2]"
    assert set(d) == set(r._fields) - {"details"}
    assert repr(r) == "<GradientReport FAILED: 1 of 3 failed>"


def test_an_entry_without_reference_fails_and_says_why():
    """f is not finite on one side of w[0] (sqrt of a negative number within the steps)."""
    f = lambda w: float(np.sqrt(w[0]) + w[1] ** 2)
    w = np.array([1e-3, 0.5])
    with np.errstate(invalid="ignore"):
        r = check(f, w, np.array([0.5 / np.sqrt(1e-3), 1.0]))
    assert not r.passed and r.n_failed == 1 and r.worst[0].name == "p[0]" and r.worst[1].passed
    assert "the loss was not finite near p[0]" in r.summary and "no reference" in r.summary.splitlines()[1]
    assert r.max_abs_error < 1e-9 and r.to_dict()["worst"][0]["numeric"] is None


def test_report_tolerance_is_the_engines():
    r = check(mlp, MLP, mlp_grad)
    for e in r.worst:
        i = next(j for j in range(r.n_entries) if r.details.reference[j] == e.numeric)
        assert e.tolerance == r.details.tolerance[i] and e.error_bound == r.details.error[i]


def test_public_api():
    assert {"check", "assert_gradient", "GradientReport"} <= set(gradcheck.__all__)
    assert gradcheck.check is check and isinstance(check(logistic, LOGISTIC, logistic_grad), gradcheck.GradientReport)
    assert "|a_i − r_i| ≤ rtol · max(|r_i|, floor · max_j |r_j|) + safety · e_i" in check.__doc__
