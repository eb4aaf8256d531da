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


def test_catalogue_mistakes_are_still_named_across_every_graded_shape():
    """Grading names a catalogue mistake only when it reproduces a failing sample of every shape:
    on exact gradients of each mistake (two activation pairs each) it always does."""
    from structural_mistakes import ACT, SHAPES, problem

    from gradcheck.diagnosis.diagnose import candidate_ids, common_mistakes, diagnose
    from gradcheck.mistakes import catalogue

    rng, acts, missed, scored = np.random.default_rng(0), list(ACT), [], 0
    for i in candidate_ids(False):
        F = catalogue.formula_set(i)
        for _ in range(2):
            kw = dict(hidden=acts[rng.integers(len(acts))], output=acts[rng.integers(len(acts))])
            failing = []
            for d, m in SHAPES:
                x, y, w_h, theta = problem(rng, d, m, kw["hidden"], kw["output"])[0]
                g = F.gradients(x, y, w_h, theta, **kw)
                dg = diagnose((np.asarray(g.w_h), np.asarray(g.theta)), x, y, w_h, theta, **kw)
                failing += [] if dg.correct else [dg]
            if failing:
                scored += 1
                if i not in [m.id for m in common_mistakes(failing)]:
                    missed.append((i, kw))
    assert scored >= 40 and missed == []
