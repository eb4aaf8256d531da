"""Diagnosis: which blocks and entries of a gradient are wrong, and which catalogue mistake made it.

:func:`diagnose` compares an observed (∇w_h, ∇θ) with the right one (eq. 11 and 6)
under the tolerance model of :mod:`gradcheck.checking.tolerance` (rtol = 1000·eps, entry
scales from :func:`gradcheck.checking.scale.gradient_scale`), then

* names the wrong parts in the spec's terms: rows, columns, the bias row of
  ∇w_h, the bias entry of ∇θ, wrong shapes (``blocks``);
* recomputes the gradient with every catalogue mistake (:mod:`gradcheck.mistakes.catalogue`)
  and lists those that reproduce the observed one within the same tolerance
  (``mistakes``; full matches first, in catalogue order — several mistakes can be
  the same function on one example, e.g. σ'(pre_y) dropped and σ' taken at ŷ
  when σ_y is the identity; mistakes that equal the right gradient on this
  example are never named).  If none reproduces both blocks, mistakes that
  reproduce one wrong block are listed as partial matches;
* recognises plain patterns (``patterns``): a constant ratio, a transpose, a
  permutation of entries, a numerical approximation, σ(1 − σ) rounding.

A single sample x of shape (d,) is compared with ``formulas.gradients``.  A
design matrix X of shape (n, d) (y of shape (n,)) is compared with
``formulas.batch_gradients`` (the mean of per-sample gradients), and the
catalogue's batch mistakes (a sum, a mean taken twice) become candidates too.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np

from gradcheck.checking.scale import gradient_scale
from gradcheck.diagnosis.patterns import (
    bad_entries,
    block_messages,
    matches,
    patterns_of,
    residual_factor,
    shape_message,
)
from gradcheck.mistakes import catalogue as mistakes
from gradcheck.model import formulas
from gradcheck.model.network import BLOCKS, LABEL
from gradcheck.model.shapes import validate

__all__ = ["Diagnosis", "MistakeMatch", "diagnose", "candidate_ids", "common_mistakes", "reproduces"]


class MistakeMatch(NamedTuple):
    id: str
    description: str
    equation: str
    factor: str  # the Jacobian factor of eq. (3)/(7) it implicates
    message: str  # student-facing, in the spec's terms
    blocks: tuple[str, ...]  # the blocks it reproduces: ('w_h', 'theta') for a full match
    full: bool


class Diagnosis(NamedTuple):
    correct: bool
    blocks: tuple[str, ...]
    mistakes: tuple[MistakeMatch, ...]
    patterns: tuple[str, ...]
    summary: str


@cache
def _formula_set(mistake_id: str):
    return mistakes.formula_set(mistake_id)


@cache
def candidate_ids(batch: bool) -> tuple[str, ...]:
    target = "batch_gradients" if batch else "gradients"
    return tuple(i for i in mistakes.ids() if mistakes.changes(i, target))


def _as_block(value):
    """A float64 array, or None when the value is not numeric (ragged, objects, …)."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return a if np.all(np.isfinite(a)) else None


def _evaluate(mistake_id, args, kw, batch):
    F = _formula_set(mistake_id)
    try:
        g = (F.batch_gradients if batch else F.gradients)(*args, **kw)
        return tuple(_as_block(b) for b in (g.w_h, g.theta))
    except Exception:  # a mistake that cannot run on this example (shapes) reproduces nothing
        return None, None


def _match_message(m: mistakes.Mistake, wrong: dict, blocks) -> str:
    where = "; ".join(wrong[b] for b in blocks if b in wrong) or "the gradient is wrong"
    return f"{where}; it looks like {m.hint}, eq. {m.equation}"


def _mistake_matches(obs, ref, scale, wrong, args, kw, batch, kappa):
    full, partial = [], []
    for i in candidate_ids(batch):
        cand = _evaluate(i, args, kw, batch)
        if all(matches(c, r, s) for c, r, s in zip(cand, ref, scale)):
            continue  # the same as the right gradient on this example: says nothing
        hit = tuple(b for b, o, c, s in zip(BLOCKS, obs, cand, scale) if matches(o, c, s, kappa))
        m = mistakes.get(i)
        if len(hit) == 2:
            full.append(MistakeMatch(i, m.description, m.equation, m.factor, _match_message(m, wrong, hit), hit, True))
        elif hit and hit[0] in wrong:
            partial.append(
                MistakeMatch(
                    i,
                    m.description,
                    m.equation,
                    m.factor,
                    _match_message(m, wrong, hit) + f" (only {LABEL[hit[0]]} matches)",
                    hit,
                    False,
                )
            )
    return tuple(full or partial)


