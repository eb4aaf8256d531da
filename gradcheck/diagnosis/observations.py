"""The records of a cross-problem diagnosis (:mod:`.structure`): one observation of a gradient, one
pattern; and the structural comparisons they share."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gradcheck.diagnosis.patterns import bad_entries
from gradcheck.model.network import BLOCKS

__all__ = ["Observation", "Pattern", "close", "shaped", "right", "RTOL"]

RTOL = 1e-9  # structural equality: relative to a block's largest entry


class Observation(NamedTuple):
    d: int
    m: int
    observed: tuple  # (∇w_h, ∇θ) as returned: float arrays (any shape) or None
    reference: tuple  # the right (∇w_h, ∇θ)
    scale: tuple  # their honest entry scales (gradcheck.checking.scale.gradient_scale)
    args: tuple = ()  # (x, y, w_h, θ) of the sample, for the approximation's finite differences
    kw: dict | None = None  # hidden=, output=
    n: int = 1  # samples the gradient averages over


class Pattern(NamedTuple):
    id: str  # 'w_h:ratio:1/m', 'both:ratio:2', 'w_h:columns_equal', ...: what the tests score
    block: str  # 'w_h', 'theta' or 'both'
    message: str  # in the spec's terms, with the equation


def close(a, b, top=None) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        return False
    top = max(np.max(np.abs(b), initial=0.0), np.max(np.abs(a), initial=0.0)) if top is None else top
    return bool(np.max(np.abs(a - b), initial=0.0) <= RTOL * top)


def shaped(obs, b):
    """(o, r, s, ob) for the observations whose block b is an array of the right shape."""
    i = BLOCKS.index(b)
    return [
        (ob.observed[i], ob.reference[i], ob.scale[i], ob)
        for ob in obs
        if ob.observed[i] is not None and np.shape(ob.observed[i]) == np.shape(ob.reference[i])
    ]


def right(o, r, s) -> bool:
    return not bad_entries(o, r, s).any()
