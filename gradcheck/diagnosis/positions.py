"""Where a wrong block is wrong, judged across problems of different sizes (:mod:`.structure`): one row,
column or entry of ∇θ that is always the only wrong one, named by its role in terms of d and m; a
block right for one value of d or m only (a hard-coded size).
"""

from __future__ import annotations

import numpy as np

from gradcheck.diagnosis.observations import Pattern, right
from gradcheck.diagnosis.patterns import bad_entries
from gradcheck.model.network import BLOCKS, LABEL

__all__ = ["lines", "size_dependent", "EQ"]

EQ = {
    "w_h": "eq. (11): ∇w_h = (ŷ − y) σ'(pre_y) x̄ᵀ u, u = θ̃ ⊙ σ'(pre_h)",
    "theta": "eq. (6): ∇θ = (ŷ − y) σ'(pre_y) h̄ᵀ",
}


def _role_names(axis_len: int, index: int, block: str, axis: int) -> set[str]:
    """The names of a row / column by its role: what stays true across sizes."""
    if block == "w_h" and axis == 0:
        d = axis_len - 1
        names = {"the bias row (row d)"} if index == d else {f"row {index}"}
        if index == d - 1:
            names.add("the last feature's row (row d − 1)")
        if index == 0 and d > 0:
            names.add("the first feature's row (row 0)")
        return names
    m = axis_len - (1 if block == "theta" else 0)
    names = {"the bias entry θ[m]"} if block == "theta" and index == m else {f"hidden unit {index}"}
    if index == m - 1:
        names.add("the last hidden unit (m − 1)")
    if index == 0:
        names.add("the first hidden unit (0)")
    return names


def lines(rows, b):
    """One row or column (an entry of ∇θ) always the only wrong one, named by its role."""
    for axis in (0, 1) if b == "w_h" else (0,):
        common, zero = None, True
        for o, r, s, _ob in rows:
            bad = bad_entries(o, r, s)
            if not bad.any():
                continue  # right here (e.g. that row of the right gradient is 0 too): consistent with any line
            lines = np.flatnonzero(bad.any(axis=1 - axis) if o.ndim == 2 else bad)
            if len(lines) != 1:
                common = set()
                break
            k = int(lines[0])
            if np.max(np.abs(o - r)) <= 1e-6 * np.max(np.abs(r)):
                common = set()  # off by a few units in the last digits only: not a structural mistake
                break
            names = _role_names(o.shape[axis], k, b, axis)
            common = names if common is None else common & names
            zero &= not np.any(np.take(o, k, axis=axis))
        if common:
            name = sorted(
                common, key=lambda t: ("row " in t and "(" not in t, "hidden unit " in t and "(" not in t, t)
            )[0]
            kind = "is 0" if zero else "is wrong"
            hint = " — a loop over range(d − 1) instead of range(d)?" if "last feature" in name and zero else ""
            hint = hint or (
                " — a loop or slice that stops one unit short ([:-1] once too often)?"
                if "last hidden" in name and zero
                else ""
            )
            what = {0: "row", 1: "column"}[axis] if b == "w_h" else "entry"
            return Pattern(
                f"{b}:line:{name}:{'zero' if zero else 'wrong'}",
                b,
                f"{LABEL[b]}: {name} {kind} wherever {LABEL[b]} is wrong, and the rest is right{hint}; "
                f"{EQ[b]} (one {what} per {'entry of x̄' if axis == 0 and b == 'w_h' else 'hidden unit'})",
            )
    return None


def _unshaped(ob, i) -> bool:
    return ob.observed[i] is None or np.shape(ob.observed[i]) != np.shape(ob.reference[i])


def size_dependent(obs, b, *, shapes: bool):
    """Right for one value of d or m only; wrong for the others: a hard-coded size.  With ``shapes``,
    only when some of the others have a wrong shape or no result (else: after the value patterns)."""
    i = BLOCKS.index(b)
    good_obs, wrong = [], []
    for ob in obs:
        o, r, s = ob.observed[i], ob.reference[i], ob.scale[i]
        ok = not _unshaped(ob, i) and right(o, r, s)
        (good_obs if ok else wrong).append(ob)
    if not good_obs or not wrong or (shapes and not any(_unshaped(ob, i) for ob in wrong)):
        return None
    for dim in ("m", "d"):
        good = {getattr(ob, dim) for ob in good_obs}
        bad = {getattr(ob, dim) for ob in wrong}
        if len(good) == 1 and not good & bad:
            v = next(iter(good))
            bad = sum(_unshaped(ob, i) for ob in wrong)
            what = f"a wrong shape or no result on {bad} of the {len(wrong)}" if bad else "wrong values on the"
            return Pattern(
                f"{b}:size:{dim}={v}",
                b,
                f"{LABEL[b]} is right only when {dim} = {v} ({what} problems with {dim} ≠ {v}): a size "
                f"hard-coded to {v} where {dim} belongs (e.g. theta[:{v}] for θ̃ = theta[:-1], or range({v}))",
            )
    return None
