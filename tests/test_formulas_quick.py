"""Every property, deterministically, on five activation pairs that put each activation in each
layer: a fast pass over the whole property table (~15 s).  It is the test selection of the
mutation run on gradcheck/model/formulas.py (docs/mutation.md), so it uses a fixed seed: a mutant is
killed or not, never by luck of the draw.  The default suite runs the property table once, in
tests/test_properties.py; this pass is marked ``mutation`` and runs with ``pytest -m mutation``
(mutmut selects it).  The API tests below it run by default."""

import pytest

from gradcheck.checking.properties import PROPERTIES
from gradcheck.checking.runner import run_property
from gradcheck.model import formulas

NAMES = ("sigmoid", "tanh", "relu", "identity", "softplus")
PAIRS = [(a, NAMES[(i + 1) % 5]) for i, a in enumerate(NAMES)]
EXAMPLES = 6


@pytest.mark.mutation
@pytest.mark.parametrize("hidden,output", PAIRS, ids=[f"{h}-{o}" for h, o in PAIRS])
@pytest.mark.parametrize("prop", PROPERTIES, ids=[p.name for p in PROPERTIES])
def test_property_quick(prop, hidden, output):
    run = run_property(prop, formulas, hidden=hidden, output=output, examples=EXAMPLES, seed=0, shrink=False)
    assert run.passed, f"{prop.name}, eq. {prop.equation}, {hidden}/{output}: {run.failure}"


# ---- the formulas' API around the equations (gaps the mutation run found, docs/mutation.md) ----

import numpy as np  # noqa: E402

from gradcheck.model.network import forward  # noqa: E402

X, Y = np.array([0.5, -1.0]), 0.25
W_H, THETA = np.array([[0.3, -0.2, 0.1], [0.4, 0.5, -0.6], [-0.1, 0.2, 0.3]]), np.array([0.7, -0.4, 0.2, 0.1])


def test_the_default_activations_are_sigmoid():
    f = forward(X, Y, W_H, THETA)
    sig = dict(hidden="sigmoid", output="sigmoid")
    pairs = [
        (formulas.dy_hat_dpre_y(f.pre_y), formulas.dy_hat_dpre_y(f.pre_y, "sigmoid")),
        (formulas.dh_dpre_h(f.pre_h), formulas.dh_dpre_h(f.pre_h, "sigmoid")),
        (formulas.u(THETA, f.pre_h), formulas.u(THETA, f.pre_h, "sigmoid")),
        (formulas.grad_theta(f, Y), formulas.grad_theta(f, Y, output="sigmoid")),
        (formulas.jacobian_column(f, Y, THETA, 1), formulas.jacobian_column(f, Y, THETA, 1, **sig)),
        (formulas.jacobian_column_u(f, Y, THETA, 1), formulas.jacobian_column_u(f, Y, THETA, 1, **sig)),
        (formulas.grad_w_h(f, Y, THETA), formulas.grad_w_h(f, Y, THETA, **sig)),
        (formulas.jacobian_w_h(f, Y, THETA), formulas.jacobian_w_h(f, Y, THETA, **sig)),
        (formulas.gradients(X, Y, W_H, THETA), formulas.gradients(X, Y, W_H, THETA, **sig)),
        (formulas.batch_gradients(X[None], [Y], W_H, THETA), formulas.batch_gradients(X[None], [Y], W_H, THETA, **sig)),
    ]
    for got, want in pairs:
        for a, b in zip(got, want) if isinstance(got, tuple) else [(got, want)]:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "call,argument",
    [
        (lambda: formulas.dy_hat_dpre_y(0.0, "softmax"), "output"),
        (lambda: formulas.dh_dpre_h(np.zeros(2), "softmax"), "hidden"),
        (lambda: formulas.u(THETA, np.zeros(3), "softmax"), "hidden"),
    ],
)
def test_unknown_activations_are_refused_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=rf"^{argument}: expected one of"):
        call()


def test_batch_gradients_of_one_line_vector_is_its_gradient():
    g, b = formulas.gradients(X, Y, W_H, THETA), formulas.batch_gradients(X, Y, W_H, THETA)
    np.testing.assert_array_equal(b.w_h, g.w_h)
    np.testing.assert_array_equal(b.theta, g.theta)


def test_M_takes_the_dtype_of_x_bar_at_least_float64():
    assert formulas.dpre_h_dc(np.ones(3, dtype=np.float32), 0, 2).dtype == np.float64
    M = formulas.dpre_h_dc(np.array([1 + 2j, 1.0]), 1, 2)  # complex-step ready: the imaginary part stays
    assert M.dtype == np.complex128 and M[1, 0] == 1 + 2j
