"""The checks that observe completed calls: inputs not mutated, the same result twice, SGD with the
student's functions lowers the loss.  Each is "not run" (no credit) when a function it needs never
returned: there is then nothing to observe.
"""

from __future__ import annotations

import numpy as np

from gradcheck.grading.judge import Context, Tally, call_error, case_label
from gradcheck.grading.plan import REPEATS
from gradcheck.model import network

__all__ = ["function_of", "never_returned", "not_mutated", "deterministic", "sgd_lowers_loss"]


def function_of(ctx: Context, cid: str) -> str:
    gradient = cid.split("/")[0] in ("ref", "own") or cid.endswith("/grad")
    return ctx.contract.gradients.function if gradient else ctx.contract.forward.function


def never_returned(ctx: Context) -> str:
    """'' when every function returned at least once; else why a check of completed calls cannot run."""
    for function in ctx.contract.functions:
        mine = [
            (cid, r)
            for cid, r in ctx.calls.items()
            if cid != "sgd" and not cid.startswith("probe/") and function_of(ctx, cid) == function
        ]
        if mine and not any(r.status == "ok" for _, r in mine):
            return f"{function} never returned: it {call_error(mine[0][1], ctx.file)}"
    return ""


def not_mutated(ctx: Context, t: Tally):
    if why := never_returned(ctx):
        t.skip(why)
        return
    hits: dict[str, int] = {}
    for cid, r in ctx.calls.items():
        function = function_of(ctx, cid)
        for arg in r.mutated:
            hits[f"{function} changed its argument {arg!r} in place"] = (
                hits.get(f"{function} changed its argument {arg!r} in place", 0) + 1
            )
    ran = any(r.status == "ok" for r in ctx.calls.values())
    problems = [f"{what} ({n} call{'s' * (n > 1)})" for what, n in hits.items()]
    t.item(ran and not problems, "; ".join(problems) or "nothing ran")


def deterministic(ctx: Context, t: Tally):
    if why := never_returned(ctx):
        t.skip(why)
        return
    pairs = [(f"fwd/{c}", f"fwd/{c}/again") for c in REPEATS] + [("ref/0/0", "ref/again")]
    for a, b in pairs:
        ra, rb = ctx.calls.get(a), ctx.calls.get(b)
        what = ctx.contract.gradients.function if a.startswith("ref") else ctx.contract.forward.function
        if call_error(ra) or call_error(rb):
            t.item(
                False,
                f"not run for {what} on {case_label(ctx.problems, int(a.split('/')[1]))}: it "
                f"{call_error(ra, ctx.file) or call_error(rb, ctx.file)}",
            )
            continue
        same = ra.values.keys() == rb.values.keys() and all(
            ra.values[k].shape == rb.values[k].shape and np.array_equal(ra.values[k], rb.values[k], equal_nan=True)
            for k in ra.values
        )
        t.item(same, f"{what} returned different results for the same arguments")


def sgd_lowers_loss(ctx: Context, t: Tally):
    r, s = ctx.calls.get("sgd"), ctx.problems.sgd
    if call_error(r):
        t.skip(f"SGD with your functions {call_error(r, ctx.file)}")
        return
    w_key = ctx.contract.block_symbol("w_h")
    w_h, theta = r.values.get(w_key), r.values.get("theta")
    if w_h is None or theta is None:
        t.item(False, "SGD returned no weights")
        return
    w_h = w_h.T if w_key == "w_h.T" else w_h
    kw = dict(hidden=ctx.ref.hidden, output=ctx.ref.output)
    end = (
        network.loss(s.X, s.Y, w_h, theta.reshape(-1), **kw)
        if np.all(np.isfinite(w_h)) and np.all(np.isfinite(theta))
        else np.inf
    )
    start, ref_end = ctx.ref.sgd_start, ctx.ref.sgd_end
    ok = end <= start - 0.5 * (start - ref_end)
    t.item(
        ok,
        f"{len(s.order)} SGD steps (η = {s.step}) took the loss from {start:.4g} to {end:.4g}; "
        f"the reference gradients reach {ref_end:.4g}",
    )
    if ok:
        t.note(
            f"SGD: {len(s.order)} steps (η = {s.step}) with your gradients took the training loss from "
            f"{start:.4g} to {end:.4g}; the reference gradients reach {ref_end:.4g}"
        )
