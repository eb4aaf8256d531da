"""The inputs every submission is graded on, and the reference answers — deterministic per seed.

One :class:`ProblemSet` serves a whole batch.  Its inputs are chosen *before* the
student's activation is known (it is detected from the same run), so they are sane
for every candidate activation at once: |pre_h| ∈ [0.1, 2.5] (no saturation, relu
at least 0.1 from its kink), |pre_y| ∈ [0.15, 3] under every candidate hidden
activation, a relu hidden layer has an active unit in every gradient sample, and
(when relu is a candidate output) the first gradient sample of every case is active
and, when m ≥ 2, the second inactive — so relu and the identity can be told apart.
Rows are drawn by rejection with numpy's seeded generator: no hypothesis, no global
state.

Shapes: d = 1 (the course's case) with m = 1, 3, 6; m = 1 with d = 2; d > 1 up to 5,
including d + 1 = m (a transposed ∇w_h has the right shape there); every forward
batch has n ≥ 3.  The SGD set is a small d = 1 regression problem on
which reference SGD lowers the loss by at least a third for every candidate pair.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from gradcheck.checking.scale import gradient_scale
from gradcheck.model import activations, formulas, network

__all__ = ["Case", "SGDSet", "ProblemSet", "CaseReference", "Reference", "make_problems", "reference", "SHAPES"]

SHAPES = ((1, 1), (1, 3), (1, 6), (2, 1), (3, 2), (3, 4), (4, 3), (5, 2))
SAMPLES = 2  # gradient samples per case: the first rows of X
DIRECTIONS = 1  # random directions for finite differences of the student's own forward
PRE_H, PRE_Y = (0.1, 2.5), (0.15, 3.0)
SGD_STEP, SGD_EPOCHS, SGD_N = 0.2, 4, 8


class Case(NamedTuple):
    d: int
    m: int
    X: np.ndarray  # (n, d): the forward batch; rows [:SAMPLES] are the gradient samples
    Y: np.ndarray  # (n,)
    w_h: np.ndarray  # (d+1, m)
    theta: np.ndarray  # (m+1,)
    directions: np.ndarray  # (DIRECTIONS, P): finite-difference directions in pack(w_h, θ) coordinates


class SGDSet(NamedTuple):
    X: np.ndarray  # (n, 1)
    Y: np.ndarray  # (n,)
    w_h: np.ndarray
    theta: np.ndarray
    order: np.ndarray  # sample index of every step (epochs × n)
    step: float


class ProblemSet(NamedTuple):
    seed: int
    hidden: tuple  # the hidden activations the inputs are sane for
    output: tuple
    cases: tuple
    sgd: SGDSet


def _pre_y(X, w_h, theta, hidden):
    """(len(hidden), n): pre_y under every candidate hidden activation."""
    pre_h = network.append_one(X) @ w_h
    return np.stack([network.append_one(activations.get(a).sigma(pre_h)) @ theta for a in hidden])


def _classify_rows(X, w_h, theta, hidden, output):
    """Masks over candidate rows: sane at all; relu-hidden-active; output active / inactive under
    every candidate hidden activation."""
    pre_h = network.append_one(X) @ w_h
    sane = np.all((np.abs(pre_h) >= PRE_H[0]) & (np.abs(pre_h) <= PRE_H[1]), axis=1)
    pre_y = _pre_y(X, w_h, theta, hidden)
    sane &= np.all((np.abs(pre_y) >= PRE_Y[0]) & (np.abs(pre_y) <= PRE_Y[1]), axis=0)
    unit = np.any(pre_h > 0, axis=1) if "relu" in hidden else np.ones(len(X), bool)
    return sane, sane & unit, np.all(pre_y > 0, axis=0), np.all(pre_y < 0, axis=0)


def _case(rng, d, m, n, hidden, output) -> Case:
    """Rows: [active sample, second sample (inactive output when relu is a candidate and m ≥ 2),
    the rest of the batch]."""
    relu_out = "relu" in output
    for _ in range(2000):
        w_h = rng.normal(0.0, 1.2 / np.sqrt(d + 1), (d + 1, m))
        theta = rng.normal(0.0, 1.0, m + 1)
        X = rng.uniform(-1.5, 1.5, (200, d))
        sane, sample, active, inactive = _classify_rows(X, w_h, theta, hidden, output)
        first = np.flatnonzero(sample & active) if relu_out else np.flatnonzero(sample)
        second = np.flatnonzero(sample & inactive) if relu_out and m >= 2 else np.flatnonzero(sample)
        if len(first) == 0 or len(second) == 0:
            continue
        i, j = first[0], next((k for k in second if k != first[0]), None)
        rest = [k for k in np.flatnonzero(sane) if k not in (i, j)][: n - 2]
        if j is None or len(rest) < n - 2:
            continue
        P = (d + 1) * m + m + 1
        directions = rng.normal(size=(DIRECTIONS, P))
        directions /= np.abs(directions).max(axis=1, keepdims=True)
        return Case(d, m, X[[i, j, *rest]], rng.uniform(-0.5, 1.2, n), w_h, theta, directions)
    raise RuntimeError(f"could not draw sane inputs for d={d}, m={m}")  # pragma: no cover


def _sgd_losses(s: SGDSet, hidden, output) -> tuple[float, float]:
    kw = dict(hidden=hidden, output=output)
    w_h, theta = s.w_h.copy(), s.theta.copy()
    start = network.loss(s.X, s.Y, w_h, theta, **kw)
    with np.errstate(all="ignore"):
        for i in s.order:
            g = formulas.gradients(s.X[i], s.Y[i], w_h, theta, **kw)
            w_h, theta = w_h - s.step * g.w_h, theta - s.step * g.theta
            if not (np.all(np.isfinite(w_h)) and np.all(np.isfinite(theta))):
                return start, np.inf  # diverged: this draw is rejected
    return start, network.loss(s.X, s.Y, w_h, theta, **kw)


def _sgd_set(rng, hidden, output) -> SGDSet:
    X = np.linspace(-1.0, 1.0, SGD_N)[:, None]
    Y = 0.5 + 0.3 * np.sin(2.5 * X[:, 0])
    order = np.concatenate([rng.permutation(SGD_N) for _ in range(SGD_EPOCHS)])
    for _ in range(1000):
        w_h = rng.normal(0.0, 1.0, (2, 4))
        theta = np.append(rng.normal(0.0, 0.5, 4), 0.3)
        pre_h = network.append_one(X) @ w_h
        if np.any(np.abs(pre_h) < 0.05) or np.any(_pre_y(X, w_h, theta, hidden) < 0.05):
            continue
        s = SGDSet(X, Y, w_h, theta, order, SGD_STEP)
        if all(end < start * (2 / 3) for start, end in (_sgd_losses(s, h, o) for h in hidden for o in output)):
            return s
    raise RuntimeError("could not draw an SGD problem on which reference SGD descends")  # pragma: no cover


def _names(value, argument) -> tuple:
    if value is None:
        return activations.names()
    names = (value,) if isinstance(value, str) else tuple(value)
    return tuple(activations.get(a, argument=argument).name for a in names)


def make_problems(seed: int = 0, *, hidden=None, output=None) -> ProblemSet:
    """The problem set for ``seed``, sane for the given activations (default: all built-ins)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return _make(seed, _names(hidden, "hidden"), _names(output, "output"))


