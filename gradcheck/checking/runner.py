"""Run one property over hypothesis-drawn examples and return what happened, as data.

Shared by ``gradcheck verify`` (the real formulas), ``gradcheck mutants`` (wrong
ones) and anything else that needs "does this formula set survive this property?"
without pytest.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from gradcheck.checking.properties import NotApplicable, Property
from gradcheck.checking.strategies import Problem, problems

__all__ = ["Failure", "PropertyRun", "describe_problem", "run_properties", "run_property"]


class Failure(NamedTuple):
    message: str
    worst: str  # the worst entry, in the spec's terms
    problem: dict  # the shrunk falsifying example, JSON-ready
    example_index: int  # 1-based: how many examples it took to fail the first time


class PropertyRun(NamedTuple):
    name: str
    equation: str
    oracle: str
    hidden: str
    output: str
    passed: bool
    examples: int  # examples run (applicable or not)
    not_applicable: int
    max_rel_error: float  # over passing examples
    norm_rel_error: float
    max_excess: float  # worst |error| / tolerance over passing examples (≤ 1)
    failure: Failure | None


def describe_problem(p: Problem) -> dict:
    """A JSON-ready description of an example: dimensions and the arrays themselves."""
    d = p.dims
    return {
        "d": d.d,
        "m": d.m,
        "n": d.n,
        "hidden": p.hidden,
        "output": p.output,
        "x": np.asarray(p.x).tolist(),
        "y": np.asarray(p.y).tolist(),
        "w_h": np.asarray(p.w_h).tolist(),
        "theta": np.asarray(p.theta).tolist(),
    }


def _hypothesis(seed: int, examples: int, shrink: bool):
    """The one hypothesis configuration of every run (the draws depend on it, on the seed and the strategy)."""

    def decorate(body):
        test = hypothesis_seed(seed)(
            settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=False,
                phases=[Phase.generate, Phase.target] + ([Phase.shrink] if shrink else []),
                suppress_health_check=list(HealthCheck),
                print_blob=False,
            )(given(st.data())(body))
        )
        # database=None: hypothesis needs no database key, so skip hashing body's source for one (per run)
        test._hypothesis_internal_database_key = None  # type: ignore[attr-defined]
        return test

    return decorate


def run_property(
    prop: Property, F, *, hidden: str, output: str, examples: int = 50, seed: int = 0, shrink: bool = True
) -> PropertyRun:
    """Check formula set ``F`` against ``prop`` on up to ``examples`` problems.

    Deterministic for a given ``seed``.  On failure hypothesis shrinks the
    example (unless ``shrink`` is false) and the shrunk one is reported.
    """
    state: dict[str, Any] = dict(n=0, na=0, rel=0.0, norm=0.0, excess=0.0, first=0, last=None)
    strategy = problems(hidden=hidden, output=output, batch=prop.batch)  # built (and validated) once per run

    @_hypothesis(seed, examples, shrink)
    def body(data):
        p = data.draw(strategy)
        state["n"] += 1
        try:
            result = prop.check(F, p)
        except NotApplicable:
            state["na"] += 1
            return
        except Exception as exc:  # a formula set that crashes fails the property
            state["last"] = (p, f"{type(exc).__name__}: {exc}", "")
            state["first"] = state["first"] or state["n"]
            raise AssertionError(state["last"][1]) from None
        if not result.passed:
            state["last"] = (p, result.message, result.worst)
            state["first"] = state["first"] or state["n"]
            raise AssertionError(result.message)
        state["rel"] = max(state["rel"], result.max_rel_error)
        state["norm"] = max(state["norm"], result.norm_rel_error)
        state["excess"] = max(state["excess"], result.max_excess)

    failure = None
    try:
        body()
    except (AssertionError, HypothesisException) as exc:
        if state["last"] is None:
            raise
        p, message, worst = state["last"]
        failure = Failure(message or str(exc), worst, describe_problem(p), state["first"])
    return PropertyRun(
        prop.name,
        prop.equation,
        prop.oracle,
        hidden,
        output,
        failure is None,
        state["n"],
        state["na"],
        state["rel"],
        state["norm"],
        state["excess"],
        failure,
    )


def _copy(p: Problem) -> Problem:
    return p._replace(x=np.array(p.x), y=np.array(p.y), w_h=np.array(p.w_h), theta=np.array(p.theta))


def run_properties(
    props, F, *, hidden: str, output: str, examples: int = 50, seed: int = 0, shrink: bool = True
) -> list[PropertyRun]:
    """:func:`run_property` for each of ``props`` (all drawing the same kind of problem, ``batch``), from ONE
    hypothesis run: each example is drawn once and checked by every property (on its own copy).

    While a test passes, hypothesis's draws depend only on the seed, the settings and the strategy, so
    a property that passes every example saw exactly the examples of its own run and gets the same
    PropertyRun.  A property that fails one is re-run alone, for its own stop, shrinking and index."""
    props = list(props)
    if len({p.batch for p in props}) > 1:
        raise ValueError(
            f"props: expected properties that draw one kind of problem, got batch {[p.batch for p in props]}"
        )
    states: list[dict[str, Any]] = [dict(n=0, na=0, rel=0.0, norm=0.0, excess=0.0, failed=False) for _ in props]
    strategy = problems(hidden=hidden, output=output, batch=props[0].batch) if props else None

    @_hypothesis(seed, examples, shrink)
    def body(data):
        p = data.draw(strategy)
        for prop, state in zip(props, states):
            if state["failed"]:
                continue
            state["n"] += 1
            try:
                result = prop.check(F, _copy(p))
            except NotApplicable:
                state["na"] += 1
                continue
            except Exception:  # a formula set that crashes fails the property: re-run alone below
                state["failed"] = True
                continue
            if not result.passed:
                state["failed"] = True
                continue
            state["rel"] = max(state["rel"], result.max_rel_error)
            state["norm"] = max(state["norm"], result.norm_rel_error)
            state["excess"] = max(state["excess"], result.max_excess)

    if props:
        body()
    runs = []
    for prop, s in zip(props, states):
        if s["failed"]:
            runs.append(
                run_property(prop, F, hidden=hidden, output=output, examples=examples, seed=seed, shrink=shrink)
            )
        else:
            runs.append(
                PropertyRun(
                    prop.name,
                    prop.equation,
                    prop.oracle,
                    hidden,
                    output,
                    True,
                    s["n"],
                    s["na"],
                    s["rel"],
                    s["norm"],
                    s["excess"],
                    None,
                )
            )
    return runs
