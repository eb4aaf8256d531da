"""Sensitivity: the smallest relative perturbation δ of the formulas that the default checks detect.

A perturbed formula set returns the right gradient × (1 + δ) on one *target*: all
of ∇θ (eq. 6), all of ∇w_h (eq. 11), the largest entry of (∇w_h, ∇θ), or one
random nonzero entry.  For each drawn problem (the default strategy,
:func:`gradcheck.checking.strategies.problems`, hidden = output = the activation) and each
check, δ* is the smallest δ on the grid 1e-14 … 1e-1 (decades, then 2× and 5×
steps) at which the check fails; detection grows with δ, so a bisection over the
grid finds it.  Per activation the report gives, over examples, the largest δ*
(every example detects a perturbation this large) and the median.  Targets that
are exactly 0 (ReLU units off) cannot be perturbed relatively and are left out.

Examples are split by regime: the tolerance of :mod:`gradcheck.checking.tolerance` is
1000·eps relative to an entry's honest scale max(|ŷ − y|, R)·|∂ŷ/∂p|, where eps·R
bounds the rounding of ŷ − y, so δ* ≈ 1000·eps·max(1, R/|ŷ − y|): ≈ 5e-13 when
ŷ − y is of order 1, larger when ŷ − y is tiny and rounding limits what anyone
can know about the gradient (the strategy draws ŷ − y ∈ {±1e-4, 1e-8} on purpose).
A random entry far below its block's largest one (under the 1e-6 scale floor; a
saturated σ' gives entries 1e-185 of the largest) is judged against that floor,
so its δ* can exceed the grid (reported as inf); the summary (:meth:`worst`)
therefore covers the blocks and the largest entry, the full table every target.

For comparison, torch.autograd.gradcheck's default criterion |a − b| ≤ atol +
rtol·|b| (atol 1e-5, rtol 1e-3) applied to the same perturbed gradient against
the exact one detects δ only above min_i (rtol + atol/|b_i|) over the perturbed
entries — at best 1e-3 — so it passes a single entry off by 1 % whenever that
entry is below 1.1e-3 in magnitude.  (This is optimistic for torch: it compares
with finite differences, whose own error adds to the tolerance.)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from gradcheck.checking.properties import NotApplicable, by_name
from gradcheck.checking.strategies import problems
from gradcheck.mistakes import catalogue as mistakes
from gradcheck.model import activations, formulas
from gradcheck.model.shapes import positive_int

__all__ = [
    "TARGETS",
    "CHECKS",
    "GRID",
    "REGIMES",
    "Row",
    "SensitivityReport",
    "sensitivity",
    "threshold",
    "draw_problems",
]

TARGETS = ("∇θ block", "∇w_h block", "largest entry", "random entry")
CHECKS = ("vs autodiff", "vs finite differences")
GRID = tuple(sorted(k * 10.0**e for e in range(-14, 0) for k in (1, 2, 5)))
TORCH_ATOL, TORCH_RTOL = 1e-5, 1e-3
REGIMES = ("|ŷ − y| ≥ 1e-3", "|ŷ − y| ≈ 1e-4", "|ŷ − y| ≈ 1e-8")


class Row(NamedTuple):
    activation: str  # hidden = output
    target: str
    regime: str  # one of REGIMES: how small ŷ − y is
    check: str  # one of CHECKS, 'default checks' (the smaller δ* of the two) or 'torch criterion'
    examples: int  # examples with a nonzero target
    worst: float  # max over examples of δ*: every example detects δ ≥ worst
    median: float
    best: float  # min over examples of δ*
    detected_1e_6: float  # fraction of examples detecting δ = 1e-6
    detected_1e_2: float  # fraction of examples detecting δ = 1e-2 (an entry off by 1 %)


class SensitivityReport(NamedTuple):
    rows: tuple[Row, ...]
    examples: int
    seed: int
    grid: tuple[float, ...]

    def worst(
        self,
        activation: str,
        check: str = "default checks",
        regime: str = REGIMES[0],
        targets=("∇θ block", "∇w_h block", "largest entry"),
    ) -> float:
        """Max δ* over the examples of ``regime`` and the ``targets``."""
        return max(
            (
                r.worst
                for r in self.rows
                if r.activation == activation and r.check == check and r.regime == regime and r.target in targets
            ),
            default=np.nan,
        )


def draw_problems(hidden: str, output: str, n: int, seed: int):
    """The first ``n`` problems the default strategy draws for this seed."""
    drawn = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=n, database=None, deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
    )
    @given(st.data())
    def body(data):
        drawn.append(data.draw(problems(hidden=hidden, output=output)))

    body()
    return drawn[:n]


def _where(target, p, rng):
    """(block, index) to perturb; index None for a whole block, or None if the target is 0."""
    g = formulas.gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
    if target.endswith("block"):
        block = "theta" if "θ" in target else "w_h"
        return (block, None) if np.any(getattr(g, block)) else None
    flat = [
        (b, np.unravel_index(i, getattr(g, b).shape), abs(v))
        for b in ("w_h", "theta")
        for i, v in enumerate(getattr(g, b).ravel())
        if v != 0
    ]
    if not flat:
        return None
    pick = max(flat, key=lambda t: t[2]) if target == "largest entry" else flat[rng.integers(len(flat))]
    return pick[0], pick[1]


def perturbed(block, index, delta):
    """A formula set whose ∇ block (or one entry of it) is the right one × (1 + δ)."""

    def bump(g):
        g = np.array(g, dtype=np.float64)
        if index is None:
            return g * (1 + delta)
        g[index] *= 1 + delta
        return g

    def grad_w_h(f, y, theta, *, hidden="sigmoid", output="sigmoid"):
        return bump(formulas.grad_w_h(f, y, theta, hidden=hidden, output=output))

    def grad_theta(f, y, *, output="sigmoid"):
        return bump(formulas.grad_theta(f, y, output=output))

    over = {"w_h": dict(grad_w_h=grad_w_h), "theta": dict(grad_theta=grad_theta)}[block]
    return mistakes.formula_set(mistakes.Mistake("perturbed", f"{block} × (1 + δ)", "", "", "", over))


def _detects(check, p, block, index, delta) -> bool:
    prop = by_name(f"grad_{block} {check}")
    try:
        return not prop.check(perturbed(block, index, delta), p).passed
    except NotApplicable:
        return False


def threshold(check, p, block, index) -> float:
    """δ*: the smallest grid δ the check detects (inf if none), by bisection over GRID."""
    lo, hi = -1, len(GRID)  # GRID[lo] undetected (virtual), GRID[hi] detected (virtual)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _detects(check, p, block, index, GRID[mid]) else (mid, hi)
    return GRID[hi] if hi < len(GRID) else np.inf


def torch_threshold(p, block, index) -> float:
    """The smallest δ torch's allclose criterion detects: min_i (rtol + atol/|b_i|) over the perturbed entries."""
    b = np.abs(getattr(formulas.gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs), block))
    b = b[index] if index is not None else b
    b = np.atleast_1d(b)[np.atleast_1d(b) > 0]
    with np.errstate(over="ignore"):  # subnormal entries: δ* = inf
        return float(np.min(TORCH_RTOL + TORCH_ATOL / b))


