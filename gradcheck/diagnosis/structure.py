"""Structural patterns of a wrong gradient, judged across several problems of different sizes (d, m).

On one problem with d = m = 1 any structural mistake collapses into a scalar factor; across sizes it
does not.  :func:`structural_patterns` takes every graded observation (right ones included: a
hard-coded size shows as right for one size only) and names, per block, the first pattern that
holds on *every* observation where the block has the right shape:

* the block is 0; a constant ratio to the right one and what it equals (2, ½, −1, 1/m, 1/d, 1/n, …);
* ∇w_h's columns all equal (u reduced to one number), columns shifted by one hidden unit, rows
  shifted by one entry of x̄;
* one row or column (entry of ∇θ) always 0 or the only wrong one, named by its role in terms of
  d and m (the last feature's row, the bias row, the last hidden unit);
* right for one d or m only (shape errors or wrong values elsewhere): a hard-coded size;
* agreement only to a few digits (1e-13 … 1e-2 relative): a numerical approximation, with the
  finite-difference scheme and step that reproduce it best (:mod:`.approximation`).

Then the two blocks are combined: one scalar factor in front of eq. (6) and (11), or one block right
(which localises the mistake in the factors the blocks do not share).  Structural equality is
judged at ``RTOL`` of a block's largest entry; the verdict right/wrong is compare()'s (strict).
"""

from __future__ import annotations

import numpy as np

from gradcheck.diagnosis.approximation import approximation_pattern
from gradcheck.diagnosis.observations import Observation, Pattern
from gradcheck.diagnosis.patterns import bad_entries
from gradcheck.model.network import BLOCKS, LABEL

__all__ = ["Observation", "Pattern", "structural_patterns", "RTOL"]

RTOL = 1e-9
EQ = {
    "w_h": "eq. (11): ∇w_h = (ŷ − y) σ'(pre_y) x̄ᵀ u, u = θ̃ ⊙ σ'(pre_h)",
    "theta": "eq. (6): ∇θ = (ŷ − y) σ'(pre_y) h̄ᵀ",
}
CONSTANTS = (("2", 2.0), ("½", 0.5), ("−1", -1.0), ("−2", -2.0), ("−½", -0.5), ("4", 4.0), ("¼", 0.25))
SIZES = (
    ("1/m", lambda d, m, n: 1 / m, "divided by m, the number of hidden units"),
    ("1/d", lambda d, m, n: 1 / d, "divided by d, the number of input features"),
    ("1/n", lambda d, m, n: 1 / n, "divided by n, the number of samples"),
    ("1/(d+1)", lambda d, m, n: 1 / (d + 1), "divided by d + 1, the length of x̄"),
    ("1/(m+1)", lambda d, m, n: 1 / (m + 1), "divided by m + 1, the length of h̄"),
    ("m", lambda d, m, n: float(m), "multiplied by m, the number of hidden units"),
    ("d", lambda d, m, n: float(d), "multiplied by d, the number of input features"),
    ("n", lambda d, m, n: float(n), "multiplied by n, the number of samples (a sum, not a mean)"),
)


def _close(a, b, top=None) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        return False
    top = max(np.max(np.abs(b), initial=0.0), np.max(np.abs(a), initial=0.0)) if top is None else top
    return bool(np.max(np.abs(a - b), initial=0.0) <= RTOL * top)


def _shaped(obs, b):
    """(o, r, s, ob) for the observations whose block b is an array of the right shape."""
    i = BLOCKS.index(b)
    return [
        (ob.observed[i], ob.reference[i], ob.scale[i], ob)
        for ob in obs
        if ob.observed[i] is not None and np.shape(ob.observed[i]) == np.shape(ob.reference[i])
    ]


def _right(o, r, s) -> bool:
    return not bad_entries(o, r, s).any()


