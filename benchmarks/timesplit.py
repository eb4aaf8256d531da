"""Where gradcheck's full check spends its time: cProfile (one thread), grouped by module.

cProfile charges a numpy ufunc's time to the Python function that calls it, so
"Δl evaluations" is the σ arithmetic of ``gradcheck.largescale.tiles`` (the w_h entries, tile by
tile) and ``gradcheck.largescale.incremental`` (θ, setup, steps), "compare" the comparison's
reductions (fused into the tiles' pass), "full.py" the tiles' bookkeeping,
"scipy.differentiate loop" is scipy's per-element bookkeeping (plus the few Python
helpers of scipy._lib it calls), and so on.  Seconds of one thread, not wall time.
"""

from __future__ import annotations

import cProfile
import pstats

from gradcheck.largescale import full as fast
from gradcheck.model.network import pack

GROUPS = [
    ("gradcheck/largescale/tiles.py", "Δl evaluations (σ only, incremental)"),  # the tiles of w_h
    ("gradcheck/largescale/incremental.py", "Δl evaluations (σ only, incremental)"),  # θ, setup, steps
    ("gradcheck/largescale/stencil.py", "stencil iterations (Richardson)"),
    ("scipy/differentiate", "scipy.differentiate loop"),
    ("scipy/_lib", "scipy.differentiate loop"),
    ("gradcheck/checking/tolerance.py", "compare (tally, allowance)"),
    ("gradcheck/largescale/full.py", "full.py (tiles' bookkeeping, merge)"),
    ("gradcheck/largescale/entries.py", "generic path (θ, unconverged, kinks)"),
    ("gradcheck/model/network.py", "forward pass, pack"),
    ("gradcheck/model/shapes.py", "input validation"),
    ("concurrent/futures", "thread pool"),
    ("threading.py", "thread pool"),
]


def _group(filename: str) -> str:
    for part, label in GROUPS:
        if part in filename.replace("\\", "/"):
            return label
    return "numpy reductions, allocation, other" if filename == "~" or "numpy" in filename else "other"


def where_time_goes(prob, gradient, *, engine: str = "stencil") -> dict:
    """{group: seconds} for one single-threaded full check of ``prob`` (benchmarks.cases.Problem)."""
    gw, gt = gradient.at(pack(prob.w_h, prob.theta))
    run = lambda: fast.check_gradient(
        prob.x, prob.y, prob.w_h, prob.theta, gw, gt, threads=1, engine=engine, **prob.kwargs
    )
    run()  # warm
    prof = cProfile.Profile()
    prof.runcall(run)
    out: dict = {}
    for (filename, _, _), (_, _, tottime, _, _) in pstats.Stats(prof).stats.items():
        label = _group(filename)
        out[label] = out.get(label, 0.0) + tottime
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
