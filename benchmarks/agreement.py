"""Norm-wise agreement of the analytic gradients (eq. 6 and 11) with each oracle.

    python benchmarks/agreement.py [--examples N] [--seed S] [--out DIR]

Draws problems with gradcheck.checking.strategies.problems for every (hidden, output)
pair (N per pair; the ci profile uses 40) and compares the analytic gradient a
with each oracle r: autodiff, complex step (analytic activations only) and
batched central differences.  Printed per oracle:
  * the norm-wise relative error ‖a − r‖₂ / ‖r‖₂ over all examples (median, max);
  * the same over the examples the oracle resolves: its own error bound e satisfies
    ‖e‖₂ ≤ 1e-8·‖r‖₂.  A loss-evaluating oracle cannot resolve a gradient that is
    tiny next to the loss (saturated σ, residuals ŷ − y of 1e-8, weights of
    1e-300 — hypothesis draws all of these): there its estimate is mostly noise,
    and honestly says so through e;
  * the max over well-conditioned examples, κ = R / |ŷ − y| ≤ 1e3 (R from
    gradcheck.checking.scale.residual_size: what rounding in ŷ − y is relative to).
    Every gradient — analytic, autodiff or estimated — carries ≈ κ·eps relative
    rounding from ŷ − y, so beyond that no two of them can be asked to agree.
Writes reports/agreement.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hseed
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gradcheck.checking.scale import residual_size
from gradcheck.checking.strategies import problems
from gradcheck.model import (
    activations,
    formulas,
)
from gradcheck.model.network import forward, pack
from gradcheck.oracles import autodiff
from gradcheck.oracles.finite_differences import estimate

ORACLES = ("autodiff", "complex step", "central differences")


def _record(a, r, e, kappa):
    nr = np.linalg.norm(r)
    rel = 0.0 if not np.any(a - r) else float(np.linalg.norm(a - r) / nr) if nr else np.inf
    return rel, e is None or bool(np.linalg.norm(e) <= 1e-8 * nr), kappa


def collect(examples: int, seed: int) -> dict[str, list[tuple]]:
    rows = {k: [] for k in ORACLES}
    for hidden, output in itertools.product(activations.names(), repeat=2):
        analytic = activations.get(hidden).analytic and activations.get(output).analytic

        @hseed(seed)
        @settings(max_examples=examples, database=None, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.data())
        def body(data, hidden=hidden, output=output, analytic=analytic):
            p = data.draw(problems(hidden=hidden, output=output))
            f = forward(p.x, p.y, p.w_h, p.theta, **p.kwargs)
            res = abs(float(f.y_hat - p.y))
            kappa = residual_size(f, p.y, p.w_h, p.theta, **p.kwargs) / res if res else np.inf
            g = formulas.gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
            a = pack(g.w_h, g.theta)
            r = autodiff.gradients(p.x, p.y, p.w_h, p.theta, **p.kwargs)
            rows["autodiff"].append(_record(a, pack(r.w_h, r.theta), None, kappa))
            methods = [("complex step", "complex-step")] * analytic + [("central differences", "central")]
            for name, method in methods:
                est = estimate(p.x, p.y, p.w_h, p.theta, method=method, **p.kwargs)
                rows[name].append(_record(a, est.grad, est.error, kappa))

        body()
    return rows


def summarise(rows) -> dict:
    out = {}
    for name, recs in rows.items():
        rel = np.array([r[0] for r in recs])
        resolved = np.array([r[1] for r in recs])
        tame = np.array([r[2] for r in recs]) <= 1e3
        finite = np.isfinite(rel)
        out[name] = dict(
            examples=len(recs),
            median_rel=float(np.median(rel[finite])),
            max_rel=float(rel[finite].max()),
            resolved=int(resolved.sum()),
            max_rel_resolved=float(rel[resolved].max(initial=0.0)),
            well_conditioned=int(tame.sum()),
            max_rel_well_conditioned=float(rel[tame & finite].max(initial=0.0)),
        )
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=40, help="per activation pair (ci profile: 40)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="reports")
    args = ap.parse_args(argv)
    table = summarise(collect(args.examples, args.seed))
    print(
        f"{'oracle':20s} {'examples':>8s} {'median':>8s} {'max':>8s} {'resolved':>8s} {'max':>8s} "
        f"{'κ≤1e3':>6s} {'max':>8s}"
    )
    for name, r in table.items():
        print(
            f"{name:20s} {r['examples']:8d} {r['median_rel']:8.1e} {r['max_rel']:8.1e} {r['resolved']:8d} "
            f"{r['max_rel_resolved']:8.1e} {r['well_conditioned']:6d} {r['max_rel_well_conditioned']:8.1e}"
        )
    Path(args.out).mkdir(parents=True, exist_ok=True)
    Path(args.out, "agreement.json").write_text(
        json.dumps({"seed": args.seed, "examples_per_pair": args.examples, "oracles": table}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
