"""Grade submissions: plan → one sandbox run → checks in the parent → a result as data.

Per submission, normally ONE child process runs every call (plan.py).  A second run
happens only when (a) the activation detected from the student's forward outputs is
not the pair the reference intermediates were prepared for (the batch guesses the
pair seen most often so far, so in a class that shares an activation this is rare),
or (b) the primary layout made the student's code raise while a variant layout's
probe calls did not (θ as a column, flat intermediates): the whole plan is then
re-run in that layout and the better score is kept, with a note.  Results do not
depend on the guess: the activation-dependent calls run first in a fresh process
either way.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import NamedTuple

from gradcheck.grading import notebook
from gradcheck.grading.activation import detect_activation
from gradcheck.grading.advice import advise
from gradcheck.grading.checks import MAX_SCORE, CheckResult, Context, run_checks
from gradcheck.grading.contract import Contract, load_contract
from gradcheck.grading.entries import EntryErrors, entry_errors
from gradcheck.grading.files import collect_paths
from gradcheck.grading.plan import main_block, reference_block
from gradcheck.grading.problems import make_problems, reference
from gradcheck.grading.repro import with_examples
from gradcheck.grading.sandbox import runner as sandbox
from gradcheck.grading.sandbox.budget import Budget
from gradcheck.grading.sandbox.protocol import Prepared
from gradcheck.grading.sandbox.runner import SandboxUnavailable
from gradcheck.model import activations
from gradcheck.model.shapes import positive_int

__all__ = [
    "SubmissionResult",
    "grade_submission",
    "grade_many",
    "parse_activation",
    "detect_activation",
    "collect_paths",
]

OUTPUT_CAP = 8000
DEFAULT_PAIR = ("sigmoid", "sigmoid")


class SubmissionResult(NamedTuple):
    path: str
    status: str  # graded | timeout | output | memory | crashed | invalid (| error: a grader bug)
    score: float
    max_score: float
    activation: str  # "hidden,output"
    activation_source: str  # given | detected | assumed
    checks: tuple  # of CheckResult
    diagnosis: tuple  # of (mistake id, message)
    output: str  # what the submission printed (capped)
    message: str  # the sandbox's account of the run
    isolation: str
    layout: str
    notes: tuple
    seed: int
    wall_time: float
    entries: EntryErrors | None = None  # the wrong gradient entries of the first failing sample (heatmap)


def parse_activation(text) -> tuple[str, str] | None:
    """'relu' → (relu, relu); 'tanh,identity' → (tanh, identity); None → None (detect)."""
    return None if text is None else activations.pair(text, argument="activation")


def _context(problems, ref, contract, layout, run, path) -> Context:
    return Context(problems, ref, contract, layout, dict(run.calls), run.import_error, {}, Path(path).name)


def _layout_retry(ctx: Context) -> int | None:
    """Index of a variant layout worth a second run, if the primary one made the code raise."""
    raised = [
        cid
        for cid, r in ctx.calls.items()
        if r.status == "error" and cid.split("/")[0] in ("fwd", "row", "ref") and r.error_type != "AttributeError"
    ]
    if len(raised) < 4:
        return None
    for i in range(len(ctx.contract.layouts) - 1):
        probes = [ctx.calls.get(f"probe/{i}/{k}") for k in ("fwd", "grad")]
        if all(p is not None and p.status == "ok" for p in probes):
            return i + 1
    return None


def _failed_closed(
    path, status, message, output, isolation, seed, wall, activation, source, contract
) -> SubmissionResult:
    from gradcheck.grading.checks import CHECKS

    checks = tuple(
        CheckResult(name, title, points, 0.0, False, f"not run: {message}") for name, title, points, _ in CHECKS
    )
    return SubmissionResult(
        str(path),
        status,
        0.0,
        MAX_SCORE,
        ",".join(activation),
        source,
        checks,
        (),
        output,
        message,
        isolation,
        contract.layouts[0].name,
        (),
        seed,
        wall,
    )


def _output(run) -> str:
    parts = [
        f"--- {name} ---\n{text[:OUTPUT_CAP]}" + ("\n[truncated]" if len(text) > OUTPUT_CAP or cut else "")
        for name, text, cut in (
            ("stdout", run.stdout, run.stdout_truncated),
            ("stderr", run.stderr, run.stderr_truncated),
        )
        if text
    ]
    return "\n".join(parts)


_PLANS: dict = {}
_PLANS_LOCK = threading.Lock()


def _plan(problems, contract, layout, pair, *, main: bool, probes=()) -> Prepared:
    """The calls for one run, built and encoded once per batch (the same for every student)."""
    key = (problems.seed, problems.hidden, problems.output, id(contract), layout, pair, main, tuple(probes))
    with _PLANS_LOCK:
        if key not in _PLANS:
            if len(_PLANS) > 32:
                _PLANS.clear()
            calls = reference_block(problems, contract, layout, reference(problems, *pair))
            if main:
                calls += main_block(problems, contract, layout, probes=probes)
            _PLANS[key] = (contract, Prepared(calls))  # the contract is kept alive: its id stays unique
        return _PLANS[key][1]


def _attempt(path, problems, contract, layout, pair, given, opts, probes=()):
    """Run the plan in ``layout``; detect the activation; re-run the reference block if needed."""
    budget = opts["budget"]
    opts = {k: v for k, v in opts.items() if k != "budget"}
    runs = [budget.run(path, _plan(problems, contract, layout, pair, main=True, probes=probes), **opts)]
    ctx = _context(problems, reference(problems, *pair), contract, layout, runs[0], path)
    source = "given" if given else "assumed"
    if not given and runs[0].calls:
        hidden, output = detect_activation(ctx, (problems.hidden, problems.output))
        if hidden and output:
            source = "detected"
            if (hidden, output) != pair:
                pair = (hidden, output)
                runs.append(budget.run(path, _plan(problems, contract, layout, pair, main=False), **opts))
                ctx.calls.update(runs[-1].calls)
                ctx = ctx._replace(ref=reference(problems, *pair))
    return ctx, runs, pair, source


def grade_submission(
    path,
    *,
    contract: str | Contract | None = None,
    seed: int = 0,
    activation=None,
    timeout: float = 10.0,
    memory_mb: int = 1024,
    isolation: str = "auto",
    guess: tuple | None = None,
) -> SubmissionResult:
    """Grade one submission file (.py, or .ipynb: its code cells, see notebook.py); never raises
    for anything the submission does."""
    options = dict(seed=seed, activation=activation, timeout=timeout, memory_mb=memory_mb, isolation=isolation)
    contract = load_contract(contract)
    start = time.monotonic()
    try:
        with notebook.as_script(path) as (script, converted):
            result = _grade(path, script, contract=contract, guess=guess, **options)
    except notebook.NotebookError as exc:
        pair = parse_activation(activation) or DEFAULT_PAIR
        source = "given" if activation else "assumed"
        return _failed_closed(path, "invalid", str(exc), "", "", seed, time.monotonic() - start, pair, source, contract)
    return result._replace(notes=converted + result.notes) if converted else result


def _grade(path, script, *, contract, seed, activation, timeout, memory_mb, isolation, guess) -> SubmissionResult:
    """Grade the Python file ``script``, reported under the submission's ``path``."""
    given = parse_activation(activation)
    problems = make_problems(seed, hidden=given and given[0], output=given and given[1])
    opts = dict(budget=Budget(timeout), memory_mb=memory_mb, isolation=isolation)
    start = time.monotonic()
    layout = contract.layouts[0]
    ctx, runs, pair, source = _attempt(
        script, problems, contract, layout, given or guess or DEFAULT_PAIR, given, opts, probes=contract.layouts[1:]
    )
    if not runs[0].calls:
        run = runs[0]
        return _failed_closed(
            path,
            run.status,
            run.message,
            _output(run),
            run.isolation,
            seed,
            time.monotonic() - start,
            pair,
            source,
            contract,
        )
    checks, notes = run_checks(ctx), []
    variant = _layout_retry(ctx)
    if variant is not None:
        alt = _attempt(script, problems, contract, contract.layouts[variant], pair, given, opts)
        alt_checks = run_checks(alt[0])
        if sum(c.score for c in alt_checks) > sum(c.score for c in checks):
            (ctx, alt_runs, pair, source), checks = alt, alt_checks
            runs += alt_runs
            notes.append(
                f"graded with a variant layout: {ctx.layout.describe()}; your code raised with the "
                f"course's layout ({layout.describe()})"
            )
    checks = with_examples(ctx, checks)
    status = next((r.status for r in runs if r.status != "ok"), "ok")
    for note in (n for c in checks for n in c.notes):
        if note not in notes:
            notes.append(note)
    return SubmissionResult(
        str(path),
        "graded" if status == "ok" else status,
        round(sum(c.score for c in checks), 2),
        MAX_SCORE,
        ",".join(pair),
        source,
        tuple(checks),
        tuple(advise(ctx, checks, source=source)),
        _output(runs[0]),
        "; ".join(r.message for r in runs if r.message),
        runs[0].isolation,
        ctx.layout.name,
        tuple(notes),
        seed,
        time.monotonic() - start,
        entry_errors(ctx, checks),
    )