# ---- per block -------------------------------------------------------------------------------------
def _ratio(rows, b):
    cs = []
    for o, r, s, ob in rows:
        rr = float(np.sum(r * r))
        if not rr:
            if _right(o, r, s):
                continue  # 0 = c·0 for every c: says nothing about c
            return None
        c = float(np.sum(o * r)) / rr
        if _right(o, r, s):
            c = 1.0  # right here: a size-dependent factor equal to 1 at this size (1/m at m = 1)
        elif not _close(o, c * r) or abs(c - 1) <= 1e-6:
            return None  # not a multiple, or the right one to a few digits (an approximation, if anything)
        cs.append((c, ob))
    if not cs:
        return None
    if all(abs(c) <= RTOL for c, _ in cs):
        return Pattern(f"{b}:zero", b, f"{LABEL[b]} is 0 on every problem; {EQ[b]}")
    for name, v in CONSTANTS:
        if all(abs(c - v) <= 1e-7 * abs(v) for c, _ in cs):
            return Pattern(f"{b}:ratio:{name}", b, f"{LABEL[b]} is the right one ×{name} on every problem; {EQ[b]}")
    for name, f, what in SIZES:
        vals = [f(ob.d, ob.m, ob.n) for _, ob in cs]
        if len(set(vals)) > 1 and all(abs(c - v) <= 1e-7 * abs(v) for (c, _), v in zip(cs, vals)):
            return Pattern(
                f"{b}:ratio:{name}",
                b,
                f"{LABEL[b]} is the right one ×{name} on every problem: {what}; {EQ[b]} has no such factor",
            )
    first = cs[0][0]
    if all(abs(c - first) <= 1e-7 * abs(first) for c, _ in cs):
        return Pattern(
            f"{b}:ratio:{first:.6g}", b, f"{LABEL[b]} is the right one ×{first:.6g} on every problem; {EQ[b]}"
        )
    return Pattern(
        f"{b}:ratio:varies",
        b,
        f"{LABEL[b]} is the right one times a factor that changes from problem to problem "
        f"(×{min(c for c, _ in cs):.3g} … ×{max(c for c, _ in cs):.3g}): a scalar of the sample is missing "
        f"or extra — (ŷ − y) or σ'(pre_y)? {EQ[b]}",
    )


def _columns(rows, b):
    """∇w_h: all columns equal; columns or rows shifted by one."""
    wide = [(o, r, ob) for o, r, _s, ob in rows if ob.m >= 2]
    if b != "w_h":
        return None
    if (
        wide
        and all(_close(o, np.repeat(o[:, :1], o.shape[1], axis=1), np.max(np.abs(r))) for o, r, _ in wide)
        and not all(_close(r, np.repeat(r[:, :1], r.shape[1], axis=1)) for _, r, _ in wide)
    ):
        what = ""
        if all(_close(o[:, 0], r.sum(axis=1)) for o, r, _ in wide):
            what = (
                " and each equals the sum of the right columns: u reduced to one number by a dot product "
                "(θ̃ · σ'(pre_h) instead of θ̃ ⊙ σ'(pre_h))"
            )
        return Pattern(
            "w_h:columns_equal",
            b,
            f"∇w_h has all m columns equal on every problem with m ≥ 2{what}; column j must use hidden unit j "
            f"alone, u_j = θ_j σ'(pre_h_j) — {EQ[b]}",
        )
    for k, word in ((1, "j + 1"), (-1, "j − 1")):
        if wide and all(_shifted(o, r, k, 1) for o, r, _ in wide) and not all(_close(o, r) for o, r, _ in wide):
            return Pattern(
                f"w_h:columns_shifted:{k:+d}",
                b,
                f"∇w_h's columns are shifted by one hidden unit: column j holds the right column {word} on every "
                f"problem with m ≥ 2 — an off-by-one slice of θ or σ'(pre_h) in u (θ̃ = θ[:-1] drops the LAST "
                f"entry, the bias); {EQ[b]}",
            )
    for k, word in ((1, "k + 1"), (-1, "k − 1")):
        if all(_shifted(o, r, k, 0) for o, r, _s, _ in rows) and not all(_close(o, r) for o, r, _s, _ in rows):
            return Pattern(
                f"w_h:rows_shifted:{k:+d}",
                b,
                f"∇w_h's rows are shifted by one: row k holds the right row {word} on every problem — x̄ "
                f"misaligned (x̄ = (x, 1), bias LAST); {EQ[b]}",
            )
    return None


