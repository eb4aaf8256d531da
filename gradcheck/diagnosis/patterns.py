"""Plain-language pieces of a diagnosis (:mod:`gradcheck.diagnosis.diagnose`): where a block is wrong, and
which simple pattern relates it to the right one.

Patterns are structural facts, judged at a coarse tolerance (``PATTERN_RTOL`` =
1e-9 of the block's largest entry): they describe *how* a gradient is wrong, the
verdict itself comes from the strict tolerance of :mod:`gradcheck.checking.tolerance`.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from gradcheck.checking.scale import residual_size
from gradcheck.checking.tolerance import compare, within
from gradcheck.mistakes import catalogue as mistakes
from gradcheck.model import activations
from gradcheck.model.network import LABEL, forward_unchecked

__all__ = [
    "shape_message",
    "block_messages",
    "patterns_of",
    "matches",
    "residual_factor",
    "bad_entries",
    "PATTERN_RTOL",
]

PATTERN_RTOL = 1e-9
_NAMED_RATIOS = (2.0, -1.0, 0.5, -2.0, -0.5, 4.0, 0.25)


def _close(a, b, rtol=PATTERN_RTOL) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        return False
    size = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0))
    return bool(np.max(np.abs(a - b), initial=0.0) <= rtol * size)


# ---- the strict verdicts (compare's tolerance model) --------------------------


def bad_entries(observed, reference, scale) -> np.ndarray:
    """Entries outside the tolerance model (error-free reference, :func:`gradcheck.checking.tolerance.within`)."""
    return ~within(observed, reference, scale)


def matches(observed, candidate, scale, kappa: float = 1.0) -> bool:
    """``observed`` equals ``candidate`` within compare's tolerance, entry scales max(s, κ·|candidate|).

    s is the right gradient's honest scale (used when the shapes agree); κ = max(1, R/|ŷ − y|)
    carries the rounding of ŷ − y (:func:`residual_factor`) into a wrong gradient's own entries."""
    if observed is None or candidate is None or observed.shape != candidate.shape:
        return False
    own = kappa * np.abs(candidate)
    s = np.maximum(scale, own) if np.shape(scale) == candidate.shape else own
    return compare(observed, candidate, scale=s).passed


