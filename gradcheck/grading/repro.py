"""One small failing case per failed check, written as Python a student can paste and rerun.

For a gradient check: the case (d, m), the inputs exactly as the student's function received
them (x, y, w_h, θ and the reference intermediates of eq. 1–5; every float printed in its
shortest exact form), the call, what it returned, what was expected and the worst entries
with their absolute and relative errors (:func:`gradcheck.grading.judge.worst_entries`).
The smallest failing case is chosen (fewest parameters, then the first drawn).
"""

from __future__ import annotations

import numpy as np

from gradcheck.checking.tolerance import default_rtol
from gradcheck.grading.judge import (
    CheckResult,
    Context,
    call_error,
    forward_reading,
    gradient_reading,
    namer,
    worst_entries,
)
from gradcheck.grading.plan import main_block, reference_block
from gradcheck.grading.sandbox.protocol import Ref
from gradcheck.model.network import LABEL

__all__ = ["with_examples", "gradient_example", "literal"]

GRADIENT_CHECKS = {  # check: (the calls it judged, the block it judged)
    "grad_theta_values": ("ref", "theta"),
    "grad_w_h_values": ("ref", "w_h"),
    "grad_theta_shape": ("ref", "theta"),
    "grad_w_h_shape": ("ref", "w_h"),
    "course_pipeline_d1": ("own", None),
    "consistent_with_own_forward": ("own", None),
}
EQUATION = {"w_h": "eq. 11", "theta": "eq. 6"}


def literal(value) -> str:
    """A Python literal for a float, an array (as np.array([...])) or anything else (repr)."""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    a = np.asarray(value)
    if a.dtype.kind != "f":
        return repr(value)

    def nested(v):
        return repr(float(v)) if np.ndim(v) == 0 else "[" + ", ".join(nested(e) for e in v) + "]"

    return f"np.array({nested(a)})"


def _module(file: str) -> str:
    stem = file.rsplit(".", 1)[0]
    return stem if stem.isidentifier() else "your_file"


def _resolved(ctx: Context, value):
    """A Ref (an output of an earlier call) replaced by what that call returned."""
    if isinstance(value, Ref):
        r = ctx.calls.get(value.call)
        return r.values.get(value.key, "?") if r is not None and r.status == "ok" else "?"
    return value


def _call_args(ctx: Context, cid: str) -> dict | None:
    """The arguments the call ``cid`` was made with (the plan is deterministic per seed)."""
    if cid.startswith("ref/"):
        calls = reference_block(ctx.problems, ctx.contract, ctx.layout, ctx.ref)
    else:
        calls = main_block(ctx.problems, ctx.contract, ctx.layout)
    return next((c.args for c in calls if c.id == cid), None)


def gradient_example(ctx: Context, c: int, s: int, block: str | None, kind: str = "ref") -> str:
    """The failing gradient call kind/c/s (only its ``block`` if given), as code and comments.  'ref'
    calls get the reference intermediates, 'own' ones those of the student's forward_pass."""
    case, ref = ctx.problems.cases[c], ctx.ref.cases[c]
    cid = f"{kind}/{c}/{s}"
    args = _call_args(ctx, cid)
    if args is None:
        return ""
    fn = ctx.contract.gradients.function
    lines = [
        f"# d = {case.d} input feature(s), m = {case.m} hidden unit(s); "
        f"activations {ctx.ref.hidden} (hidden), {ctx.ref.output} (output)",
        "import numpy as np",
        f"from {_module(ctx.file)} import {fn}",
        "",
    ]
    lines += [f"{name} = {literal(_resolved(ctx, v))}" for name, v in args.items()]
    source = "the reference forward pass" if kind == "ref" else f"your {ctx.contract.forward.function}"
    lines.append(f"# (the intermediates are those of {source} at x, w_h = {literal(case.w_h)}, θ as above)")
    lines.append(f"g = {fn}({', '.join(f'{n}={n}' for n in args)})")
    r = ctx.calls.get(cid)
    if call_error(r):
        lines.append(f"# it {call_error(r, ctx.file)}")
        return "\n".join(lines)
    reading, error = gradient_reading(ctx, cid, case.d, case.m)
    for b in (block,) if block else ("w_h", "theta"):
        key = ctx.contract.gradients.keys[ctx.contract.block_symbol(b)]
        want = getattr(ref.gradients[s], b)
        value = reading[b] if reading else None
        got = r.values.get(key)
        lines.append(f"# g[{key!r}] ({LABEL[b]}) returned:  {literal(got) if got is not None else 'nothing'}")
        lines.append(f"# expected ({EQUATION[b]}), shape {want.shape}: {literal(want)}")
        if value is not None and value.array is not None:
            dtype = value.dtype if value.dtype in ("float16", "float32") else "float64"
            worst = worst_entries(value.array, want, getattr(ref.scales[s], b), default_rtol(dtype), namer(case, b))
            if worst:
                lines.append(f"# worst: {worst}")
        elif value is not None and value.error:
            lines.append(f"# {value.error}")
    return "\n".join(lines)


