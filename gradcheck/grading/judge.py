"""Judging returned data: the grading context, tallies of items, readings, value comparisons.

A value is compared with :func:`gradcheck.checking.tolerance.compare` against honest per-entry
scales, at the precision of the dtype the student returned (float32: rtol 1.2e-4,
with a note; float64: 2.2e-13).  A float64 gradient that misses float64 precision but
agrees to 1e-5 is flagged as a numerical approximation (finite differences), not a
formula.  :func:`passes` is compare()'s verdict in a few numpy calls, for the common
case; failures go through compare() for their message.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gradcheck.checking.tolerance import allowance, compare, default_rtol, entry_name, within
from gradcheck.grading.contract import Contract, Layout
from gradcheck.grading.problems import ProblemSet, Reference
from gradcheck.grading.readings import Value, read_forward, read_gradients

__all__ = [
    "APPROXIMATE",
    "CheckResult",
    "Context",
    "Tally",
    "forward_reading",
    "gradient_reading",
    "judge",
    "passes",
    "call_error",
    "where",
    "worst_entries",
    "case_label",
    "namer",
]

APPROXIMATE = 1e-5  # a float64 gradient this close but not within rtol: a numerical approximation


class CheckResult(NamedTuple):
    name: str
    title: str
    points: float
    score: float
    passed: bool
    message: str
    notes: tuple = ()
    failures: tuple = ()  # (case, sample) of failed gradient items, for the diagnosis
    example: str = ""  # one small failing case the student can paste and rerun (grading.repro)


class Context(NamedTuple):
    problems: ProblemSet
    ref: Reference
    contract: Contract
    layout: Layout
    calls: dict  # call id -> CallResult
    import_error: str | None
    memo: dict | None = None  # readings already made: {(kind, call id, ...): (CallResult, reading)}
    file: str = "your file"  # the submission's file name, for line numbers in messages


class Tally:
    def __init__(self):
        self.total, self.passed, self.problems, self.notes, self.failures = 0, 0, [], [], []
        self.not_run = ""  # why the check could not observe what it needs (no credit)

    def skip(self, why: str):
        self.not_run = why

    def item(self, ok: bool, problem: str = "", where=None):
        self.total += 1
        self.passed += ok
        if not ok:
            self.problems.append(problem or "no result")
            if where is not None:
                self.failures.append(where)

    def note(self, text: str):
        if text and text not in self.notes:
            self.notes.append(text)


def call_error(result, file: str = "your file") -> str:
    """'' for a call that returned; else 'not run' or 'raised T: message at FILE:LINE (`source`)'."""
    if result is None:
        return "not run"
    if result.status != "error":
        return ""
    if result.error_type in ("NotRun", "ImportError") and result.message.startswith("not run"):
        return f"was {result.message}"  # never called: the import failed, or an earlier call exhausted memory
    return f"raised {result.message}{where(result, file)}"


def where(result, file: str = "your file") -> str:
    """' at FILE:LINE in f: `source`' for the innermost frame of the submission in an error, or ''."""
    frames = getattr(result, "frames", ())
    if not frames:
        return ""
    line, function, source = frames[-1]
    return f" at {file}:{line} in {function}" + (f": `{source}`" if source else "")


def case_label(problems, c) -> str:
    case = problems.cases[c]
    return f"d={case.d}, m={case.m}"


def _memo(ctx: Context, key, result, read):
    """read() once per (key, CallResult object); no caching without a memo."""
    if ctx.memo is None:
        return read()
    hit = ctx.memo.get(key)
    if hit is None or hit[0] is not result:
        hit = ctx.memo[key] = (result, read())
    return hit[1]


def forward_reading(ctx: Context, cid: str, n: int, m: int):
    """(readings, error) for forward call ``cid``."""
    r = ctx.calls.get(cid)
    if call_error(r):
        return None, f"{ctx.contract.forward.function} {call_error(r, ctx.file)}"
    return _memo(ctx, ("forward", cid, n, m), r, lambda: (read_forward(ctx.contract, r.values, r.kinds, n, m), ""))


def gradient_reading(ctx: Context, cid: str, d: int, m: int):
    """(readings, error) for gradient call ``cid``."""
    r = ctx.calls.get(cid)
    if call_error(r):
        return None, f"{ctx.contract.gradients.function} {call_error(r, ctx.file)}"
    return _memo(
        ctx,
        ("gradients", cid, d, m, ctx.layout),
        r,
        lambda: (read_gradients(ctx.contract, r.values, r.kinds, d, m, ctx.layout), ""),
    )


def judge(value: Value, want, scale, name, t: Tally, label: str, where=None) -> str:
    """Compare one block at the precision of its dtype; returns 'ok', 'approx' or 'wrong'."""
    if value.array is None:
        t.item(False, f"{label}: {value.error}", where)
        return "wrong"
    t.note(value.note)
    dtype = np.dtype(value.dtype) if value.dtype in ("float16", "float32", "float64", "longdouble") else np.float64
    if passes(value.array, want, scale, default_rtol(dtype)):
        c = None
    else:
        c = compare(value.array, want, scale=scale, rtol=default_rtol(dtype), name=name)
    if c is None or c.passed:
        if dtype != np.float64:
            t.note(
                f"{label.split(' ')[0]} returned as {dtype.name}: judged at {dtype.name} precision "
                f"(rtol {default_rtol(dtype):.1e})"
            )
        t.item(True)
        return "ok"
    if dtype == np.float64 and compare(value.array, want, scale=scale, rtol=APPROXIMATE).passed:
        t.item(
            False,
            f"{label}: agrees only to {c.max_rel_error:.1e} (worst {c.worst}): a numerical "
            "approximation (finite differences?), not the formula",
            where,
        )
        return "approx"
    worst = worst_entries(value.array, want, scale, default_rtol(dtype), name, 1)
    t.item(False, f"{label}: {c.n_failed} of {np.size(want)} entries disagree; worst {worst}", where)
    return "wrong"


def _g(v: float) -> str:
    return "0" if v == 0 else f"{v:.6g}".replace("-", "−")


def worst_entries(actual, want, scale, rtol, name=None, k: int = 3) -> str:
    """The k entries furthest outside the tolerance: returned, expected, absolute error, and the relative
    error where the expected value is not 0 (absolute alone where it is)."""
    a, r = np.asarray(actual, float).ravel(), np.asarray(want, float).ravel()
    name = name or (lambda i: f"[{', '.join(map(str, np.unravel_index(i, np.shape(want))))}]")
    excess = np.abs(a - r) / allowance(np.broadcast_to(scale, np.shape(want)), rtol=rtol).ravel()
    bad = np.flatnonzero(~within(a, r, np.broadcast_to(scale, np.shape(want)).ravel(), rtol=rtol))
    parts = []
    for i in bad[np.argsort(-excess[bad], kind="stable")][:k]:
        err = abs(a[i] - r[i])
        rel = f", rel. error {err / abs(r[i]):.1e}" if r[i] else "; the expected value is 0"
        parts.append(f"{name(i)} = {_g(a[i])}, expected {_g(r[i])} (abs. error {err:.1e}{rel})")
    return "; ".join(parts)


def passes(actual, reference, scale, rtol) -> bool:
    """compare(...).passed for exact-oracle references, in a few numpy calls (the common case);
    anything else goes through compare() for its message."""
    a, r = np.asarray(actual), np.asarray(reference)
    if a.shape != r.shape or a.dtype.kind not in "biuf":
        return False
    return bool(np.all(within(a, r, scale, rtol=rtol)))


def namer(case, block):
    offset = 0 if block == "w_h" else (case.d + 1) * case.m
    return lambda i: entry_name(offset + i, case.d, case.m)
