"""A gradient that agrees with the right one only to a few digits: a numerical approximation.

:func:`approximation_pattern` fires when every observation of a block is wrong but within
``MAX_REL`` (1e-2) of the right one relative to the block's largest entry (up to ``COARSE`` = 1e-1
when a finite difference reproduces it), and estimates how it
was made: forward, backward or central differences of the loss l = ½(ŷ − y)² (eq. 1) over the
block's entries, at the step of a grid (1e-1 … 1e-9, half decades) that reproduces the observed
values best.  The estimate is given only when it explains the observation ten times better than
the right gradient does.
"""

from __future__ import annotations

import numpy as np

from gradcheck.diagnosis.observations import Pattern
from gradcheck.model.network import LABEL, forward_unchecked

__all__ = ["approximation_pattern", "finite_difference", "MAX_REL", "STEPS"]

MAX_REL = 1e-2
COARSE = 1e-1  # up to this far off, when a finite difference of the loss explains the values 10× better
REPRODUCED = 1e-8  # ... and any distance below 1 when one reproduces them to 8 digits
STEPS = tuple(10.0 ** (-j / 2) for j in range(2, 19))
SCHEMES = ("forward", "backward", "central")


def _losses(x, y, w_h, theta, kw):
    """l (the mean over a batch) at one or a stack of parameter vectors; x as rows so stacks broadcast."""
    f = forward_unchecked(np.atleast_2d(np.asarray(x, float)), np.atleast_1d(y), w_h, theta, **kw)
    return np.mean(f.l, axis=-1)


def finite_difference(block: str, x, y, w_h, theta, kw, *, step: float, scheme: str) -> np.ndarray:
    """The scheme's difference quotient of l over every entry of ``block`` (the other block fixed)."""
    w_h, theta = np.asarray(w_h, float), np.asarray(theta, float)
    base = w_h if block == "w_h" else theta
    eye = np.eye(base.size).reshape((base.size,) + base.shape)
    plus, minus = base + step * eye, base - step * eye
    stack = lambda p: (
        (p, np.broadcast_to(theta, (len(p),) + theta.shape))
        if block == "w_h"
        else (
            np.broadcast_to(w_h, (len(p),) + w_h.shape),
            p,
        )
    )
    l0 = _losses(x, y, w_h, theta, kw)
    lp = _losses(x, y, *stack(plus), kw)
    lm = _losses(x, y, *stack(minus), kw)
    if scheme == "forward":
        q = (lp - l0) / step
    elif scheme == "backward":
        q = (l0 - lm) / step
    else:
        q = (lp - lm) / (2 * step)
    return np.asarray(q, float).reshape(base.shape)


def _rel(o, r) -> float:
    top = np.max(np.abs(r), initial=0.0)
    return float(np.max(np.abs(o - r), initial=0.0) / top) if top else np.inf


def _estimate(rows, block):
    """(scheme, step, relative misfit) of the best finite difference, or None without the inputs.
    Every (scheme, step) is tried on the first problem; the three best are checked on up to three more."""
    if any(not ob.args or ob.kw is None for *_, ob in rows):
        return None

    def misfit(row, scheme, step):
        o, _r, _s, ob = row
        with np.errstate(all="ignore"):
            return _rel(o, finite_difference(block, *ob.args, ob.kw, step=step, scheme=scheme))

    first = sorted((misfit(rows[0], sc, st), sc, st) for sc in SCHEMES for st in STEPS)[:3]
    best = min(((max([m] + [misfit(row, sc, st) for row in rows[1:4]]), sc, st) for m, sc, st in first))
    return best[1], best[2], best[0]


def approximation_pattern(rows, block):
    """A Pattern (see :mod:`.structure`) for rows of (observed, right, scale, Observation), or None."""
    rows = [row for row in rows if np.any(row[1])]  # a zero reference: relative agreement is undefined
    rels = [_rel(o, r) for o, r, _s, _ob in rows]
    if not rels or not all(0 < v < 1 for v in rels):
        return None
    worst = max(rels)
    how = ""
    est = _estimate(rows, block)
    explained = est is not None and est[2] <= worst / 10
    exact = est is not None and est[2] <= REPRODUCED
    if worst > MAX_REL and not (explained and worst <= COARSE) and not exact:
        return None  # more than 1e-2 off: an approximation only if a finite difference reproduces it
    if explained:
        scheme, step, _ = est
        how = f"; it matches {scheme} differences of the loss with a step of about {step:.0e}"
    return Pattern(
        f"{block}:approximation",
        block,
        f"{LABEL[block]} agrees with the right one only to {worst:.0e} (relative) on every problem: a numerical "
        f"approximation (finite differences), not the formula{how} — use eq. "
        f"{'(11)' if block == 'w_h' else '(6)'}, exact to rounding",
    )
