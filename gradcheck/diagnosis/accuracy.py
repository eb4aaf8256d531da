"""How often :func:`gradcheck.diagnosis.diagnose.diagnose` names the mistake that made a gradient.

Each case draws a catalogue mistake that changes single-sample gradients
(uniformly) and a random problem (d, m ∈ 1..4, activations drawn per layer,
entries uniform in [−3, 3], ReLU pre-activations ≥ 1e-3 from the kink; y free,
or ŷ − y ∈ {±1e-4, 1e-8} in a quarter of the cases).  The observed gradient is
the mistake's, computed as an independent implementation would: y moved by
~eps·max(|ŷ|, |y|) (the rounding of ŷ − y) and every entry by a relative
~``noise``·eps.

Scoring, per case:
* ``equivalent`` — the mistake gives the right gradient on this problem (within
  the strict tolerance): no diagnosis can name it; counted apart, not scored;
* ``top1`` — the mistake is among the full matches the diagnosis lists first (the
  mistakes that reproduce the observed gradient are tied: they are the same
  function on this example); ``strict`` — it is listed first (catalogue order);
* otherwise a miss.
Controls: the right gradient (formulas, same noise) and the autodiff oracle's
gradient on every problem must be diagnosed correct with no mistake named.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from gradcheck.checking.scale import gradient_scale
from gradcheck.diagnosis.diagnose import candidate_ids, diagnose
from gradcheck.diagnosis.patterns import matches
from gradcheck.mistakes import catalogue as mistakes
from gradcheck.model import activations, formulas
from gradcheck.model.network import forward_unchecked
from gradcheck.model.shapes import positive_int
from gradcheck.oracles import autodiff

__all__ = [
    "Accuracy",
    "random_problem",
    "accuracy",
]

EPS = np.finfo(np.float64).eps


class Accuracy(NamedTuple):
    cases: int
    equivalent: int  # mistake = right gradient on its problem: not scored
    scored: int
    top1: int  # true id among the tied full matches listed first
    strict_top1: int  # true id listed first
    tied: int  # scored cases with more than one full match
    per_mistake: dict  # id → [scored, top1, strict, equivalent]
    control_false_alarms: int  # right gradients (formulas + noise, autodiff) not judged correct / named a mistake
    controls: int
    misses: tuple  # up to 20 (id, hidden, output, d, m, listed ids)
    seed: int
    noise: float
    seconds: float

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.scored if self.scored else 1.0

    @property
    def strict_rate(self) -> float:
        return self.strict_top1 / self.scored if self.scored else 1.0


def random_problem(rng: np.random.Generator):
    """(x, y, w_h, θ, hidden, output), ReLU pre-activations kept 1e-3 from the kink."""
    names = activations.names()
    hidden, output = names[rng.integers(len(names))], names[rng.integers(len(names))]
    d, m = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    while True:
        x, w_h, theta = rng.uniform(-3, 3, d), rng.uniform(-3, 3, (d + 1, m)), rng.uniform(-3, 3, m + 1)
        f = forward_unchecked(x, 0.0, w_h, theta, hidden=hidden, output=output)
        near = [f.pre_h] * (hidden == "relu") + [f.pre_y] * (output == "relu")
        if all(np.min(np.abs(v)) >= 1e-3 for v in near):
            break
    y = rng.uniform(-3, 3) if rng.random() < 0.75 else float(f.y_hat) - rng.choice([1e-4, -1e-4, 1e-8])
    return x, np.float64(y), w_h, theta, hidden, output


def _noisy(F, rng, noise, x, y, w_h, theta, kw):
    f = forward_unchecked(x, y, w_h, theta, **kw)
    y_moved = y + EPS * max(abs(f.y_hat), abs(y)) * rng.normal()
    g = F.gradients(x, y_moved, w_h, theta, **kw)
    jitter = lambda a: np.asarray(a) * (1 + noise * EPS * rng.normal(size=np.shape(a)))
    return formulas.Gradients(jitter(g.w_h), jitter(g.theta))


def _same_as_right(F, x, y, w_h, theta, kw) -> bool:
    g, r = F.gradients(x, y, w_h, theta, **kw), formulas.gradients(x, y, w_h, theta, **kw)
    s = gradient_scale(x, y, w_h, theta, **kw)
    return all(matches(np.asarray(a, float), b, c) for a, b, c in zip(g, r, s))


def _control_ok(g, x, y, w_h, theta, kw) -> bool:
    dg = diagnose(g, x, y, w_h, theta, **kw)
    return dg.correct and not dg.mistakes


def accuracy(*, cases: int = 1000, seed: int = 0, noise: float = 8.0, ids=None) -> Accuracy:
    """Run ``cases`` random (mistake, problem) cases; see the module docstring."""
    positive_int(cases, "cases")
    if not noise >= 0:
        raise ValueError(f"noise: expected a non-negative number of eps, got {noise!r}")
    pool = tuple(mistakes.get(i).id for i in ids) if ids is not None else candidate_ids(False)
    rng, start = np.random.default_rng(seed), time.perf_counter()
    per = {i: [0, 0, 0, 0] for i in pool}
    tied = alarms = 0
    misses = []
    for _ in range(cases):
        i = pool[rng.integers(len(pool))]
        x, y, w_h, theta, hidden, output = random_problem(rng)
        kw = dict(hidden=hidden, output=output)
        F = mistakes.formula_set(i)
        alarms += not _control_ok(_noisy(formulas, rng, noise, x, y, w_h, theta, kw), x, y, w_h, theta, kw)
        alarms += not _control_ok(autodiff.gradients(x, y, w_h, theta, **kw), x, y, w_h, theta, kw)
        if _same_as_right(F, x, y, w_h, theta, kw):
            per[i][3] += 1
            continue
        listed = [
            mm.id
            for mm in diagnose(_noisy(F, rng, noise, x, y, w_h, theta, kw), x, y, w_h, theta, **kw).mistakes
            if mm.full
        ]
        per[i][0] += 1
        per[i][1] += i in listed
        per[i][2] += bool(listed) and listed[0] == i
        tied += len(listed) > 1
        if i not in listed and len(misses) < 20:
            misses.append((i, hidden, output, len(x), w_h.shape[1], tuple(listed)))
    tot = [sum(v[k] for v in per.values()) for k in range(4)]
    return Accuracy(
        cases,
        tot[3],
        tot[0],
        tot[1],
        tot[2],
        tied,
        per,
        alarms,
        2 * cases,
        tuple(misses),
        seed,
        noise,
        time.perf_counter() - start,
    )
