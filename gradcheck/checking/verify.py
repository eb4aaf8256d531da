"""``gradcheck verify``: confirm the note's derivation, property by property.

Every property of :data:`gradcheck.checking.properties.PROPERTIES` runs on every
(hidden, output) pair of the chosen activations; the result is data
(:class:`VerifyReport`) that :mod:`gradcheck.reports.verify` renders.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import NamedTuple

from gradcheck.checking.properties import PROPERTIES, Property
from gradcheck.checking.runner import PropertyRun, run_property
from gradcheck.model import activations, formulas
from gradcheck.model.shapes import positive_int

__all__ = ["CheckSummary", "VerifyReport", "verify"]


class CheckSummary(NamedTuple):
    name: str
    equation: str
    oracle: str
    examples: int
    not_applicable: int
    max_rel_error: float
    norm_rel_error: float
    max_excess: float
    passed: bool
    runs: tuple[PropertyRun, ...]  # one per activation pair


class VerifyReport(NamedTuple):
    passed: bool
    seed: int
    examples: int  # per property and activation pair
    activations: tuple[str, ...]
    checks: tuple[CheckSummary, ...]


def summarise(prop: Property, runs: list[PropertyRun]) -> CheckSummary:
    return CheckSummary(
        prop.name,
        prop.equation,
        prop.oracle,
        sum(r.examples for r in runs),
        sum(r.not_applicable for r in runs),
        max(r.max_rel_error for r in runs),
        max(r.norm_rel_error for r in runs),
        max(r.max_excess for r in runs),
        all(r.passed for r in runs),
        tuple(runs),
    )


def verify(
    *,
    activation_names: Iterable[str] | None = None,
    examples: int = 8,
    seed: int = 0,
    properties: Iterable[Property] = PROPERTIES,
    F=formulas,
    progress: Callable[[PropertyRun], None] | None = None,
) -> VerifyReport:
    """Run every property on every activation pair; ``progress`` sees each run as it ends."""
    acts = activations.name_list(activation_names, argument="activation_names")
    positive_int(examples, "examples")
    checks = []
    for prop in properties:
        runs = []
        for hidden, output in itertools.product(acts, acts):
            run = run_property(prop, F, hidden=hidden, output=output, examples=examples, seed=seed)
            runs.append(run)
            if progress:
                progress(run)
        checks.append(summarise(prop, runs))
    return VerifyReport(all(c.passed for c in checks), seed, examples, acts, tuple(checks))
