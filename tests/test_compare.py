"""The tolerance model of gradcheck.checking.tolerance."""

import numpy as np
import pytest

from gradcheck.checking.tolerance import compare, compare_gradients, entry_name
from gradcheck.model.formulas import Gradients

R = Gradients(np.array([[1.0, -2.0], [0.5, 3.0], [1e-3, 2.0]]), np.array([0.25, -1.0, 4.0]))


def perturbed(block, index, factor):
    g = Gradients(R.w_h.copy(), R.theta.copy())
    getattr(g, block)[index] *= factor
    return g


def test_identical_gradients_pass_with_zero_error():
    c = compare_gradients(R, R)
    assert c.passed and c.max_abs_error == 0 and c.max_rel_error == 0 and c.failed == ()


@pytest.mark.parametrize(
    "block, index, name",
    [
        ("w_h", (2, 1), "w_h[bias row, 1]"),
        ("w_h", (0, 1), "w_h[0, 1]"),
        ("theta", 2, "theta[bias]"),
        ("theta", 1, "theta[1]"),
    ],
)
def test_a_single_entry_off_by_1e_9_is_caught_and_named(block, index, name):
    c = compare_gradients(perturbed(block, index, 1 + 1e-9), R)
    assert not c.passed and c.worst == name and c.failed == (name,) and c.n_failed == 1
    assert c.max_rel_error == pytest.approx(1e-9, rel=1e-3)


def test_rounding_level_differences_pass():
    c = compare_gradients(perturbed("w_h", (1, 1), 1 + 1e-15), R)
    assert c.passed


def test_small_gradients_are_judged_relatively():
    # a fixed atol (torch's 1e-5) would pass a ×2 error on a gradient of size 1e-6
    small = Gradients(R.w_h * 1e-6, R.theta * 1e-6)
    c = compare_gradients(Gradients(small.w_h * 2, small.theta * 2), small)
    assert not c.passed and c.n_failed == 9


def test_error_bars_widen_the_tolerance_entry_by_entry():
    r = np.array([1.0, 2.0])
    a = r + np.array([1e-8, 1e-8])
    c = compare(a, r, error=np.array([1e-8, 0.0]))
    assert not c.passed and c.failed == ("[1]",)


def test_shape_mismatch_is_a_failure_with_both_shapes():
    c = compare_gradients(Gradients(R.w_h.T, R.theta), R)
    assert not c.passed
    assert (
        c.message
        == "∇w_h: expected shape (3, 2), got (2, 3) (transposed? eq. (10) is the Jacobian, eq. (11) its transpose)"
    )


def test_non_finite_and_non_real_values_fail_cleanly():
    assert "non-finite value nan at [1]" in compare(np.array([1.0, np.nan]), np.array([1.0, 1.0])).message
    assert "expected a real array" in compare(np.array([1 + 1j, 1]), np.array([1.0, 1.0])).message


def test_float32_gets_a_float32_tolerance():
    c = compare(np.float32([1.0, 2.0]) * np.float32(1 + 1e-6), np.array([1.0, 2.0]))
    assert c.passed and c.rtol == pytest.approx(1000 * np.finfo(np.float32).eps)


def test_entry_names_follow_the_spec():
    assert [entry_name(i, 1, 2) for i in range(7)] == [
        "w_h[0, 0]",
        "w_h[0, 1]",
        "w_h[bias row, 0]",
        "w_h[bias row, 1]",
        "theta[0]",
        "theta[1]",
        "theta[bias]",
    ]