def _shifted(o, r, k: int, axis: int) -> bool:
    """o's entries along ``axis`` are r's moved by k (o[j] = r[j + k]); the entry without a partner is free."""
    n = o.shape[axis]
    if n < 2:
        return False
    lo, hi = (slice(0, n - 1), slice(1, n)) if k == 1 else (slice(1, n), slice(0, n - 1))
    take = lambda a, sl: a[:, sl] if axis == 1 else a[sl]
    return _close(take(o, lo), take(r, hi), np.max(np.abs(r)))


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


def _lines(rows, b):
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


def _size_dependent(obs, b, *, shapes: bool):
    """Right for one value of d or m only; wrong for the others: a hard-coded size.  With ``shapes``,
    only when some of the others have a wrong shape or no result (else: after the value patterns)."""
    i = BLOCKS.index(b)
    right, wrong = [], []
    for ob in obs:
        o, r, s = ob.observed[i], ob.reference[i], ob.scale[i]
        ok = not _unshaped(ob, i) and _right(o, r, s)
        (right if ok else wrong).append(ob)
    if not right or not wrong or (shapes and not any(_unshaped(ob, i) for ob in wrong)):
        return None
    for dim in ("m", "d"):
        good = {getattr(ob, dim) for ob in right}
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


def _block(obs, b) -> Pattern | None:
    if (p := _size_dependent(obs, b, shapes=True)) is not None:
        return p
    rows = _shaped(obs, b)
    if not rows or all(_right(o, r, s) for o, r, s, _ in rows):
        return None
    for find in (_ratio, _columns, _lines):
        if (p := find(rows, b)) is not None:
            return p
    return approximation_pattern(rows, b) or _size_dependent(obs, b, shapes=False)


# ---- both blocks -----------------------------------------------------------------------------------
def _block_right(obs, b) -> bool:
    rows = _shaped(obs, b)
    return len(rows) == len(obs) and all(_right(o, r, s) for o, r, s, _ in rows)


def structural_patterns(observations) -> tuple[Pattern, ...]:
    """The structural patterns that hold across ``observations`` (Observation), most telling first."""
    obs = list(observations)
    if not obs:
        return ()
    found = {b: _block(obs, b) for b in BLOCKS}
    pw, pt = found["w_h"], found["theta"]
    if pw and pt:
        if pw.id.endswith(":approximation") and pt.id.endswith(":approximation"):
            return (
                Pattern(
                    "both:approximation",
                    "both",
                    f"both blocks are numerical approximations — {pw.message}. And {pt.message}",
                ),
            )
        if pw.id.split(":", 1)[1] == pt.id.split(":", 1)[1] and ":ratio:" in pw.id:
            c = pw.id.split(":")[-1]
            return (
                Pattern(
                    f"both:ratio:{c}",
                    "both",
                    f"∇w_h and ∇θ are both the right ones ×{c} on every problem: one scalar factor in front of "
                    f"eq. (6) and (11) — their shared factor (ŷ − y) σ'(pre_y) (∂l/∂ŷ = ŷ − y for l = ½(ŷ − y)²)",
                ),
            )
        return (
            Pattern(
                f"{pw.id}&{pt.id}",
                "both",
                f"two separate mistakes — {pw.message}. And {pt.message}",
            ),
            pw,
            pt,
        )
    one = pw or pt
    if one is None:
        return ()
    other = "theta" if one.block == "w_h" else "w_h"
    if _block_right(obs, other):
        where = (
            "so the shared factor (ŷ − y) σ'(pre_y) is right; the mistake is in x̄ᵀu, u = θ̃ ⊙ σ'(pre_h)"
            if other == "theta"
            else "so the shared factor (ŷ − y) σ'(pre_y) is right; the mistake is in h̄ = (h, 1)"
        )
        return (one._replace(message=f"{one.message}. {LABEL[other]} is right, {where}"),)
    return (one,)
