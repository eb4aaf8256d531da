"""Where gradcheck's full check spends its time: cProfile (one thread), grouped by module.

cProfile charges a numpy ufunc's time to the Python function that calls it, so
"Δl evaluations" is the σ arithmetic and gathers of ``gradcheck.incremental``,
"scipy.differentiate loop" is scipy's per-element bookkeeping (plus the few Python
helpers of scipy._lib it calls), and so on.  Seconds of one thread, not wall time.
"""
from __future__ import annotations

import cProfile
import pstats

from gradcheck import fast

GROUPS = [("gradcheck/incremental.py", "Δl evaluations (σ only, incremental)"),
          ("gradcheck/stencil.py", "vectorised iterations (gradcheck.stencil)"),
          ("scipy/differentiate", "scipy.differentiate loop"), ("scipy/_lib", "scipy.differentiate loop"),
          ("gradcheck/compare.py", "compare"), ("gradcheck/fast.py", "fast.py (setup, kinks, chunks)"),
          ("gradcheck/network.py", "forward pass, pack"), ("gradcheck/shapes.py", "input validation")]


def _group(filename: str) -> str:
    for part, label in GROUPS:
        if part in filename.replace("\\", "/"):
            return label
    return "numpy reductions, allocation, other" if filename == "~" or "numpy" in filename else "other"


def where_time_goes(prob, gradient, *, engine: str = "stencil") -> dict:
    """{group: seconds} for one single-threaded full check of ``prob`` (benchmarks.cases.Problem)."""
    gw, gt = gradient.at(prob.p0)
    run = lambda: fast.check_gradient(prob.x, prob.y, prob.w_h, prob.theta, gw, gt, threads=1,  # noqa: E731
                                      engine=engine, **prob.kw)
    run()  # warm
    prof = cProfile.Profile()
    prof.runcall(run)
    out: dict = {}
    for (filename, _, _), (_, _, tottime, _, _) in pstats.Stats(prof).stats.items():
        label = _group(filename)
        out[label] = out.get(label, 0.0) + tottime
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
