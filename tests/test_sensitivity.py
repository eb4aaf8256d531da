"""Sensitivity: a relative perturbation δ of 1e-6 (far less, when ŷ − y is of order 1) of a block
or of the largest entry is caught by the default checks for every activation, while torch's
default criterion needs δ ≥ 1e-3."""

import json

import numpy as np
import pytest

from gradcheck.checking.strategies import Problem
from gradcheck.mistakes.sensitivity import (
    GRID,
    REGIMES,
    SensitivityReport,
    _where,
    sensitivity_of,
    threshold,
    torch_threshold,
)
from gradcheck.model import activations, formulas
from gradcheck.reports.mistakes import sensitivity_json, sensitivity_markdown
from gradcheck.reports.text import fmt


def _free_problem(rng, a):
    """ŷ − y of order 1, ReLU units 0.1 from their kink (on and off), all targets nonzero."""
    while True:
        x, w_h, theta = rng.uniform(-2, 2, 3), rng.uniform(-2, 2, (4, 3)), rng.uniform(-2, 2, 4)
        f = formulas.forward(x, 0.0, w_h, theta, hidden=a, output=a)
        if min(np.min(np.abs(f.pre_h)), f.pre_y) > 0.1 and f.pre_h.max() > 0.1:
            return Problem(x, np.float64(f.y_hat - 1.0), w_h, theta, a, a)


@pytest.mark.parametrize("activation", activations.names())
def test_a_block_or_the_largest_entry_off_by_1e_6_is_caught(activation):
    rng = np.random.default_rng(0)
    for _ in range(3):
        p = _free_problem(rng, activation)
        for target in ("∇θ block", "∇w_h block", "largest entry"):
            where = _where(target, p, rng)
            t = threshold("vs autodiff", p, *where)
            assert t <= 1e-6, (target, t)
            assert torch_threshold(p, *where) >= 1e-3  # torch's criterion: never below rtol


def test_the_threshold_is_where_detection_starts():
    from gradcheck.mistakes.sensitivity import _detects

    p = _free_problem(np.random.default_rng(1), "tanh")
    t = threshold("vs autodiff", p, "theta", None)
    i = GRID.index(t)
    assert _detects("vs autodiff", p, "theta", None, t)
    assert i == 0 or not _detects("vs autodiff", p, "theta", None, GRID[i - 1])


def test_report_rows_and_writers():
    rows = sensitivity_of("sigmoid", 4, 0)
    assert {r.regime for r in rows} <= set(REGIMES) and {r.check for r in rows} >= {"default checks", "torch criterion"}
    report = SensitivityReport(tuple(rows), 4, 0, GRID)
    data = json.loads(sensitivity_json(report))
    assert (data["examples_per_activation"], data["seed"], data["grid"]) == (4, 0, list(GRID))
    finite = lambda v: v if np.isfinite(v) else None
    want = [{**r._asdict(), "worst": finite(r.worst), "median": finite(r.median), "best": finite(r.best)} for r in rows]
    assert data["rows"] == want
    md = sensitivity_markdown(report).splitlines()
    summary = next(line for line in md if line.startswith("| sigmoid |"))  # the WORST example per regime
    cells = [c.strip() for c in summary.strip("|").split("|")]
    assert cells[1 : 1 + len(REGIMES)] == [fmt(report.worst("sigmoid", regime=g)) for g in REGIMES]
    for r in rows:  # every row, with its own numbers
        line = (
            f"| {r.activation} | {r.target} | {r.regime} | {r.check} | {r.examples} | {fmt(r.worst)} | "
            f"{fmt(r.median)} | {fmt(r.best)} |"
        )
        assert any(m.startswith(line) for m in md), line


def test_every_regime_is_measured_on_every_drawn_network():
    """ŷ − y = 1e-4 and 1e-8 are set on each drawn problem, not left to the ≈ 5 % of draws that reach
    them: every regime has rows, with at least as many examples as the free draws (some draws are
    in a small-residual regime already)."""
    rows = [r for r in sensitivity_of("tanh", 4, 0) if r.check == "default checks" and r.target == "∇θ block"]
    by = {r.regime: r.examples for r in rows}
    assert set(by) == set(REGIMES), by
    assert min(by[REGIMES[1]], by[REGIMES[2]]) >= by[REGIMES[0]] >= 1, by
