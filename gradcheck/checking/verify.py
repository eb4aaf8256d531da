"""``gradcheck verify``: confirm the note's derivation, property by property.

Every property of :data:`gradcheck.checking.properties.PROPERTIES` runs on every
(hidden, output) pair of the chosen activations; the result is data
(:class:`VerifyReport`) that :mod:`gradcheck.reports.verify` renders.  The property × pair
grid is embarrassingly parallel: ``jobs`` worker processes run its cells and the results
are merged in the grid's fixed order, so the report equals a serial run's with the same
seed (each cell is its own seeded hypothesis run; tests/test_verify.py compares them).
"""

from __future__ import annotations

import importlib
import itertools
import multiprocessing
import os
import types
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import NamedTuple

from gradcheck.checking.properties import PROPERTIES, Property, by_name
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


def _cell(task) -> PropertyRun:
    """One grid cell in a worker process: the property by name, the formulas by module name."""
    prop_name, module, hidden, output, examples, seed = task
    F = importlib.import_module(module)
    return run_property(by_name(prop_name), F, hidden=hidden, output=output, examples=examples, seed=seed)


def _portable(properties, F) -> bool:
    """Whether a worker can rebuild the properties (by name) and the formulas (a module, by name)."""
    known = {p.name: p for p in PROPERTIES}
    return isinstance(F, types.ModuleType) and all(known.get(p.name) is p for p in properties)


def _runs(properties, F, pairs, examples, seed, jobs):
    """PropertyRun of every (property, pair) cell, in grid order (property-major)."""
    cells = [(prop, hidden, output) for prop in properties for hidden, output in pairs]
    if jobs <= 1 or len(cells) < 2 or not _portable(properties, F):
        for prop, hidden, output in cells:
            yield run_property(prop, F, hidden=hidden, output=output, examples=examples, seed=seed)
        return
    tasks = [(prop.name, F.__name__, hidden, output, examples, seed) for prop, hidden, output in cells]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)  # fork: no re-import
    with ProcessPoolExecutor(min(jobs, len(cells)), mp_context=context) as pool:
        yield from pool.map(_cell, tasks, chunksize=max(1, min(8, len(cells) // (8 * jobs))))


def verify(
    *,
    activation_names: Iterable[str] | None = None,
    examples: int = 8,
    seed: int = 0,
    properties: Iterable[Property] = PROPERTIES,
    F=formulas,
    progress: Callable[[PropertyRun], None] | None = None,
    jobs: int | None = 1,
) -> VerifyReport:
    """Run every property on every activation pair; ``progress`` sees each run as it ends (in grid order).

    ``jobs``: worker processes (None: the CPU count; 1: in this process).  Workers need the
    properties to be :data:`PROPERTIES`' own and ``F`` a module (they look both up by name);
    otherwise the grid runs here."""
    acts = activations.name_list(activation_names, argument="activation_names")
    positive_int(examples, "examples")
    jobs = (os.cpu_count() or 1) if jobs is None else positive_int(jobs, "jobs")
    properties = list(properties)
    pairs = list(itertools.product(acts, acts))
    runs = iter(_runs(properties, F, pairs, examples, seed, jobs))
    checks = []
    for prop in properties:
        cell_runs = []
        for _ in pairs:
            run = next(runs)
            cell_runs.append(run)
            if progress:
                progress(run)
        checks.append(summarise(prop, cell_runs))
    return VerifyReport(all(c.passed for c in checks), seed, examples, acts, tuple(checks))
