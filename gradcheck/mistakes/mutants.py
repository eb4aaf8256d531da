"""``gradcheck mutants``: every property against every catalogue mistake, as data.

For each mistake of :data:`gradcheck.mistakes.catalogue.CATALOGUE` and each (hidden,
output) activation pair, the properties of :data:`gradcheck.checking.properties.PROPERTIES`
run (through :func:`gradcheck.checking.runner.run_property`, the machinery of ``gradcheck
verify``) until one fails: the mutant is *killed* on that pair.  Properties that
killed it on an earlier pair are tried first; the rest follow in table order.
A mutant is killed when it is killed on every pair it is not equivalent on
(:attr:`Mistake.equivalent_when`); on those pairs the property that killed it
elsewhere runs too and must *pass*, or the catalogue's claim is refuted.

Per mutant the report also gives the first killing property rerun with
shrinking (the shrunk falsifying example) and, with ``all_killers``, every
property that kills it on that pair.  The right formulas run through every
property and pair as a control: a property that fails everything kills
everything, so the kills mean something only if the control passes.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import NamedTuple

from gradcheck.checking.properties import PROPERTIES, by_name
from gradcheck.checking.runner import PropertyRun, run_property
from gradcheck.checking.verify import VerifyReport, summarise
from gradcheck.mistakes import catalogue as mistakes
from gradcheck.model import activations
from gradcheck.model.shapes import positive_int

__all__ = ["Kill", "PairResult", "MutantResult", "MutantsReport", "run_mutant", "run_control", "mutants"]


class Kill(NamedTuple):
    property: str
    equation: str
    oracle: str
    examples: int  # examples it took: the 1-based index of the first failing example
    message: str
    worst: str  # the worst entry, in the spec's terms
    problem: dict  # the falsifying example (shrunk in MutantResult.shrunk)


class PairResult(NamedTuple):
    hidden: str
    output: str
    status: str  # 'killed', 'survived', 'equivalent' or 'equivalence refuted'
    kill: Kill | None
    properties_run: int


class MutantResult(NamedTuple):
    id: str
    description: str
    equation: str
    factor: str
    status: str  # 'killed' (on every pair it is not equivalent on), 'survived',
    # 'equivalent' (on every pair run) or 'equivalence refuted'
    pairs: tuple[PairResult, ...]
    killers: tuple[str, ...]  # properties that killed it first on some pair
    all_killers: tuple[str, ...] | None  # every property that kills it on the shrink pair (if asked)
    shrunk: Kill | None  # first killer rerun with shrinking on the first killed pair
    seconds: float

    @property
    def killed(self) -> bool:
        return self.status == "killed"

    @property
    def ok(self) -> bool:
        """Killed, or equivalent on every pair run (nothing could kill it there)."""
        return self.status in ("killed", "equivalent")

    @property
    def max_examples(self) -> int:
        return max((p.kill.examples for p in self.pairs if p.kill), default=0)


class MutantsReport(NamedTuple):
    passed: bool  # every mutant ok (killed, or equivalent on every pair), control passed
    seed: int
    examples: int
    activations: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]  # the (hidden, output) pairs run
    mutants: tuple[MutantResult, ...]
    control: VerifyReport  # the right formulas, every property and pair
    seconds: float
    jobs: int


def _kill(run: PropertyRun, prop) -> Kill:
    f = run.failure
    return Kill(prop.name, prop.equation, prop.oracle, f.example_index, f.message, f.worst, f.problem)


def _pairs(acts, pairs=None):
    """Every (hidden, output) pair of ``acts``, or the given ``pairs`` (validated)."""
    if pairs is None:
        return list(itertools.product(acts, acts))
    chosen = [tuple(activations.get(a, argument="pairs").name for a in pair) for pair in pairs]
    if not chosen or any(len(pair) != 2 for pair in chosen):
        raise ValueError(f"pairs: expected (hidden, output) name pairs, got {pairs!r}")
    return chosen


def _first_kill(F, hidden, output, order, *, examples, seed):
    """Run properties in ``order`` until one fails; (kill or None, properties run)."""
    for i, prop in enumerate(order, 1):
        run = run_property(prop, F, hidden=hidden, output=output, examples=examples, seed=seed, shrink=False)
        if not run.passed:
            return _kill(run, prop), i
    return None, len(order)


def run_mutant(
    mistake,
    *,
    activation_names: Iterable[str] | None = None,
    examples: int = 10,
    seed: int = 0,
    shrink: bool = True,
    all_killers: bool = False,
    properties=PROPERTIES,
    pairs=None,
) -> MutantResult:
    """Kill one mistake on every activation pair (see the module docstring)."""
    m, acts = mistakes.get(mistake), _activations(activation_names)
    positive_int(examples, "examples")
    F, start = mistakes.formula_set(m), time.perf_counter()
    results, killers = _sweep(F, m, _pairs(acts, pairs), properties, examples=examples, seed=seed)
    first = next((r for r in results if r.status == "killed"), None)
    shrunk = all_ = None
    if first and shrink:
        prop = by_name(first.kill.property)
        run = run_property(prop, F, hidden=first.hidden, output=first.output, examples=examples, seed=seed)
        shrunk = _kill(run, prop) if not run.passed else first.kill
    if first and all_killers:
        all_ = tuple(
            p.name
            for p in properties
            if not run_property(
                p, F, hidden=first.hidden, output=first.output, examples=examples, seed=seed, shrink=False
            ).passed
        )
    return MutantResult(
        m.id,
        m.description,
        m.equation,
        m.factor,
        _status(results),
        tuple(results),
        tuple(killers),
        all_,
        shrunk,
        time.perf_counter() - start,
    )


def _sweep(F, m, pairs, properties, *, examples, seed):
    """Per pair, the first killing property (earlier killers first); (PairResults, killers in order)."""
    killers: list[str] = []
    results = []
    equivalent = m.equivalent_when or (lambda h, o: False)
    for hidden, output in pairs:
        order = [by_name(k) for k in killers] + [p for p in properties if p.name not in killers]
        if equivalent(hidden, output):
            results.append(_confirm_equivalent(F, hidden, output, order[:1], examples=examples, seed=seed))
            continue
        kill, n = _first_kill(F, hidden, output, order, examples=examples, seed=seed)
        if kill and kill.property not in killers:
            killers.append(kill.property)
        results.append(PairResult(hidden, output, "killed" if kill else "survived", kill, n))
    return results, killers


def _status(pairs) -> str:
    statuses = {p.status for p in pairs}
    for worst in ("survived", "equivalence refuted"):
        if worst in statuses:
            return worst
    return "killed" if "killed" in statuses else "equivalent"


def _confirm_equivalent(F, hidden, output, props, *, examples, seed) -> PairResult:
    """On a pair the catalogue calls equivalent, the first property must pass."""
    for prop in props:
        run = run_property(prop, F, hidden=hidden, output=output, examples=examples, seed=seed, shrink=False)
        if not run.passed:
            return PairResult(hidden, output, "equivalence refuted", _kill(run, prop), 1)
    return PairResult(hidden, output, "equivalent", None, len(props))


def run_control(prop_name: str, *, activation_names=None, examples: int = 10, seed: int = 0, pairs=None):
    """The right formulas (a clone made by the same machinery) through one property on every pair."""
    prop, acts = by_name(prop_name), _activations(activation_names)
    F = mistakes.formula_set(None)
    runs = [run_property(prop, F, hidden=h, output=o, examples=examples, seed=seed) for h, o in _pairs(acts, pairs)]
    return summarise(prop, runs)


def _activations(names) -> tuple[str, ...]:
    return activations.name_list(names, argument="activation_names")


def mutants(
    *,
    activation_names: Iterable[str] | None = None,
    examples: int = 10,
    seed: int = 0,
    ids: Iterable[str] | None = None,
    all_killers: bool = False,
    jobs: int | None = None,
    control: bool | Iterable[str] = True,
    shrink: bool = True,
    pairs=None,
    progress=None,
) -> MutantsReport:
    """Every catalogue mistake (or ``ids``) against every property, plus the control run.

    ``pairs`` replaces the product of the activations by an explicit list of
    (hidden, output) pairs.  ``control``: True runs the right formulas through every property, False
    through none, an iterable of property names through those.  ``jobs`` worker
    processes (default: the CPU count); ``progress`` sees each
    :class:`MutantResult` (and each control :class:`CheckSummary`) as it ends.
    """
    acts = _activations(activation_names)
    positive_int(examples, "examples")
    chosen = [mistakes.get(i).id for i in (ids if ids is not None else mistakes.ids())]
    positive_int(jobs, "jobs", optional=True)
    jobs = jobs or os.cpu_count() or 1
    start = time.perf_counter()
    kw = dict(activation_names=acts, examples=examples, seed=seed, pairs=None if pairs is None else _pairs(acts, pairs))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        names = [p.name for p in PROPERTIES] if control is True else [] if control is False else list(control)
        futures = [pool.submit(run_control, by_name(n).name, **kw) for n in names]
        n_checks = len(futures)
        futures += [pool.submit(run_mutant, i, all_killers=all_killers, shrink=shrink, **kw) for i in chosen]
        for future in as_completed(futures):
            if progress:
                progress(future.result())
        results = [f.result() for f in futures]
    checks, results = tuple(results[:n_checks]), tuple(results[n_checks:])
    ctrl = VerifyReport(all(c.passed for c in checks), seed, examples, acts, checks)
    passed = ctrl.passed and all(r.ok for r in results)
    return MutantsReport(
        passed, seed, examples, acts, tuple(_pairs(acts, pairs)), results, ctrl, time.perf_counter() - start, jobs
    )
