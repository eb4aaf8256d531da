"""The benchmark's own claims at the small size, as a regression test (no timing: ratios are
the benchmark's business).  torch and jax columns are not exercised here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import cases
import run
import timesplit

GRADCHECK = ["gradcheck full", "gradcheck full (scipy loop)", "gradcheck fast", "gradcheck fast (black box)"]


@pytest.fixture(scope="module")
def detection():
    rows = run.detection(20, 50, GRADCHECK, say=lambda s: None)
    return rows, run.summary(rows, GRADCHECK)


def test_full_check_misses_nothing_and_fails_no_right_gradient(detection):
    rows, summary = detection
    assert len(rows) >= 50 and {r["regime"] for r in rows} >= {"ordinary", "ŷ − y = 1e-4", "relu kinks"}
    for name in ("gradcheck full", "gradcheck full (scipy loop)"):
        assert summary[name]["missed"] == 0 and summary[name]["false_failures"] == 0, summary[name]
    # the engines agree case by case
    assert all(r["verdicts"]["gradcheck full"] == r["verdicts"]["gradcheck full (scipy loop)"] for r in rows)


def test_fast_modes_never_fail_a_right_gradient_and_catch_every_catalogue_mistake(detection):
    rows, summary = detection
    for name in ("gradcheck fast", "gradcheck fast (black box)"):
        assert summary[name]["false_failures"] == 0, name
        missed = [r["case"] for r in rows if r["expect"] == "fail" and r["verdicts"][name] == "pass"]
        assert all("×" in case for case in missed), (name, missed)  # only single-entry scalings


def test_time_split_names_where_the_time_goes():
    prob = cases.problem(20, 50)
    split = {e: timesplit.where_time_goes(prob, cases.right(prob), engine=e) for e in ("stencil", "scipy")}
    labels = {label for _, label in timesplit.GROUPS} | {"numpy reductions, allocation, other", "other"}
    for engine, groups in split.items():
        assert set(groups) <= labels, engine
        assert list(groups.values()) == sorted(groups.values(), reverse=True), engine  # largest first
        # the incremental Δl evaluations are attributed to their group in both engines (not lost to "other";
        # their share depends on the machine's load, so only their presence is asserted)
        assert groups["Δl evaluations (σ only, incremental)"] > 0, (engine, groups)
    assert split["scipy"]["scipy.differentiate loop"] > 0
    assert "scipy.differentiate loop" not in split["stencil"]  # every coordinate converged in the stencil
    table = run._split_table([{"n_params": prob.w_h.size + prob.theta.size, "split": split}])
    for engine, groups in split.items():
        row = next(line for line in table if f"| {engine} |" in line)
        assert row.startswith(f"| {prob.w_h.size + prob.theta.size:,} |"), row
        total = sum(groups.values())
        assert f"| {total:.3f} |" in row, row
        for label, seconds in groups.items():  # every group of ≥ 0.5 % is in the row, with its share
            if seconds >= 0.005 * total:
                assert f"{label} {seconds:.3f} ({seconds / total:.0%})" in row, (label, row)