@functools.lru_cache(maxsize=8)
def _make(seed: int, hidden: tuple, output: tuple) -> ProblemSet:
    rng = np.random.default_rng([seed, 2023])
    cases = tuple(_case(rng, d, m, 3 + i % 3, hidden, output) for i, (d, m) in enumerate(SHAPES))
    return ProblemSet(seed, hidden, output, cases, _sgd_set(rng, hidden, output))


# ----------------------------------------------------------------- references
class CaseReference(NamedTuple):
    forward: network.Forward  # the batch
    forward_scale: dict  # {name: per-entry magnitude of the terms that make it}
    gradients: tuple  # per gradient sample: formulas.Gradients
    scales: tuple  # per gradient sample: gradient_scale(...)


class Reference(NamedTuple):
    hidden: str
    output: str
    cases: tuple  # CaseReference per case
    sgd_start: float
    sgd_end: float  # the loss after reference SGD


def _forward_scale(f: network.Forward, w_h, theta, hidden, output) -> dict:
    d_h = np.abs(activations.get(hidden).dsigma(f.pre_h))
    d_y = np.abs(activations.get(output).dsigma(f.pre_y))
    s_pre_h = np.abs(f.x_bar) @ np.abs(w_h)
    s_h = np.abs(f.h) + d_h * s_pre_h
    s_pre_y = np.abs(f.h_bar) @ np.abs(theta) + s_h @ np.abs(theta[:-1])
    return {"pre_h": s_pre_h, "h": s_h, "pre_y": s_pre_y, "y_hat": np.abs(f.y_hat) + d_y * s_pre_y}


def reference(problems: ProblemSet, hidden: str, output: str) -> Reference:
    """Reference forward values, gradients and honest scales for one activation pair (cached)."""
    return _reference(problems.seed, problems.hidden, problems.output, hidden, output)


@functools.lru_cache(maxsize=64)
def _reference(seed, hidden_set, output_set, hidden, output) -> Reference:
    problems = _make(seed, hidden_set, output_set)
    kw = dict(hidden=hidden, output=output)
    cases = []
    for c in problems.cases:
        f = network.forward_unchecked(c.X, c.Y, c.w_h, c.theta, **kw)
        rows = range(SAMPLES)
        grads = tuple(formulas.gradients(c.X[i], c.Y[i], c.w_h, c.theta, **kw) for i in rows)
        scales = tuple(gradient_scale(c.X[i], c.Y[i], c.w_h, c.theta, **kw) for i in rows)
        cases.append(CaseReference(f, _forward_scale(f, c.w_h, c.theta, hidden, output), grads, scales))
    start, end = _sgd_losses(problems.sgd, hidden, output)
    return Reference(hidden, output, tuple(cases), start, end)
