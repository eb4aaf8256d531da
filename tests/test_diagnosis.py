"""Diagnosis: right gradients are never blamed, catalogue mistakes are named, shapes and
patterns are described in the spec's terms.  The 1000-case accuracy run is marked slow
(``pytest -m slow tests/test_diagnosis.py``; also ``gradcheck accuracy``, which writes
reports/diagnosis.md)."""

import inspect

import numpy as np
import pytest

from gradcheck.diagnosis.accuracy import accuracy, random_problem
from gradcheck.diagnosis.diagnose import Diagnosis, diagnose
from gradcheck.mistakes import catalogue as mistakes
from gradcheck.model import formulas
from gradcheck.oracles import autodiff
from gradcheck.reports.diagnosis import diagnosis_text

KW = dict(hidden="tanh", output="sigmoid")


def _problem(seed=0, d=3, m=2):
    rng = np.random.default_rng(seed)
    return rng.normal(size=d), 0.3, rng.normal(size=(d + 1, m)), rng.normal(size=m + 1)


def _wrong(mistake_id, args, **kw):
    return mistakes.formula_set(mistake_id).gradients(*args, **(kw or KW))


def test_the_signature_is_the_published_one():
    params = inspect.signature(diagnose).parameters
    assert list(params) == ["observed", "x", "y", "w_h", "theta", "hidden", "output"]
    assert params["hidden"].kind is inspect.Parameter.KEYWORD_ONLY and params["hidden"].default == "sigmoid"
    assert Diagnosis._fields == ("correct", "blocks", "mistakes", "patterns", "summary")


@pytest.mark.parametrize("seed", range(40))
def test_right_gradients_are_right_and_name_no_mistake(seed):
    x, y, w_h, theta, hidden, output = random_problem(np.random.default_rng(seed))
    kw = dict(hidden=hidden, output=output)
    for g in (formulas.gradients(x, y, w_h, theta, **kw), autodiff.gradients(x, y, w_h, theta, **kw)):
        d = diagnose(g, x, y, w_h, theta, **kw)
        assert d.correct and not d.mistakes and not d.blocks and not d.patterns, d


@pytest.mark.parametrize("mistake_id", mistakes.REQUIRED)
def test_every_listed_mistake_is_named_on_random_problems(mistake_id):
    a = accuracy(cases=40, seed=7, ids=[mistake_id])
    assert a.scored >= 20 and a.top1 == a.scored, a.misses
    assert a.control_false_alarms == 0


def test_accuracy_on_random_cases_quick():
    a = accuracy(cases=150, seed=3)
    assert a.top1_rate >= 0.95 and a.control_false_alarms == 0, a.misses


@pytest.mark.slow
def test_accuracy_on_1000_random_cases():
    a = accuracy(cases=1000, seed=0)
    assert a.top1_rate >= 0.95 and a.control_false_alarms == 0, a.misses


def test_messages_name_the_block_and_the_mistake():
    args = _problem()
    d = diagnose(_wrong("bias_dropped_w_h", args), *args, **KW)
    assert not d.correct and "bias row is missing" in d.blocks[0]
    assert d.mistakes[0].id == "bias_dropped_w_h" and "x was used instead of x̄" in d.mistakes[0].message
    assert "∇w_h is the right one without its bias row" in d.patterns
    d = diagnose(_wrong("bias_zeroed_theta", args), *args, **KW)
    assert d.blocks == ("∇θ: the bias entry θ[bias] is 0; θ[0..m−1] are right",)
    d = diagnose(_wrong("bias_zeroed_w_h", args), *args, **KW)
    assert d.blocks == ("∇w_h: the bias row is 0; the other rows are right",)
    assert d.mistakes[0].factor == "∂pre_h/∂c = M_{n_c}"


@pytest.mark.parametrize(
    "mistake_id,pattern",
    [
        ("loss_factor_two", "×2"),
        ("sign_flipped", "×−1"),
        ("loss_derivative_halved", "×0.5"),
        ("jacobian_not_transposed", "transpose"),
        ("entries_scrambled", "reshaped instead of transposed"),
        ("bias_prepended", "bias row moved first"),
        ("missing_residual", "1/(ŷ − y)"),
        ("missing_output_derivative", "1/σ'(pre_y)"),
    ],
)
def test_plain_patterns(mistake_id, pattern):
    args = _problem(seed=1, d=2, m=3)
    d = diagnose(_wrong(mistake_id, args), *args, **KW)
    assert any(pattern in p for p in d.patterns), d.patterns


