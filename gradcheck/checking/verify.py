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
from gradcheck.checking.runner import PropertyRun, run_properties
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


def _group(task) -> list[PropertyRun]:
    """One group of cells in a worker process: the properties by name, the formulas by module name."""
    names, module, hidden, output, examples, seed = task
    F = importlib.import_module(module) if isinstance(module, str) else module
    props = [by_name(n) for n in names] if isinstance(names[0], str) else names
    return run_properties(props, F, hidden=hidden, output=output, examples=examples, seed=seed)


def _portable(properties, F) -> bool:
    """Whether a worker can rebuild the properties (by name) and the formulas (a module, by name)."""
    known = {p.name: p for p in PROPERTIES}
    return isinstance(F, types.ModuleType) and all(known.get(p.name) is p for p in properties)


def _runs(properties, F, pairs, examples, seed, jobs):
    """{(property index, pair index): PropertyRun} of the whole grid, yielded group by group.

    A group is one pair and one kind of problem (one sample or a batch): its properties share one
    hypothesis run (:func:`gradcheck.checking.runner.run_properties`, the same runs as one each)."""
    kinds = list(dict.fromkeys(p.batch for p in properties))
    groups = [
        (b, [i for i, p in enumerate(properties) if p.batch == kind]) for b in range(len(pairs)) for kind in kinds
    ]
    parallel = jobs > 1 and len(groups) > 1 and _portable(properties, F)
    task = lambda b, idx: (
        tuple(properties[i].name for i in idx) if parallel else [properties[i] for i in idx],
        F.__name__ if parallel else F,
        *pairs[b],
        examples,
        seed,
    )
    tasks = [task(b, idx) for b, idx in groups]
    if not parallel:
        done = map(_group, tasks)
        for (b, idx), runs in zip(groups, done):
            yield {(i, b): run for i, run in zip(idx, runs)}
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)  # fork: no re-import
    with ProcessPoolExecutor(min(jobs, len(tasks)), mp_context=context) as pool:
        for (b, idx), runs in zip(groups, pool.map(_group, tasks)):
            yield {(i, b): run for i, run in zip(idx, runs)}


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
    """Run every property on every activation pair; ``progress`` sees each run as it ends (group by group).

    ``jobs``: worker processes (None: the CPU count; 1: in this process).  Workers need the
    properties to be :data:`PROPERTIES`' own and ``F`` a module (they look both up by name);
    otherwise the grid runs here."""
    acts = activations.name_list(activation_names, argument="activation_names")
    positive_int(examples, "examples")
    jobs = (os.cpu_count() or 1) if jobs is None else positive_int(jobs, "jobs")
    properties = list(properties)
    pairs = list(itertools.product(acts, acts))
    grid: dict = {}
    for done in _runs(properties, F, pairs, examples, seed, jobs):
        grid.update(done)
        if progress is not None:
            for run in done.values():
                progress(run)
    checks = [summarise(prop, [grid[i, b] for b in range(len(pairs))]) for i, prop in enumerate(properties)]
    return VerifyReport(all(c.passed for c in checks), seed, examples, acts, tuple(checks))