RESIDUALS = (1e-4, 1e-8)  # ŷ − y of the small-residual regimes


def _every_regime(probs: list) -> list:
    """The drawn problems, and each one with ŷ − y set to every small residual of REGIMES: every
    regime is measured on every drawn network (the strategy reaches ŷ − y = 1e-8 in ≈ 5 % of
    draws only, so a regime left to chance can go unmeasured)."""
    out = list(probs)
    for p in probs:
        y_hat = formulas.forward(p.x, p.y, p.w_h, p.theta, **p.kwargs).y_hat
        if abs(float(y_hat - p.y)) >= 1e-3:
            out += [p._replace(y=np.asarray(y_hat - r, dtype=np.float64)) for r in RESIDUALS]
    return out


def _regime(p) -> str:
    r = abs(float(formulas.forward(p.x, p.y, p.w_h, p.theta, **p.kwargs).y_hat - p.y))
    return REGIMES[0] if r >= 1e-3 else REGIMES[1] if r >= 1e-6 else REGIMES[2]


def _rows(activation, target, per):
    rows = []
    for (regime, check), ts in sorted(per.items(), key=lambda kv: (REGIMES.index(kv[0][0]), kv[0][1])):
        ts = np.asarray(ts, dtype=float)
        rows.append(
            Row(
                activation,
                target,
                regime,
                check,
                int(ts.size),
                float(ts.max()),
                float(np.median(ts)),
                float(ts.min()),
                float(np.mean(ts <= 1e-6)),
                float(np.mean(ts <= 1e-2)),
            )
        )
    return rows


def sensitivity_of(activation: str, examples: int = 20, seed: int = 0) -> list[Row]:
    """Every target and check for one activation (hidden = output)."""
    a = activations.get(activation, argument="activation").name
    rng = np.random.default_rng(seed)
    probs = _every_regime(draw_problems(a, a, examples, seed))
    rows = []
    for target in TARGETS:
        per: dict = {}
        for p in probs:
            where = _where(target, p, rng)
            if where is None:
                continue
            ts = [threshold(c, p, *where) for c in CHECKS]
            found = {**dict(zip(CHECKS, ts)), "default checks": min(ts), "torch criterion": torch_threshold(p, *where)}
            for c, t in found.items():
                per.setdefault((_regime(p), c), []).append(t)
        rows += _rows(a, target, per)
    return rows


def sensitivity(
    *, activation_names=None, examples: int = 20, seed: int = 0, jobs: int | None = None, progress=None
) -> SensitivityReport:
    """:func:`sensitivity_of` for every activation, in ``jobs`` processes; ``progress`` sees each
    activation's name as its rows are done."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    acts = activations.name_list(activation_names, argument="activation_names")
    positive_int(examples, "examples")
    jobs = jobs or os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(sensitivity_of, a, examples, seed) for a in acts]
        parts = []
        for a, future in zip(acts, futures):  # in order: the report does not depend on timing
            parts.append(future.result())
            if progress:
                progress(a)
    return SensitivityReport(tuple(r for part in parts for r in part), examples, seed, GRID)