def _inputs(x, y, w_h, theta):
    p = validate(x, y, w_h, theta)
    return p, p.dims.n is not None


def diagnose(observed, x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> Diagnosis:
    """Diagnose ``observed`` = (∇w_h, ∇θ) for the sample (x, y) at parameters (w_h, θ)."""
    p, batch = _inputs(x, y, w_h, theta)
    kw = dict(hidden=hidden, output=output)
    try:
        obs_w, obs_t = observed
    except (TypeError, ValueError):
        raise TypeError(f"observed: expected a pair (∇w_h, ∇θ), got {type(observed).__name__}") from None
    obs = (_as_block(obs_w), _as_block(obs_t))
    args = (p.x, p.y, p.w_h, p.theta)
    ref = (formulas.batch_gradients if batch else formulas.gradients)(*args, **kw)
    ref = (ref.w_h, ref.theta)
    scale = tuple(gradient_scale(*args, **kw))
    wrong = {}
    for b, o, r, s in zip(BLOCKS, obs, ref, scale):
        if o is None:
            wrong[b] = f"{LABEL[b]}: not an array of finite numbers"
        elif o.shape != r.shape:
            wrong[b] = shape_message(b, o, r, p.dims)
        elif bad_entries(o, r, s).any():
            wrong[b] = block_messages(b, o, r, bad_entries(o, r, s), p.dims)
    if not wrong:
        return Diagnosis(
            True,
            (),
            (),
            (),
            "The gradient is right: ∇w_h (eq. 11) and ∇θ (eq. 6) agree with the "
            "reference within 1000·eps of their honest scale.",
        )
    kappa = residual_factor(*args, **kw)
    found = _mistake_matches(obs, ref, scale, wrong, args, kw, batch, kappa)
    pats = patterns_of(obs, ref, scale, args, kw, batch, kappa)
    return Diagnosis(False, tuple(wrong.values()), found, pats, _summary(wrong, found, pats))


def _summary(wrong, found, pats) -> str:
    right = [LABEL[b] for b in BLOCKS if b not in wrong]
    parts = ["Wrong: " + "; ".join(wrong.values()) + "." + (f" {right[0]} is right." if right else "")]
    full = [m for m in found if m.full]
    if full:
        names = ", ".join(m.id for m in full)
        parts.append(
            f"Reproduced by {names}: {full[0].description} (eq. {full[0].equation}, factor {full[0].factor})."
            + (" These mistakes give the same gradient on this example." if len(full) > 1 else "")
        )
    elif found:
        parts.append("Partly reproduced by " + ", ".join(f"{m.id} ({LABEL[m.blocks[0]]})" for m in found) + ".")
    else:
        parts.append("No catalogue mistake reproduces it.")
    if pats:
        parts.append("Patterns: " + "; ".join(pats) + ".")
    return " ".join(parts)


def common_mistakes(diagnoses) -> tuple[MistakeMatch, ...]:
    """The catalogue mistakes that fully reproduce the observed gradient in *every* one of ``diagnoses``
    (several problems, e.g. one per size (d, m)), in the order first listed, with the first message."""
    first: dict[str, MistakeMatch] = {}
    common = None
    for d in diagnoses:
        ids = {m.id for m in d.mistakes if m.full}
        for m in d.mistakes:
            if m.full:
                first.setdefault(m.id, m)
        common = ids if common is None else common & ids
    return tuple(m for i, m in first.items() if common and i in common)


def reproduces(mistake_id: str, observed, x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> bool:
    """Whether one catalogue mistake reproduces both observed blocks (the full match of :func:`diagnose`,
    at the same tolerance), without trying the whole catalogue."""
    p, batch = _inputs(x, y, w_h, theta)
    kw = dict(hidden=hidden, output=output)
    obs = tuple(_as_block(b) for b in observed)
    args = (p.x, p.y, p.w_h, p.theta)
    scale = tuple(gradient_scale(*args, **kw))
    kappa = residual_factor(*args, **kw)
    cand = _evaluate(mistake_id, args, kw, batch)
    return all(matches(o, c, s, kappa) for o, c, s in zip(obs, cand, scale))
