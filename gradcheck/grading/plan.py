"""Every call one submission's grading needs, batched into a single sandbox run.

Call ids (c = case, s = gradient sample, k = direction, j = step):
    ref/c/s, ref/again   gradients fed the *reference* intermediates (activation-dependent:
                         this block runs first, so re-running it alone after a wrong
                         activation guess sees the same fresh process state)
    fwd/c, fwd/c/again   forward_pass on the case's batch (n ≥ 3 rows)
    row/c/s, own/c/s     the course pipeline: forward_pass on one (1, d) row, then
                         compute_gradients fed what it returned (protocol.Ref)
    fd/c/k/j             forward_pass on the gradient samples at p + δ_j v_k,
                         δ = (h, −h, 2h, −2h): finite differences of the student's own
                         forward, computed in the parent
    probe/L/fwd, probe/L/grad   one forward and one gradient call per variant layout L
    sgd                  per-sample SGD with the student's own functions, run in the child
                         (protocol.Loop); the parent judges the loss of the final weights
"""

from __future__ import annotations

import numpy as np

from gradcheck.grading.contract import (
    INTERMEDIATES,
    PARAMS,
    Contract,
    Layout,
    bind,
    param_value,
    reference_intermediates,
)
from gradcheck.grading.problems import SAMPLES, ProblemSet, Reference
from gradcheck.grading.sandbox.protocol import Call, Loop, Ref, Var
from gradcheck.model.network import forward_unchecked, pack, unpack

__all__ = ["FD_STEP", "FD_SIGNS", "reference_block", "main_block", "perturbed"]

FD_STEP = 1e-3
FD_SIGNS = (1.0, -1.0, 2.0, -2.0)
REPEATS = (0, 1)  # cases whose batch forward is called twice


def _params(contract: Contract, w_h, theta, layout: Layout) -> dict:
    return {p: param_value(p, w_h, theta, layout) for p in PARAMS}


def _sample(x, y) -> dict:
    return {"x": np.array(x), "x_row": np.array(x)[None, :], "y": float(y)}


def _ref_call(contract, layout, case, ref_case, s, cid) -> Call:
    f = ref_case.forward
    inter = reference_intermediates(f.pre_h[s], f.h[s], f.pre_y[s], f.y_hat[s], layout)
    values = {**_params(contract, case.w_h, case.theta, layout), **_sample(case.X[s], case.Y[s]), **inter}
    return Call(contract.gradients.function, bind(contract.gradients, values), cid)


def reference_block(problems: ProblemSet, contract: Contract, layout: Layout, ref: Reference) -> list:
    calls = [
        _ref_call(contract, layout, case, ref.cases[c], s, f"ref/{c}/{s}")
        for c, case in enumerate(problems.cases)
        for s in range(SAMPLES)
    ]
    calls.append(_ref_call(contract, layout, problems.cases[0], ref.cases[0], 0, "ref/again"))
    return calls


def _forward(contract, layout, X, w_h, theta, cid) -> Call:
    values = {"X": np.array(X), **_params(contract, w_h, theta, layout)}
    return Call(contract.forward.function, bind(contract.forward, values), cid)


def perturbed(case, k: int, j: int) -> tuple[np.ndarray, np.ndarray]:
    """(w_h, θ) at p + δ_j v_k."""
    p = pack(case.w_h, case.theta) + FD_SIGNS[j] * FD_STEP * case.directions[k]
    return unpack(p, case.d, case.m)


def main_block(problems: ProblemSet, contract: Contract, layout: Layout, *, probes=()) -> list:
    """The activation-independent calls (and one probe pair per layout in ``probes``)."""
    calls = []
    for c, case in enumerate(problems.cases):
        calls.append(_forward(contract, layout, case.X, case.w_h, case.theta, f"fwd/{c}"))
        for s in range(SAMPLES):
            calls.append(_forward(contract, layout, case.X[s : s + 1], case.w_h, case.theta, f"row/{c}/{s}"))
            own = {name: Ref(f"row/{c}/{s}", key) for name, key in contract.forward.keys.items()}
            values = {**_params(contract, case.w_h, case.theta, layout), **_sample(case.X[s], case.Y[s]), **own}
            calls.append(Call(contract.gradients.function, bind(contract.gradients, values), f"own/{c}/{s}"))
        for k in range(len(case.directions)):
            for j in range(len(FD_SIGNS)):
                w_h, theta = perturbed(case, k, j)
                calls.append(_forward(contract, layout, case.X[:SAMPLES], w_h, theta, f"fd/{c}/{k}/{j}"))
    for c in REPEATS:
        case = problems.cases[c]
        calls.append(_forward(contract, layout, case.X, case.w_h, case.theta, f"fwd/{c}/again"))
    for i, variant in enumerate(probes):
        case = problems.cases[1]
        calls.append(_forward(contract, variant, case.X[:1], case.w_h, case.theta, f"probe/{i}/fwd"))
        f = forward_unchecked(case.X[0], case.Y[0], case.w_h, case.theta, hidden="identity", output="identity")
        inter = reference_intermediates(f.pre_h, f.h, f.pre_y, f.y_hat, variant)  # only "does it raise?"
        values = {**_params(contract, case.w_h, case.theta, variant), **_sample(case.X[0], case.Y[0]), **inter}
        calls.append(Call(contract.gradients.function, bind(contract.gradients, values), f"probe/{i}/grad"))
    calls.append(sgd_loop(problems, contract, layout))
    return calls


def sgd_loop(problems: ProblemSet, contract: Contract, layout: Layout) -> Loop:
    s = problems.sgd
    state = {
        p: param_value(p, s.w_h, s.theta, layout)
        for p in PARAMS
        if p in contract.forward.args.values() or p in contract.gradients.args.values() or p in contract.gradients.keys
    }
    steps = tuple({"X": s.X[i : i + 1].copy(), "x": s.X[i].copy(), "y": float(s.Y[i])} for i in s.order)
    fwd = {arg: Var("X" if sym == "X" else sym) for arg, sym in contract.forward.args.items()}
    grad = {}
    for arg, sym in contract.gradients.args.items():
        grad[arg] = (
            Ref("0", contract.forward.keys[sym]) if sym in INTERMEDIATES else Var("X" if sym == "x_row" else sym)
        )
    update = {p: (1, key, -s.step) for p, key in contract.gradients.keys.items()}
    return Loop(
        "sgd",
        steps,
        state,
        (Call(contract.forward.function, fwd, "forward"), Call(contract.gradients.function, grad, "gradients")),
        update,
    )
