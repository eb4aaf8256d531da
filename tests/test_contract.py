"""The course contract, harmless variants, reading results back, and pluggable adapters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gradcheck.grading.contract import (
    FTML,
    Contract,
    ContractError,
    Layout,
    Signature,
    load_contract,
    param_shape,
    param_value,
    reference_intermediates,
)
from gradcheck.grading.readings import read_forward, read_gradients

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ADAPTER = REPO / "examples" / "contracts" / "transposed_weights.py"
SUBS = HERE / "submissions"


def kinds(values, kind="ndarray:float64"):
    return {k: kind for k in values}


# ----------------------------------------------------------------- the contract
def test_ftml_names_the_course_functions_and_layouts():
    assert FTML.functions == ("forward_pass", "compute_gradients")
    assert FTML.forward.args == {"X": "X", "wh": "w_h", "theta": "theta"}
    assert FTML.gradients.keys == {"w_h": "dl_dwh", "theta": "dl_dtheta"}
    assert FTML.layouts[0] == Layout("flat", "row")
    assert {l.theta for l in FTML.layouts} == {"flat", "column"}
    assert load_contract() is FTML and load_contract("ftml") is FTML


def test_parameter_layouts():
    w_h, theta = np.arange(6.0).reshape(3, 2), np.arange(3.0)
    assert param_value("theta", w_h, theta, Layout("column")).shape == (3, 1)
    assert param_value("w_h.T", w_h, theta, Layout()).shape == (2, 3)
    assert param_shape("theta", 2, 2, Layout()) == (3,) and param_shape("theta", 2, 2, Layout("column")) == (3, 1)
    assert param_shape("w_h", 2, 2, Layout()) == (3, 2)


def test_reference_intermediates_are_laid_out_like_the_course_forward():
    pre_h, h = np.array([0.5, -1.0]), np.array([0.6, 0.2])
    row = reference_intermediates(pre_h, h, 0.3, 0.7, Layout())
    assert row["pre_h"].shape == (1, 2) and row["pre_y"].shape == (1,) and row["y_hat"].shape == (1,)
    col = reference_intermediates(pre_h, h, 0.3, 0.7, Layout("column"))
    assert col["pre_y"].shape == (1, 1)
    flat = reference_intermediates(pre_h, h, 0.3, 0.7, Layout("flat", "flat"))
    assert flat["pre_h"].shape == (2,) and isinstance(flat["y_hat"], float)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(forward=Signature("forward_pass", {"X": "X", "wh": "weights"}, {"y_hat": "y_hat"})), "symbols allowed"),
        (dict(forward=Signature("forward pass", {"X": "X"}, {"y_hat": "y_hat"})), "not an identifier"),
        (dict(forward=Signature("f", {"X": "X"}, {"pre_h": "pre_h"})), "y_hat"),
        (dict(gradients=Signature("g", {"x": "x"}, {"w_h": "a"})), "theta"),
        (dict(gradients=Signature("g", {"x": "x", "h": "h"}, {"w_h": "a", "theta": "b"})), "forward keys"),
        (dict(gradients=Signature("g", {"W": "w_h.T"}, {"w_h": "a", "theta": "b"})), "one of w_h and w_h.T"),
        (dict(layouts=()), "layouts"),
    ],
)
def test_malformed_contracts_name_the_problem(kwargs, match):
    base = dict(
        name="broken",
        forward=Signature("f", {"X": "X", "w": "w_h", "t": "theta"}, {"y_hat": "y"}),
        gradients=Signature("g", {"x": "x", "y": "y"}, {"w_h": "a", "theta": "b"}),
    )
    with pytest.raises(ContractError, match=match):
        Contract(**{**base, **kwargs})


def test_layout_values_are_checked():
    with pytest.raises(ContractError, match="theta must be"):
        Layout("row")


def test_load_contract_errors(tmp_path):
    with pytest.raises(ContractError, match="adapter .py"):
        load_contract("nope")
    bad = tmp_path / "bad.py"
    bad.write_text("CONTRACT = 3\n")
    with pytest.raises(ContractError, match="must define CONTRACT"):
        load_contract(str(bad))


def test_example_adapter_loads():
    c = load_contract(str(ADAPTER))
    assert c.name == "transposed-weights" and c.functions == ("predict", "backprop")
    assert c.block_symbol("w_h") == "w_h.T"


# ------------------------------------------------------------------- readings
def test_forward_reading_accepts_harmless_variants_with_notes():
    n, m = 1, 3
    values = {"pre_h": np.zeros(m), "h": np.zeros((1, m)), "pre_y": np.zeros((1, 1)), "y_hat": np.array(0.5)}
    k = {**kinds(values), "y_hat": "float:float64"}
    r = read_forward(FTML, values, k, n, m)
    assert all(v.shape_ok and v.array is not None for v in r.values())
    assert r["pre_h"].array.shape == (1, m) and r["y_hat"].array.shape == (1,)
    assert "accepted" in r["pre_h"].note and "Python float" in r["y_hat"].note and "column" in r["pre_y"].note


def test_forward_reading_refuses_wrong_shapes_and_missing_keys():
    values = {"pre_h": np.zeros((3, 4)), "h": np.zeros((4, 3)), "pre_y": np.zeros(3)}
    r = read_forward(FTML, values, kinds(values), 4, 3)
    assert not r["pre_h"].shape_ok and "expected (4, 3)" in r["pre_h"].error
    assert r["h"].array is not None and r["h"].shape_ok
    assert "returned no 'y_hat'" in r["y_hat"].error and "pre_h, pre_y" in r["y_hat"].error


def test_forward_reading_refuses_nan():
    values = {"pre_h": np.zeros((2, 1)), "h": np.zeros((2, 1)), "pre_y": np.array([np.nan, 0.0]), "y_hat": np.zeros(2)}
    assert "NaN" in read_forward(FTML, values, kinds(values), 2, 1)["pre_y"].error


def test_gradient_reading_shapes_dtypes_and_variants():
    d, m = 2, 4
    good = {"dl_dwh": np.ones((d + 1, m)), "dl_dtheta": np.ones(m + 1)}
    r = read_gradients(FTML, good, kinds(good, "ndarray:float32"), d, m, Layout())
    assert r["w_h"].shape_ok and r["theta"].shape_ok and r["theta"].dtype == "float32"
    column = {"dl_dwh": np.ones((m, d + 1)), "dl_dtheta": np.ones((m + 1, 1))}
    r = read_gradients(FTML, column, kinds(column), d, m, Layout())
    assert not r["theta"].shape_ok and r["theta"].array.shape == (m + 1,) and "reshaping" in r["theta"].note
    assert not r["w_h"].shape_ok and r["w_h"].array.shape == (d + 1, m) and "transposing" in r["w_h"].note
    r = read_gradients(FTML, column, kinds(column), d, m, Layout("column"))
    assert r["theta"].shape_ok  # θ passed as a column: the gradient must be a column
    short = {"dl_dwh": np.ones((d, m)), "dl_dtheta": np.ones(m + 1)}
    r = read_gradients(FTML, short, kinds(short), d, m, Layout())
    assert r["w_h"].array is None and "expected (3, 4)" in r["w_h"].error


def test_gradient_reading_through_a_transposed_adapter():
    c, d, m = load_contract(str(ADAPTER)), 1, 2
    values = {"dW": np.arange(4.0).reshape(m, d + 1), "dv": np.ones(m + 1)}
    r = read_gradients(c, values, kinds(values), d, m, Layout())
    assert r["w_h"].shape_ok and np.array_equal(r["w_h"].array, values["dW"].T)


# ------------------------------------------------------- an adapter, end to end
def test_a_submission_graded_through_the_example_adapter():
    from gradcheck.grading.grade import grade_submission

    result = grade_submission(SUBS / "adapter" / "transposed_weights.py", contract=str(ADAPTER))
    assert result.status == "graded" and result.score == result.max_score, [c.message for c in result.checks]
    assert result.activation == "tanh,sigmoid" and result.activation_source == "detected"