def grade_many(
    paths, *, jobs: int = 1, progress: Callable[[int, int, SubmissionResult], None] | None = None, **options
) -> list[SubmissionResult]:
    """Grade every file (in parallel with ``jobs`` threads, each waiting on its own child).
    Where concurrent boxes cannot be kept apart (the session fallback without a uid per box)
    ``jobs`` is forced to 1 and every result says so."""
    files = collect_paths(paths)
    positive_int(jobs, "jobs")
    forced = sandbox.concurrency_note(options.get("isolation", "auto")) if jobs > 1 else None
    jobs = 1 if forced else jobs
    given = parse_activation(options.get("activation"))
    problems = make_problems(options.get("seed", 0), hidden=given and given[0], output=given and given[1])
    reference(problems, *(given or DEFAULT_PAIR))  # warm the caches once
    seen, lock, done = collections.Counter(), threading.Lock(), [0]

    def one(path):
        with lock:
            guess = seen.most_common(1)[0][0] if seen else None
        try:
            result = grade_submission(path, guess=guess, **options)
        except (SandboxUnavailable, ValueError, OSError):
            raise  # the environment or the options, not this submission: stop
        except Exception as exc:
            result = _failed_closed(
                path,
                "error",
                f"grader error: {type(exc).__name__}: {exc}",
                "",
                "",
                0,
                0.0,
                given or DEFAULT_PAIR,
                "assumed",
                load_contract(options.get("contract")),
            )
        if forced:
            result = result._replace(notes=(*result.notes, forced))
        with lock:
            if result.activation_source == "detected":
                seen[tuple(result.activation.split(","))] += 1
            done[0] += 1
            if progress:
                progress(done[0], len(files), result)
        return result

    if jobs == 1:
        return [one(p) for p in files]
    results: dict[int, SubmissionResult] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(one, p): i for i, p in enumerate(files)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
    return [results[i] for i in range(len(files))]
