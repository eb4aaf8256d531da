"""gradcheck.checking.tolerance.tally/verdict: compare() block by block, merged in index order, is the
whole compare() — the same verdict, failing entries, worst entry and error figures (the norm's sum of
squares is added per block: equal to rounding)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck.checking.tolerance import FLOOR, compare, default_rtol, tally, verdict


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 3000), st.integers(1, 700), st.sampled_from([0, 1e-3, 0.3, 1.0]), st.integers(0, 2**31))
def test_blocks_merge_into_the_whole_comparison(n, block, wrong, seed):
    rng = np.random.default_rng(seed)
    r = rng.normal(size=n) * np.exp(rng.uniform(-8, 8, size=n))
    r[rng.uniform(size=n) < 0.1] = 0.0
    a = r * (1 + 1e-14 * rng.normal(size=n))
    a[rng.uniform(size=n) < wrong] *= 1.001  # some entries wrong
    e = np.abs(rng.normal(size=n)) * 1e-13 * np.abs(r)
    s = np.abs(r) + np.abs(rng.normal(size=n)) * 1e-3
    name = lambda i: f"p[{i}]"
    whole = compare(a, r, error=e, scale=s, name=name)
    denom = np.maximum(s, FLOOR * s.max(initial=0.0))
    rtol = default_rtol(np.float64)
    parts = [
        tally(a[lo : lo + block], r[lo : lo + block], e[lo : lo + block], denom[lo : lo + block], rtol=rtol, start=lo)
        for lo in range(0, n, block)
    ]
    merged = verdict(parts, rtol=rtol, name=name)
    assert merged._replace(norm_rel_error=0.0) == whole._replace(norm_rel_error=0.0)
    assert merged.norm_rel_error == pytest.approx(whole.norm_rel_error, rel=1e-13, abs=0.0)


def test_a_non_finite_entry_is_named_as_compare_names_it():
    a, r = np.array([1.0, 2.0, np.inf, np.nan]), np.ones(4)
    parts = [
        tally(a[:2], r[:2], np.zeros(2), np.ones(2), rtol=1e-13),
        tally(a[2:], r[2:], np.zeros(2), np.ones(2), rtol=1e-13, start=2),
    ]
    merged = verdict(parts, rtol=1e-13, name=lambda i: f"p[{i}]")
    assert merged == compare(a, r, rtol=1e-13, name=lambda i: f"p[{i}]")
    assert not merged.passed and "p[2]" in merged.message
