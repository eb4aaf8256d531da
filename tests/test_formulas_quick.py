"""Every property, deterministically, on five activation pairs that put each activation in each
layer: a fast pass over the whole property table (~15 s).  It is the test selection of the
mutation run on gradcheck/formulas.py (docs/mutation.md), so it uses a fixed seed: a mutant is
killed or not, never by luck of the draw."""
import pytest

from gradcheck import formulas
from gradcheck.properties import PROPERTIES
from gradcheck.runner import run_property

NAMES = ("sigmoid", "tanh", "relu", "identity", "softplus")
PAIRS = [(a, NAMES[(i + 1) % 5]) for i, a in enumerate(NAMES)]
EXAMPLES = 6


@pytest.mark.parametrize("hidden,output", PAIRS, ids=[f"{h}-{o}" for h, o in PAIRS])
@pytest.mark.parametrize("prop", PROPERTIES, ids=[p.name for p in PROPERTIES])
def test_property_quick(prop, hidden, output):
    run = run_property(prop, formulas, hidden=hidden, output=output, examples=EXAMPLES, seed=0, shrink=False)
    assert run.passed, f"{prop.name}, eq. {prop.equation}, {hidden}/{output}: {run.failure}"
