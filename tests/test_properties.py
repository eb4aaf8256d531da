"""The derivation, confirmed: every property of gradcheck.checking.properties, for every
(hidden, output) activation pair, over hypothesis-drawn problems."""

import itertools

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gradcheck.checking.properties import PROPERTIES, NotApplicable
from gradcheck.checking.strategies import problems
from gradcheck.model import formulas
from gradcheck.model.activations import names

PAIRS = list(itertools.product(names(), names()))


@pytest.mark.parametrize("hidden,output", PAIRS, ids=[f"{h}-{o}" for h, o in PAIRS])
@pytest.mark.parametrize("prop", PROPERTIES, ids=[p.name for p in PROPERTIES])
@given(data=st.data())
def test_property(prop, hidden, output, data):
    p = data.draw(problems(hidden=hidden, output=output, batch=prop.batch), label="problem")
    try:
        result = prop.check(formulas, p)
    except NotApplicable:
        assume(False)
    assert result.passed, f"{prop.name}, eq. {prop.equation}: {result.message} ({result})"
