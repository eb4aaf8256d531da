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
from gradcheck.diagnosis.observations import RTOL, Observation, Pattern, close, right, shaped
from gradcheck.diagnosis.positions import EQ, lines, size_dependent
from gradcheck.model.network import BLOCKS, LABEL

__all__ = ["Observation", "Pattern", "structural_patterns", "RTOL"]

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


# ---- per block -------------------------------------------------------------------------------------
def _ratio(rows, b):
    cs = []
    for o, r, s, ob in rows:
        rr = float(np.sum(r * r))
        if not rr:
            if right(o, r, s):
                continue  # 0 = c·0 for every c: says nothing about c
            return None
        c = float(np.sum(o * r)) / rr
        if right(o, r, s):
            c = 1.0  # right here: a size-dependent factor equal to 1 at this size (1/m at m = 1)
        elif not close(o, c * r) or abs(c - 1) <= 1e-6:
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
        and all(close(o, np.repeat(o[:, :1], o.shape[1], axis=1), np.max(np.abs(r))) for o, r, _ in wide)
        and not all(close(r, np.repeat(r[:, :1], r.shape[1], axis=1)) for _, r, _ in wide)
    ):
        what = ""
        if all(close(o[:, 0], r.sum(axis=1)) for o, r, _ in wide):
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
        if wide and all(_shifted(o, r, k, 1) for o, r, _ in wide) and not all(close(o, r) for o, r, _ in wide):
            return Pattern(
                f"w_h:columns_shifted:{k:+d}",
                b,
                f"∇w_h's columns are shifted by one hidden unit: column j holds the right column {word} on every "
                f"problem with m ≥ 2 — an off-by-one slice of θ or σ'(pre_h) in u (θ̃ = θ[:-1] drops the LAST "
                f"entry, the bias); {EQ[b]}",
            )
    for k, word in ((1, "k + 1"), (-1, "k − 1")):
        if all(_shifted(o, r, k, 0) for o, r, _s, _ in rows) and not all(close(o, r) for o, r, _s, _ in rows):
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
    return close(take(o, lo), take(r, hi), np.max(np.abs(r)))


def _block(obs, b) -> Pattern | None:
    if (p := size_dependent(obs, b, shapes=True)) is not None:
        return p
    rows = shaped(obs, b)
    if not rows or all(right(o, r, s) for o, r, s, _ in rows):
        return None
    ratio = _ratio(rows, b)
    if ratio is not None and not ratio.id.endswith(":varies"):
        return ratio
    for find in (_columns, lines):  # before a varying factor: a zeroed line can look like ×0 here, ×1 there
        if (p := find(rows, b)) is not None:
            return p
    return ratio or approximation_pattern(rows, b) or size_dependent(obs, b, shapes=False)


# ---- both blocks -----------------------------------------------------------------------------------
def _blockright(obs, b) -> bool:
    rows = shaped(obs, b)
    return len(rows) == len(obs) and all(right(o, r, s) for o, r, s, _ in rows)


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
    if _blockright(obs, other):
        where = (
            "so the shared factor (ŷ − y) σ'(pre_y) is right; the mistake is in x̄ᵀu, u = θ̃ ⊙ σ'(pre_h)"
            if other == "theta"
            else "so the shared factor (ŷ − y) σ'(pre_y) is right; the mistake is in h̄ = (h, 1)"
        )
        return (one._replace(message=f"{one.message}. {LABEL[other]} is right, {where}"),)
    return (one,)