def test_finite_differences_are_recognised_as_an_approximation():
    x, y, w_h, theta = _problem(seed=2)
    flat = np.concatenate([w_h.ravel(), theta])

    def loss(p):
        return float(formulas.forward(x, y, p[: w_h.size].reshape(w_h.shape), p[w_h.size :], **KW).l)

    h = 1e-6
    g = np.array([(loss(flat + h * e) - loss(flat - h * e)) / (2 * h) for e in np.eye(flat.size)])
    d = diagnose((g[: w_h.size].reshape(w_h.shape), g[w_h.size :]), x, y, w_h, theta, **KW)
    assert not d.correct and not [m for m in d.mistakes if m.full]
    assert any("typical of finite differences" in p for p in d.patterns), d.patterns


def test_sigma_one_minus_sigma_rounding_is_recognised():
    # pre_y ≈ 25: σ(pre_y)(1 − σ(pre_y)) keeps ~2 digits, σ' computed stably keeps all
    x, y, w_h = np.array([1.0]), 0.2, np.array([[1.0], [0.0]])
    theta = np.array([1.0, 24.27])
    sig = lambda z: 1 / (1 + np.exp(-z))
    f = formulas.forward(x, y, w_h, theta)
    k = (f.y_hat - y) * f.y_hat * (1 - f.y_hat)
    u = theta[:-1] * sig(f.pre_h) * (1 - sig(f.pre_h))
    observed = (k * np.outer(f.x_bar, u), k * f.h_bar)
    d = diagnose(observed, x, y, w_h, theta)
    assert not d.correct and any("σ(z)(1 − σ(z))" in p for p in d.patterns), d


def test_batches_are_compared_with_the_mean_gradient():
    rng = np.random.default_rng(4)
    X, Y, w_h, theta = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=(3, 2)), rng.normal(size=3)
    assert diagnose(formulas.batch_gradients(X, Y, w_h, theta, **KW), X, Y, w_h, theta, **KW).correct
    d = diagnose(mistakes.formula_set("batch_sum").batch_gradients(X, Y, w_h, theta, **KW), X, Y, w_h, theta, **KW)
    assert [m.id for m in d.mistakes] == ["batch_sum"] and any("×3" in p for p in d.patterns)


def test_garbage_does_not_crash_and_bad_calls_name_the_argument():
    args = _problem()
    d = diagnose(([[1.0, 2.0], [3.0]], "theta?"), *args, **KW)
    assert not d.correct and "not an array of finite numbers" in d.blocks[0]
    assert "Wrong parts" in diagnosis_text(d)
    with pytest.raises(TypeError, match="observed"):
        diagnose(3.0, *args, **KW)
    with pytest.raises(ValueError, match="w_h"):
        diagnose(formulas.gradients(*args, **KW), args[0], args[1], args[2][:1], args[3], **KW)


def test_ties_are_reported_together():
    """σ_y = identity: dropping σ'(pre_y) changes nothing, so derivative_at_activation ≡ its hidden half."""
    args = _problem(seed=5)
    kw = dict(hidden="tanh", output="identity")
    d = diagnose(_wrong("derivative_at_activation_hidden", args, **kw), *args, **kw)
    assert {m.id for m in d.mistakes} == {"derivative_at_activation", "derivative_at_activation_hidden"}
    assert "same gradient on this example" in d.summary


def _student(x, y, w_h, theta, *, half=True, x_bar_bias=True, h_bar_bias=True):
    """A student's loop-by-loop sigmoid/sigmoid gradient, independent of gradcheck.model.formulas."""
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))
    x_bar = np.append(x, 1.0)
    h = sig(x_bar @ w_h)
    h_bar = np.append(h, 1.0)
    y_hat = sig(h_bar @ theta)
    delta = (1.0 if half else 2.0) * (y_hat - y) * y_hat * (1.0 - y_hat)
    g_theta = delta * (h_bar if h_bar_bias else h)
    rows = x_bar if x_bar_bias else np.asarray(x)
    g_w = np.array(
        [[delta * theta[j] * h[j] * (1.0 - h[j]) * rows[k] for j in range(len(h))] for k in range(len(rows))]
    )
    return g_w, g_theta


@pytest.mark.parametrize(
    "options,mistake_id",
    [
        ({}, None),
        (dict(half=False), "loss_factor_two"),
        (dict(x_bar_bias=False), "bias_dropped_w_h"),
        (dict(h_bar_bias=False), "bias_dropped_theta"),
    ],
)
def test_an_independent_implementation_is_diagnosed(options, mistake_id):
    x, y, w_h, theta = _problem(seed=6, d=3, m=2)
    d = diagnose(_student(x, y, w_h, theta, **options), x, y, w_h, theta)
    if mistake_id is None:
        assert d.correct and not d.mistakes
    else:
        assert not d.correct and [m.id for m in d.mistakes if m.full] == [mistake_id]
