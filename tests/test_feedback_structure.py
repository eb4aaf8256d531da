"""Measured diagnosis power on structural mistakes outside the catalogue (tests/structural_mistakes.py):
the first pattern named is the generated one in ≥ 95 % of the cases, and no pattern is ever named on a
right gradient.  ``python tests/structural_mistakes.py`` writes the figures into reports/diagnosis.md."""

import numpy as np
import pytest
from structural_mistakes import MISTAKES, measure, observations, right

from gradcheck.diagnosis.structure import structural_patterns


def test_the_first_pattern_named_is_the_generated_one():
    p = measure(cases=2 * len(MISTAKES), seed=3)
    assert p.false_patterns == 0, p.misses
    assert p.scored >= 0.9 * p.cases and p.rate >= 0.95, p.misses
    assert all(scored > 0 for scored, _ in p.per_mistake.values())


@pytest.mark.parametrize("pair", [("sigmoid", "sigmoid"), ("relu", "relu"), ("tanh", "identity")])
def test_right_gradients_name_no_pattern(pair):
    rng = np.random.default_rng(11)
    for _ in range(5):
        assert structural_patterns(observations(rng, right, *pair)) == ()


def test_the_estimated_step_of_a_finite_difference():
    rng = np.random.default_rng(2)
    (found,) = structural_patterns(
        observations(rng, MISTAKES["∇θ by forward differences, step 1e-3"][0], "tanh", "sigmoid")
    )
    assert (
        found.id == "theta:approximation"
        and "forward differences of the loss with a step of about 1e-03" in found.message
    )
    assert "∇w_h is right" in found.message
