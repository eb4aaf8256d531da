"""Which activation the student's forward pass uses, read from its own outputs (pre_h → h, pre_y → ŷ).

:func:`detect_activation` picks the one built-in σ that maps pre_h to h (and pre_y to ŷ) in every
forward batch; :func:`activation_mismatch` says when a given ``--activation`` contradicts the
outputs, and what they look like instead.
"""

from __future__ import annotations

import numpy as np

from gradcheck.grading.judge import Context
from gradcheck.model import activations

__all__ = ["detect_activation", "fitting", "activation_mismatch", "activation_unknown", "FIT"]

FIT = 1e-5  # max |a − σ(z)| relative to |σ(z)| + |z σ'(z)|: the outputs are σ of the inputs
LAYERS = (("hidden", "pre_h", "h"), ("output", "pre_y", "y_hat"))


def _pairs(ctx: Context, pre: str, post: str):
    """(z, a): the student's own pre-activations and activations, over every forward batch."""
    keys = ctx.contract.forward.keys
    zs, as_ = [], []
    for c, _case in enumerate(ctx.problems.cases):
        r = ctx.calls.get(f"fwd/{c}")
        if r is None or r.status != "ok" or keys.get(pre) not in r.values or keys.get(post) not in r.values:
            continue
        z, a = r.values[keys[pre]].reshape(-1), r.values[keys[post]].reshape(-1)
        if z.shape == a.shape and np.all(np.isfinite(z)) and np.all(np.isfinite(a)):
            zs.append(z)
            as_.append(a)
    return (np.concatenate(zs), np.concatenate(as_)) if zs else (None, None)


def fitting(ctx: Context, candidates) -> tuple:
    """Per layer, the candidate names whose σ maps the outputs' inputs to them (None: nothing to read)."""
    out = []
    for (_layer, pre, post), names in zip(LAYERS, candidates):
        z, a = _pairs(ctx, pre, post)
        if z is None:
            out.append(None)
            continue
        fits = []
        for name in names:
            act = activations.get(name)
            scale = np.abs(act.sigma(z)) + np.abs(z * act.dsigma(z)) + 1e-12
            if float(np.max(np.abs(a - act.sigma(z)) / scale)) <= FIT:
                fits.append(name)
        out.append(fits)
    return tuple(out)


def detect_activation(ctx: Context, candidates) -> tuple[str | None, str | None]:
    """The built-in σ that maps the student's pre_h to h (and pre_y to ŷ) in every batch, if any."""
    return tuple(f[0] if f and len(f) == 1 else None for f in fitting(ctx, candidates))  # none or ambiguous


def _looks_like(z, a) -> str:
    """A few (input → output) pairs, negative and positive inputs first."""
    order = np.argsort(z)
    picks = sorted({int(order[0]), int(order[len(z) // 2]), int(order[-1])}, key=lambda i: z[i])
    return ", ".join(f"{z[i]:.3g} → {a[i]:.3g}" for i in picks).replace("-", "−")


def activation_unknown(ctx: Context) -> str:
    """'' unless some layer's outputs are none of the built-in activations of its inputs (the
    activation was then assumed, not detected): what they look like."""
    fits = fitting(ctx, (activations.names(), activations.names()))
    parts = []
    for (_layer, pre, post), fit in zip(LAYERS, fits):
        if fit == []:
            z, a = _pairs(ctx, pre, post)
            parts.append(
                f"your forward pass's {post} is none of the built-in activations ({', '.join(activations.names())}) "
                f"of {pre}; for example {pre} → {post}: {_looks_like(z, a)}"
            )
        elif fit:
            parts.append(f"your {post} looks like {' or '.join(fit)} ({post} = {fit[0]}({pre}))")
    if not any("none of the built-in" in p for p in parts):
        return ""
    return (
        "; ".join(parts)
        + f". The {ctx.ref.hidden} (hidden), {ctx.ref.output} (output) reference was assumed, so the gradient "
        "checks may compare with the wrong one and no advice on them is given: check the "
        "activation in your forward pass (h = σ(pre_h), ŷ = σ(pre_y)), or give it with --activation"
    )


def activation_mismatch(ctx: Context) -> str:
    """'' when the activations graded with fit the student's forward outputs; else what they look like."""
    given = (ctx.ref.hidden, ctx.ref.output)
    fits = fitting(ctx, (activations.names(), activations.names()))
    parts = []
    for (layer, pre, post), want, fit in zip(LAYERS, given, fits):
        if fit is None or want in fit:
            continue
        z, a = _pairs(ctx, pre, post)
        seen = f"{' or '.join(fit)} ({post} = {fit[0]}({pre}))" if fit else "none of the built-in activations"
        parts.append(
            f"the {layer} layer was graded as {want}, but your forward pass's {post} is not {want}({pre}): "
            f"it looks like {seen}; for example {pre} → {post}: {_looks_like(z, a)}"
        )
    if not parts:
        return ""
    return (
        "; ".join(parts)
        + ". Everything was graded against the activation you gave (--activation), so the gradient checks "
        "compare with the wrong reference: grade again with the activation your code uses (or leave "
        "--activation out to detect it)"
    )
