"""The benchmark's problems and the wrong gradients injected into them.

One network throughout: one sample, sigmoid hidden and output, bias last, x ~ N(0, 1),
w_h ~ N(0, 1/(d+1)), θ ~ N(0, 1/(m+1)), y ~ U(0, 1), fixed seed.  Mistakes come from
:mod:`gradcheck.mistakes.catalogue` (``formula_set``: every catalogue mistake that changes the
single-sample gradient and is not the same function for sigmoid layers).
"""

from __future__ import annotations

import numpy as np
from tools import Gradient, Problem

from gradcheck.mistakes import catalogue as mistakes
from gradcheck.model import formulas
from gradcheck.model.network import forward, unpack

SIZES = [(20, 50), (100, 200), (1000, 1000)]
ENTRY = (3, 1)  # the single entry scaled by (1 + ε): w_h[3, 1]


def problem(d: int, m: int, *, seed: int = 0, hidden="sigmoid", output="sigmoid", residual=None) -> Problem:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=d)
    w_h, theta = rng.normal(size=(d + 1, m)) / np.sqrt(d + 1), rng.normal(size=m + 1) / np.sqrt(m + 1)
    y = float(rng.uniform())
    if residual is not None:  # ŷ − y = residual: the small-gradient regime
        y = float(forward(x, 0.0, w_h, theta, hidden=hidden, output=output).y_hat) - residual
    return Problem(x, y, w_h, theta, hidden, output)


def kink_problem(d: int, m: int, *, seed: int = 0) -> Problem:
    """ReLU hidden layer with pre_h = 0 exactly in 5 columns (their w_h columns are 0)."""
    p = problem(d, m, seed=seed, hidden="relu")
    w_h = p.w_h.copy()
    w_h[:, :5] = 0.0
    return p._replace(w_h=w_h)


def _formula_gradient(F, prob: Problem) -> Gradient:
    def at(p):
        w_h, theta = unpack(np.asarray(p, dtype=np.float64), prob.d, prob.m)
        g = F.gradients(prob.x, prob.y, w_h, theta, **prob.kwargs)
        return np.asarray(g.w_h), np.asarray(g.theta)

    return Gradient(at)


def right(prob: Problem) -> Gradient:
    return _formula_gradient(formulas, prob)


def scaled_entry(prob: Problem, factor: float) -> Gradient:
    base = right(prob)

    def at(p):
        gw, gt = base.at(p)
        gw = gw.copy()
        gw[ENTRY] *= factor
        return gw, gt

    return Gradient(at)


def catalogue(prob: Problem) -> dict:
    """Mistake id -> wrong Gradient, for this problem's activations."""
    out = {}
    for m in mistakes.CATALOGUE:
        if not mistakes.changes(m, "gradients") or m.id.startswith("batch_"):
            continue
        if m.equivalent_when is not None and m.equivalent_when(prob.hidden, prob.output):
            continue
        out[m.id] = _formula_gradient(mistakes.formula_set(m), prob)
    return out


def detection_cases(d: int, m: int, *, seed: int = 0) -> list:
    """(case, regime, Problem, Gradient, expect_pass) rows of the detection table."""
    rows = []
    for regime, prob in (
        ("ordinary", problem(d, m, seed=seed)),
        ("ŷ − y = 1e-4", problem(d, m, seed=seed, residual=1e-4)),
    ):
        rows.append(("right gradient", regime, prob, right(prob), True))
        rows += [(mid, regime, prob, g, False) for mid, g in catalogue(prob).items()]
        rows += [
            (f"w_h[{ENTRY[0]}, {ENTRY[1]}] × {f}", regime, prob, scaled_entry(prob, f), False)
            for f in (1.1, 1.01, 1.000001)
        ]
    kink = kink_problem(d, m, seed=seed)
    rows.append(("right gradient, pre_h = 0 (relu kinks)", "relu kinks", kink, right(kink), True))
    return rows
