"""The records of a cross-problem diagnosis (:mod:`.structure`): one observation of a gradient, one pattern."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Observation", "Pattern"]


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
