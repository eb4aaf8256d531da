"""The public hypothesis strategies."""

import numpy as np
import pytest
from hypothesis import given, settings

from gradcheck.checking import strategies as gs
from gradcheck.model.network import forward


@settings(max_examples=200)
@given(gs.problems(hidden="relu", output="relu", batch=True))
def test_relu_examples_keep_a_margin_from_the_kink_and_reach_the_active_region(p):
    f = forward(p.x, p.y, p.w_h, p.theta, **p.kwargs)
    assert np.all(np.abs(f.pre_h) >= 1e-3 * (1 - 1e-9))
    assert np.all(np.abs(f.pre_y) >= 1e-3 * (1 - 1e-9))
    assert np.all(np.any(f.pre_h > 0, axis=1))  # every sample has an active hidden unit


def test_most_relu_output_examples_are_active():
    seen = []

    @settings(max_examples=200, database=None)
    @given(gs.problems(hidden="sigmoid", output="relu"))
    def collect(p):
        seen.append(forward(p.x, p.y, p.w_h, p.theta, **p.kwargs).pre_y > 0)

    collect()
    assert np.mean(seen) > 0.6


@given(gs.problems(batch=True, min_d=2, max_d=3, min_m=1, max_m=1, min_n=2, max_n=2))
def test_dimension_bounds_are_honoured(p):
    assert 2 <= p.dims.d <= 3 and p.dims.m == 1 and p.dims.n == 2
    assert p.w_h.shape == (p.dims.d + 1, 1) and p.theta.shape == (2,) and p.y.shape == (2,)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(min_d=0), r"min_d, max_d: expected integers with 1 ≤ min_d ≤ max_d, got 0, 4"),
        (dict(min_m=3, max_m=2), r"min_m, max_m: expected integers with 1 ≤ min_m ≤ max_m, got 3, 2"),
    ],
)
def test_bad_bounds_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gs.dims(**kwargs)


def test_bad_activation_is_named():
    @given(gs.problems(hidden="gelu"))
    def draw(p):
        pass

    with pytest.raises(ValueError, match=r"hidden: expected one of"):
        draw()