def residual_factor(x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid") -> float:
    """κ = max over samples of max(1, R/|ŷ − y|): how much the rounding of ŷ − y (≈ eps·R,
    :func:`gradcheck.checking.scale.residual_size`) exceeds eps relative to ŷ − y; 1 where ŷ = y."""
    kw = dict(hidden=hidden, output=output)
    kappa = 1.0
    for xs, ys in zip(np.atleast_2d(x), np.atleast_1d(y)):
        f = forward_unchecked(xs, ys, w_h, theta, **kw)
        r = abs(float(f.y_hat - ys))
        if r:
            kappa = max(kappa, residual_size(f, ys, w_h, theta, **kw) / r)
    return kappa


# ---- where ------------------------------------------------------------------


def shape_message(block, o, r, dims) -> str:
    d, m, got = dims.d, dims.m, tuple(o.shape)
    if block == "w_h":
        head = f"∇w_h: shape {got}, expected (d+1, m) = {r.shape}"
        known = {
            (m, d + 1): "transposed: eq. (10), the Jacobian, instead of its transpose, eq. (11)",
            (d, m): "the bias row is missing (x instead of x̄ = (x, 1))",
            (d + 1, m + 1): "one column too many (θ's bias entry taken into u?)",
            (d + 1, 1): f"one column where m = {m} are expected (u reduced to one number?)",
        }
    else:
        head = f"∇θ: shape {got}, expected (m+1,) = {r.shape}"
        known = {
            (m,): "the bias entry is missing (h instead of h̄ = (h, 1))",
            (d + 1,): "d+1 entries: x̄ used instead of h̄?",
            (1, m + 1): "a row matrix; eq. (6) is a vector of m+1 entries",
            (m + 1, 1): "a column matrix; eq. (6) is a vector of m+1 entries",
        }
    return f"{head} — {known[got]}" if got in known else head


def _wrong(o, bad, plural=False) -> str:
    """'is wrong', or 'is 0' when every wrong entry is 0."""
    verb = "are" if plural else "is"
    return f"{verb} 0" if not o[bad].any() else f"{verb} wrong"


def block_messages(block, o, r, bad, dims) -> str:
    """Where ``bad`` (a mask of o's shape) lies, in the spec's terms."""
    label = LABEL[block]
    if bad.all():
        return f"{label}: every entry is wrong" if o.any() else f"{label} is 0"
    if block == "theta":
        if bad[-1] and bad.sum() == 1:
            return f"{label}: the bias entry θ[bias] {_wrong(o, bad)}; θ[0..m−1] are right"
        names = ["θ[bias]" if i == dims.m else f"θ[{i}]" for i in np.flatnonzero(bad)]
        return f"{label}: {', '.join(names)} {_wrong(o, bad, len(names) > 1)}"
    d = dims.d
    rows, cols = np.flatnonzero(bad.any(axis=1)), np.flatnonzero(bad.any(axis=0))
    row_name = lambda k: "the bias row" if k == d else f"row {k}"
    many = lambda v: len(v) > 1
    if list(rows) == [d]:
        part = "the bias row" if bad[d].all() else "in the bias row, " + ", ".join(f"w_h[bias row, {j}]" for j in cols)
        return f"{label}: {part} {_wrong(o, bad, not bad[d].all() and many(cols))}; the other rows are right"
    if bad[:, cols].all():
        js = ", ".join(map(str, cols))
        return (
            f"{label}: column{'s' * many(cols)} {js} (hidden unit{'s' * many(cols)} {js}) {_wrong(o, bad, many(cols))}"
        )
    if bad[rows].all():
        return f"{label}: {', '.join(row_name(k) for k in rows)} {_wrong(o, bad, many(rows))}"
    names = [f"w_h[{'bias row' if k == d else k}, {j}]" for k, j in np.argwhere(bad)]
    more = f" and {len(names) - 6} more" if len(names) > 6 else ""
    return f"{label}: entries {', '.join(names[:6])}{more} {_wrong(o, bad, True)}"


# ---- how ----------------------------------------------------------------------


def _ratio_name(c) -> str:
    for v in _NAMED_RATIOS:
        if abs(c - v) <= PATTERN_RTOL * abs(v):
            return f"×{v:g}".replace("-", "−")
    return f"×{c:.6g}".replace("-", "−")


def _ratio(o, r):
    """c with o = c·r (to PATTERN_RTOL), or None."""
    rr = float(np.sum(r * r))
    if not rr:
        return None
    c = float(np.sum(o * r)) / rr
    return c if _close(o, c * r) and not _close(c, 1.0) else None


def _ratio_meaning(c, args, kw, batch) -> str:
    if batch:
        return ""
    x, y, w_h, theta = args
    f = forward_unchecked(x, y, w_h, theta, **kw)
    known = {
        "1/(ŷ − y): the factor ŷ − y left out": 1 / (f.y_hat - y) if f.y_hat != y else None,
        "1/σ'(pre_y): σ'(pre_y) left out": 1 / s if (s := activations.get(kw["output"]).dsigma(f.pre_y)) else None,
    }
    for text, v in known.items():
        if v is not None and _close(c, v):
            return f" (= {text})"
    return ""


def _block_patterns(block, o, r, args, kw, batch):
    label = LABEL[block]
    if o.shape == r.shape and (c := _ratio(o, r)) is not None:
        yield f"{label} is the right one {_ratio_name(c)}{_ratio_meaning(c, args, kw, batch)}" if c else f"{label} is 0"
    if o.shape == r.T.shape and r.ndim == 2 and _close(o, r.T) and not _close(o, r):
        yield f"{label} is the transpose of the right one (eq. 10 instead of eq. 11)"
    if o.shape == r.shape and not _close(o, r):
        if r.ndim == 2 and _close(o, np.reshape(r.T, r.shape)):
            yield f"{label} is the right Jacobian (eq. 10) reshaped instead of transposed: a permutation of its entries"
        elif _close(o, np.roll(r, 1, axis=0)):
            yield f"{label} has its entries rolled: the bias {'row' if r.ndim == 2 else 'entry'} moved first"
        elif _close(np.sort(o, axis=None), np.sort(r, axis=None)):
            yield f"{label} holds the right entries in the wrong places (a permutation)"
    if o.shape[:1] == (r.shape[0] - 1,) and o.shape[1:] == r.shape[1:] and _close(o, r[:-1]):
        yield f"{label} is the right one without its bias {'row' if r.ndim == 2 else 'entry'}"


def _approximation(obs, ref):
    """max |o − r| / max |r| over both blocks, when their shapes agree."""
    rels = []
    for o, r in zip(obs, ref):
        if o is None or o.shape != r.shape:
            return None
        top = np.max(np.abs(r), initial=0.0)
        rels.append(np.max(np.abs(o - r), initial=0.0) / top if top else (0.0 if not o.any() else np.inf))
    return max(rels)


def patterns_of(obs, ref, scale, args, kw, batch, kappa=1.0) -> tuple[str, ...]:
    out = [p for b, o, r in zip(LABEL, obs, ref) if o is not None for p in _block_patterns(b, o, r, args, kw, batch)]
    ratios = [p.split(" is the right one ")[1] for p in out if " is the right one ×" in p]
    if len(ratios) == 2 and ratios[0] == ratios[1]:
        out = [
            f"both blocks are the right ones {ratios[0]}: one scalar factor in front of eq. (6) and (11) "
            f"(∂l/∂ŷ = ŷ − y or ∂ŷ/∂pre_y = σ'(pre_y))"
        ] + [p for p in out if " is the right one ×" not in p]
    if "sigmoid" in kw.values():
        g = _logistic_rounding(args, kw, batch)
        if all(matches(o, c, s, kappa) for o, c, s in zip(obs, g, scale)):
            return (
                *out,
                "σ'(z) computed as σ(z)(1 − σ(z)): right for the sigmoid, but 1 − σ(z) cancels for large "
                "|z|, losing relative precision; use σ'(z) = e^{−|z|}/(1 + e^{−|z|})²",
            )
    rel = _approximation(obs, ref)
    if rel is not None and 1e-11 < rel <= 1e-5:
        out.append(
            f"agrees with the right gradient only to {rel:.0e} (relative): typical of finite differences "
            f"(1e-6..1e-10), not of an analytic formula (≤ 1e-13)"
        )
    elif rel is not None and 0 < rel <= 1e-11:
        out.append(
            f"agrees with the right gradient to {rel:.0e} (relative): rounding-level, but beyond 1000·eps "
            f"of the entries' honest scale"
        )
    return tuple(out)


@cache
def _logistic_set():
    return mistakes.formula_set(mistakes.LOGISTIC_ROUNDING)


def _logistic_rounding(args, kw, batch):
    F = _logistic_set()
    g = (F.batch_gradients if batch else F.gradients)(*args, **kw)
    return g.w_h, g.theta
