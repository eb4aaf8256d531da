"""Fast mode: a gradient checked along a few signed Gaussian directions, then named entry by entry.

For K directions v ~ N(0, I) (signed, not positive uniform), the directional
derivative D_v = d/dt l(p + t v) at t = 0 comes from central differences of the
loss as a black box f: (k, P) → (k,) or (k, n) (mean taken), by
``scipy.differentiate.derivative`` (order 4, as in the full check) on t ↦ l(p + t v):
e_v = scipy's error + 4·δl/a (a the final stencil's smallest spacing), δl the loss's
rounding, which includes that of forming p + t v in floating point (eps·Σ s_i|p_i|).
The gradient g under test passes when, for every direction,
    |gᵀv − D_v| ≤ rtol·Σ_i s_i|v_i| + 2·e_v
with s_i the entry scales (default |g_i|) — the size of the terms of gᵀv, so the
tolerance follows how gᵀv may round, never Σ_i v_i (torch's fast mode multiplies its
atol by sum(u)·sum(v)).  Cost: about 6K + 1 calls of f.  Along random directions a
systematic mistake shows in every direction; a single entry off by a factor (1 + ε)
shows once ε|g_i| clears the tolerance, so tiny single-entry errors in huge networks
need the full check (:func:`gradcheck.largescale.full.check_gradient`).

Kinks: a direction along which the loss has a kink at p0 (relu with a pre-activation exactly
0; :func:`gradcheck.largescale.stencil.kink_at_zero`) cannot judge any gradient — a subgradient's gᵀv
need not lie between the one-sided slopes when several kinks meet at p0.  When only such
directions fail, the per-entry check decides, for every entry if affordable (P ≤
``max_entries``), and the message says so otherwise.

On failure, directions restricted to each block (w_h, θ) find the implicated blocks;
each failing block is then checked entry by entry — by the incremental full check for
the network, by the batched black-box check otherwise, after bisecting a block larger
than ``max_entries`` (2 directions per half) down to the first failing range.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gradcheck.largescale.full import (
    EPS,
    ROUND,
    STEP,
    FullCheck,
    check_gradient,
    check_gradient_blackbox,
    network_gradient,
    network_problem,
    run_derivative,
)
from gradcheck.largescale.stencil import kink_at_zero
from gradcheck.model.shapes import as_float_array, positive_int, validate
from gradcheck.oracles.finite_differences import DEFAULT_BUDGET, network_loss

__all__ = ["FastCheck", "fast_check", "network_blackbox", "network_fast_check"]


class FastCheck(NamedTuple):
    passed: bool
    max_excess: float  # max over directions of |gᵀv − D_v| / tolerance (≤ 1 passes)
    directions: int
    nfev: float  # calls of the loss, one parameter vector each (fallback: loss-equivalents)
    blocks: dict  # block name → passed (filled only after a failure)
    failed: tuple  # wrong entries named by the fallback, worst first
    fallback: FullCheck | None
    message: str


def _directional(f, p0, V, noise, budget):
    """D_k ≈ d/dt mean f(p0 + t V_k) by ``scipy.differentiate.derivative`` (order 4) for every
    row of V, with error + rounding, and whether the loss has a kink at p0 along V_k; f(p0) is
    evaluated once, not once per direction."""
    K, P = V.shape
    rows = int(max(1, budget // max(8 * P, 1)))
    stack, calls = np.empty((rows, P)), [1]
    l0 = float(np.asarray(f(p0[None, :]), dtype=np.float64).mean())

    def g(t, k):
        t, k = np.broadcast_arrays(t, np.reshape(k, np.shape(k) + (1,) * (np.ndim(t) - np.ndim(k))))
        tf, kf = t.ravel(), k.ravel()
        out = np.full(tf.size, l0)
        todo = np.flatnonzero(tf != 0)
        for a in range(0, todo.size, rows):
            idx = todo[a : a + rows]
            for q, i in enumerate(idx):
                np.multiply(V[kf[i]], tf[i], out=stack[q])
                stack[q] += p0
            out[idx] = np.asarray(f(stack[: idx.size]), dtype=np.float64).reshape(idx.size, -1).mean(axis=1)
        calls[0] += todo.size
        return out.reshape(t.shape)

    norm = np.sqrt(np.einsum("ij,ij->i", V, V))  # the first step moves p0 by 2^-7·max(1, ‖p0‖)
    steps = np.where(norm > 0, STEP * max(1.0, float(np.linalg.norm(p0))) / np.maximum(norm, 1e-300), 1.0)
    res, a = run_derivative(g, K, steps, np.zeros(K), (np.arange(K),), 0.0)
    return res.df, res.error + ROUND * noise / a, calls[0], kink_at_zero(res.values, l0, steps, noise)


def _excess(f, p0, g, s, V, noise, rtol, budget):
    """Worst |gᵀv − D_v| / tolerance, calls, and whether every failing direction has a kink."""
    D, err, calls, kinked = _directional(f, p0, V, noise, budget)
    tol = rtol * (np.abs(V) @ s) + 2 * err
    diff = np.abs(V @ g - D)
    excess = np.where(diff == 0, 0.0, diff / tol)
    return float(excess.max(initial=0.0)), calls, bool(np.all(kinked[excess > 1]))


def fast_check(
    f: Callable,
    p0,
    grad,
    *,
    directions: int = 8,
    seed: int = 0,
    blocks: dict | None = None,
    scale=None,
    noise: float | None = None,
    rtol: float | None = None,
    per_entry: Callable | None = None,
    name: Callable[[int], str] | None = None,
    max_entries: int | None = None,
    locate: bool = True,
    budget: int = 256 * 2**20,
) -> FastCheck:
    """Check ``grad`` of the black box f at p0 along ``directions`` Gaussian directions (module doc).

    ``blocks``: name → slice of p (default one block 'p').  ``per_entry(coords) → FullCheck``
    checks a failing block entry by entry (default: the black-box check, after bisecting to at
    most ``max_entries`` entries; default 2^24 / P, since each entry costs O(P) per evaluation).
    ``noise``: rounding of f (default eps·mean |terms of f(p0)|); ``scale``: entry scales.
    ``locate=False``: the directional verdict only, no blocks or entries named."""
    p0 = as_float_array(p0, "p0").ravel()
    g = as_float_array(grad, "grad").ravel()
    if g.size != p0.size:
        raise ValueError(f"grad: expected {p0.size} entries (the size of p0), got {g.size}")
    positive_int(directions, "directions")
    rtol = 1000 * EPS if rtol is None else float(rtol)
    s = np.abs(g) if scale is None else np.broadcast_to(as_float_array(scale, "scale").ravel(), p0.shape)
    if noise is None:
        noise = EPS * float(np.abs(np.asarray(f(p0[None, :]), dtype=np.float64)).mean())
    noise += EPS * float(s @ np.abs(p0))  # p + t v is rounded: a perturbation of eps·|p_i| per entry
    rng = np.random.default_rng(seed)
    excess, calls, kinks = _excess(f, p0, g, s, rng.standard_normal((directions, p0.size)), noise, rtol, budget)
    kink_note = (
        " — every failing direction crosses a kink of the loss at p0, where directions cannot judge"
        if kinks and excess > 1
        else ""
    )
    if excess <= 1 or not locate:
        return FastCheck(
            excess <= 1,
            excess,
            directions,
            calls,
            {},
            (),
            None,
            "" if excess <= 1 else f"directional derivatives disagree (worst {excess:.3g}× the tolerance){kink_note}",
        )
    blocks = blocks or {"p": slice(0, p0.size)}
    max_entries = max(8, 2**24 // p0.size) if max_entries is None else max_entries
    # bisect a black box down to max_entries; but the per-entry check has the last word on whole
    # blocks for the network, or when only kinks made directions fail and every entry is affordable
    bisect = per_entry is None and not (kinks and p0.size <= max_entries)
    per_entry = per_entry or (
        lambda c: check_gradient_blackbox(
            f, p0, g, scale=scale, noise=noise, rtol=rtol, coords=c, name=name, budget=min(budget, DEFAULT_BUDGET)
        )
    )
    status, failed, fallback = {}, [], None

    def passes(lo, hi, k):
        nonlocal calls
        W = np.zeros((k, p0.size))
        W[:, lo:hi] = rng.standard_normal((k, hi - lo))
        e, c, _ = _excess(f, p0, g, s, W, noise, rtol, budget)
        calls += c
        return e <= 1

    for label, sl in blocks.items():
        status[label] = passes(*sl.indices(p0.size)[:2], directions)
    # without bisection the per-entry check has the last word on every failing block (all blocks if
    # none fails alone): directions through a relu kink may disagree with a right gradient, the
    # per-entry check (subgradient intervals at kinks) does not
    suspects = [k for k, v in status.items() if not v] or ([] if bisect else list(blocks))
    fallbacks = {}
    for label in suspects:
        lo, hi, _ = blocks[label].indices(p0.size)
        ranges = [(lo, hi)]
        while bisect and ranges and ranges[0][1] - ranges[0][0] > max_entries:
            a, b = ranges.pop(0)  # black box: narrow the first failing range down by halves
            ranges[:0] = [r for r in ((a, (a + b) // 2), ((a + b) // 2, b)) if not passes(*r, 2)]
        if ranges:
            fallbacks[label] = fallback = per_entry(np.arange(*ranges[0]))
            failed += list(fallback.comparison.failed)
            calls += fallback.nfev
    if not bisect and all(fb.passed for fb in fallbacks.values()):
        return FastCheck(
            True,
            excess,
            directions,
            calls,
            status,
            (),
            fallback,
            f"directional derivatives disagreed (worst {excess:.3g}× the tolerance)"
            f"{kink_note or ' (kinks?)'}, but every entry of {', '.join(suspects)} passed the per-entry check",
        )
    bad = ", ".join(k for k, v in status.items() if not v) or "none found"
    named = f"; wrong entries: {', '.join(failed[:10])}" if failed else ""
    message = (
        f"directional derivatives disagree (worst {excess:.3g}× the tolerance){kink_note}; failing blocks: {bad}{named}"
    )
    return FastCheck(False, excess, directions, calls, status, tuple(failed), fallback, message)


def network_blackbox(x, y, w_h, theta, *, hidden="sigmoid", output="sigmoid"):
    """(f, p0, blocks, scale, noise) for the network's loss as a black box f: (k, P) → (k, n);
    scale and noise (a whole forward pass's rounding) from the cached forward quantities."""
    f, p0 = network_loss(x, y, w_h, theta, hidden=hidden, output=output)
    _, ev = network_problem(x, y, w_h, theta, hidden, output)
    return f, p0, {"w_h": slice(0, ev.split), "theta": slice(ev.split, ev.P)}, ev.scale, ev.noise_full


def network_fast_check(
    x,
    y,
    w_h,
    theta,
    grad_w_h,
    grad_theta,
    *,
    hidden="sigmoid",
    output="sigmoid",
    directions: int = 8,
    seed: int = 0,
    rtol: float | None = None,
    threads: int = 2,
) -> FastCheck:
    """:func:`fast_check` on the network's loss as a black box; failing blocks are then
    checked entry by entry by the incremental :func:`gradcheck.largescale.full.check_gradient`."""
    f, p0, blocks, scale, noise = network_blackbox(x, y, w_h, theta, hidden=hidden, output=output)
    p = validate(x, y, w_h, theta)
    g = network_gradient(grad_w_h, grad_theta, p.dims.d, p.dims.m)

    def per_entry(coords):
        return check_gradient(
            x,
            y,
            w_h,
            theta,
            grad_w_h,
            grad_theta,
            hidden=hidden,
            output=output,
            rtol=rtol,
            threads=threads,
            _coords=coords,
        )

    return fast_check(
        f,
        p0,
        g,
        directions=directions,
        seed=seed,
        blocks=blocks,
        scale=scale,
        noise=noise,
        rtol=rtol,
        per_entry=per_entry,
    )
