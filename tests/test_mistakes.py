"""The mistake catalogue: documented, really wrong, cloned without touching the right formulas,
and equivalent to the right formulas exactly where it says so."""

import itertools

import numpy as np
import pytest

from gradcheck.mistakes import catalogue as mistakes
from gradcheck.model import activations, formulas
from gradcheck.model.network import forward

PAIRS = list(itertools.product(activations.names(), activations.names()))
FUNCTIONS = [n for n in formulas.__all__ if n != "Gradients"]


def _problem(rng, hidden, output, d=3, m=3, sign=1):
    """A random sample: pre-activations ≥ 0.05 from 0, sign(pre_y) = ``sign`` and pre_h of both signs
    (so ReLU units are on and off: where a mistake can show)."""
    while True:
        x, w_h, theta = rng.uniform(-2, 2, d), rng.uniform(-2, 2, (d + 1, m)), rng.uniform(-2, 2, m + 1)
        f = forward(x, 0.0, w_h, theta, hidden=hidden, output=output)
        if min(np.min(np.abs(f.pre_h)), sign * f.pre_y) > 0.05 and f.pre_h.min() < 0 < f.pre_h.max():
            return x, rng.uniform(-2, 2), w_h, theta


def _outputs(F, x, y, w_h, theta, hidden, output):
    """Every public function of F on one problem (batch_gradients on the sample stacked twice)."""
    kw = dict(hidden=hidden, output=output)
    f = forward(x, y, w_h, theta, **kw)
    m = w_h.shape[1]
    calls = {
        "dl_dy_hat": lambda: F.dl_dy_hat(f.y_hat, y),
        "dy_hat_dpre_y": lambda: F.dy_hat_dpre_y(f.pre_y, output),
        "dpre_y_dtheta": lambda: F.dpre_y_dtheta(f.h_bar),
        "dpre_y_dh": lambda: F.dpre_y_dh(theta),
        "dh_dpre_h": lambda: F.dh_dpre_h(f.pre_h, hidden),
        "theta_tilde": lambda: F.theta_tilde(theta),
        "dpre_h_dc": lambda: [F.dpre_h_dc(f.x_bar, j, m) for j in range(m)],
        "u": lambda: F.u(theta, f.pre_h, hidden),
        "jacobian_theta": lambda: F.jacobian_theta(f, y, output=output),
        "grad_theta": lambda: F.grad_theta(f, y, output=output),
        "jacobian_column": lambda: [F.jacobian_column(f, y, theta, j, **kw) for j in range(m)],
        "jacobian_column_u": lambda: [F.jacobian_column_u(f, y, theta, j, **kw) for j in range(m)],
        "jacobian_w_h": lambda: F.jacobian_w_h(f, y, theta, **kw),
        "grad_w_h": lambda: F.grad_w_h(f, y, theta, **kw),
        "gradients": lambda: tuple(F.gradients(x, y, w_h, theta, **kw)),
        "batch_gradients": lambda: tuple(F.batch_gradients(np.vstack([x, -x]), np.array([y, -y]), w_h, theta, **kw)),
    }
    assert set(calls) == set(FUNCTIONS), "a public function of formulas is not covered here"
    return {name: _call(call) for name, call in calls.items()}


def _call(call):
    try:
        return call()
    except Exception as exc:  # a mistake that cannot run (u_dot_product indexes a 1-entry u)
        return type(exc).__name__


def _equal(a, b, rtol=1e-15) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(p, q, rtol) for p, q in zip(a, b))
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=0)


def test_the_catalogue_is_complete_and_documented():
    assert len(mistakes.CATALOGUE) >= 20
    assert len(set(mistakes.ids())) == len(mistakes.CATALOGUE)
    assert set(mistakes.REQUIRED) <= set(mistakes.ids())
    for m in mistakes.CATALOGUE:
        assert m.description and m.equation and m.factor and m.hint, m.id
        assert m.overrides and set(m.overrides) <= set(FUNCTIONS), m.id


def test_the_unmodified_clone_is_the_formulas_and_cloning_leaves_them_alone():
    rng = np.random.default_rng(0)
    before = formulas.u
    sets = [mistakes.formula_set(i) for i in mistakes.ids()]
    assert formulas.u is before and all(F.u is not formulas.u for F in sets)
    for hidden, output in PAIRS:
        args = _problem(rng, hidden, output)
        right = _outputs(formulas, *args, hidden, output)
        clone = _outputs(mistakes.formula_set(None), *args, hidden, output)
        assert all(_equal(right[k], clone[k], rtol=0) for k in right)


def test_an_override_reaches_every_function_that_calls_it():
    F = mistakes.formula_set("missing_hidden_derivative")  # overrides u and dh_dpre_h only
    args = _problem(np.random.default_rng(1), "tanh", "sigmoid")
    wrong, right = _outputs(F, *args, "tanh", "sigmoid"), _outputs(formulas, *args, "tanh", "sigmoid")
    for name in (
        "u",
        "jacobian_column",
        "jacobian_column_u",
        "jacobian_w_h",
        "grad_w_h",
        "gradients",
        "batch_gradients",
    ):
        assert not _equal(wrong[name], right[name]), name
    for name in ("grad_theta", "jacobian_theta", "dl_dy_hat"):
        assert _equal(wrong[name], right[name]), name


@pytest.mark.parametrize("mistake", mistakes.CATALOGUE, ids=mistakes.ids())
def test_each_mistake_is_wrong_off_its_equivalent_pairs_and_right_on_them(mistake):
    """The equivalence claims are facts: the same outputs on every claimed pair, different elsewhere."""
    F, rng = mistakes.formula_set(mistake), np.random.default_rng(2)
    differs = []
    for hidden, output in PAIRS:
        same = True
        for sign in (1, -1):  # a ReLU output on, then off
            args = _problem(rng, hidden, output, sign=sign)
            wrong, right = _outputs(F, *args, hidden, output), _outputs(formulas, *args, hidden, output)
            same &= all(_equal(wrong[k], right[k]) for k in right)
        if mistake.equivalent_when and mistake.equivalent_when(hidden, output):
            assert same, f"{mistake.id} is claimed equivalent on {hidden}/{output}"
        else:
            differs.append(not same)
    assert differs and all(differs), f"{mistake.id} equals the right formulas on a pair it is not claimed equivalent on"


def test_which_mistakes_reach_single_sample_gradients():
    untouched = {i for i in mistakes.ids() if not mistakes.changes(i)}
    assert untouched == {"off_by_one_column", "batch_sum", "batch_mean_twice"}
    assert mistakes.changes("batch_sum", "batch_gradients") and mistakes.changes("u_dot_product", "batch_gradients")


def test_unknown_ids_and_bad_overrides_are_refused_by_name():
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistakes.get("no_such_mistake")
    bogus = mistakes.Mistake("bogus", "d", "e", "f", "h", dict(not_a_formula=lambda: 0))
    with pytest.raises(ValueError, match="overrides: bogus overrides 'not_a_formula'"):
        mistakes.formula_set(bogus)