def forward_example(ctx: Context, cid: str) -> str:
    """The failing forward call ``cid`` (fwd/c or row/c/s), as code and comments."""
    c = int(cid.split("/")[1])
    case, ref = ctx.problems.cases[c], ctx.ref.cases[c]
    rows = slice(None) if cid.startswith("fwd/") else slice(int(cid.split("/")[2]), int(cid.split("/")[2]) + 1)
    args = _call_args(ctx, cid)
    if args is None:
        return ""
    fn = ctx.contract.forward.function
    lines = [
        f"# n = {len(case.X[rows])} sample(s) of d = {case.d} feature(s), m = {case.m} hidden unit(s); "
        f"activations {ctx.ref.hidden} (hidden), {ctx.ref.output} (output)",
        "import numpy as np",
        f"from {_module(ctx.file)} import {fn}",
        "",
    ]
    lines += [f"{name} = {literal(v)}" for name, v in args.items()]
    lines.append(f"out = {fn}({', '.join(f'{n}={n}' for n in args)})")
    r = ctx.calls.get(cid)
    if call_error(r):
        return "\n".join(lines + [f"# it {call_error(r, ctx.file)}"])
    reading, _ = forward_reading(ctx, cid, len(case.X[rows]), case.m)
    for name, value in (reading or {}).items():
        want = getattr(ref.forward, name)[rows]
        key = ctx.contract.forward.keys[name]
        if value.array is None:
            lines.append(f"# out[{key!r}]: {value.error}")
            continue
        dtype = value.dtype if value.dtype in ("float16", "float32") else "float64"
        scale = ref.forward_scale[name][rows]
        worst = worst_entries(
            value.array,
            want,
            scale,
            default_rtol(dtype),
            lambda i, n=name, w=want: f"{n}[{', '.join(map(str, np.unravel_index(i, w.shape)))}]",
        )
        if worst:
            lines += [
                f"# out[{key!r}] returned: {literal(value.array)}",
                f"# expected: {literal(want)}",
                f"# worst: {worst}",
            ]
    return "\n".join(lines)


def _smallest(ctx: Context, failures, kind: str = "ref") -> tuple[int, int] | None:
    """The failing (case, sample) with the fewest parameters, one that returned preferred (a crash
    is shown in What to fix already; a wrong value is what this check adds)."""

    def key(cs):
        c, s = cs
        raised = bool(call_error(ctx.calls.get(f"{kind}/{c}/{s}")))
        return raised, (ctx.problems.cases[c].d + 1) * ctx.problems.cases[c].m, cs

    return min(failures, key=key) if failures else None


def with_examples(ctx: Context, checks: list[CheckResult]) -> list[CheckResult]:
    """The checks, each failed gradient check with one small failing case to rerun."""
    if ctx.import_error:
        return list(checks)  # nothing ran: the import error is the one thing to fix
    out = []
    for check in checks:
        if check.name in ("forward_values", "forward_shapes") and not check.passed and check.failures:
            try:
                check = check._replace(example=forward_example(ctx, check.failures[0][0]))
            except Exception:
                pass
        elif check.name in GRADIENT_CHECKS and not check.passed and check.failures:
            kind, block = GRADIENT_CHECKS[check.name]
            c, s = _smallest(ctx, check.failures, kind)
            try:
                check = check._replace(example=gradient_example(ctx, c, s, block, kind))
            except Exception:  # an example is a courtesy: never a reason to lose the grade
                pass
        out.append(check)
    return out
