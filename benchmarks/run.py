#!/usr/bin/env python
"""Speed, detection power and grading throughput, side by side, in one process and one run.

    python benchmarks/run.py [--quick] [--out reports]

(with torch and jax: ``pip install -e .[bench]`` first; their columns say "not
installed" otherwise).  Writes ``<out>/bench.json`` and ``<out>/bench.md`` and prints
the tables.  Times are medians over repeats of wall-clock time in this process;
compare ratios within one run — the machines are small and noisy.  Each tool gets one
untimed warm-up call per size (except the quadratic ones above 5k parameters), and
torch runs single-threaded (torch.set_num_threads(1)), its fastest setting for these
small operations on 2 cores (0.59 s vs 1.58 s for slow mode at 1.1k, measured), and so does
numpy's BLAS when threadpoolctl is installed (after a threaded call its workers spin ≈ 0.1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import cases  # noqa: E402
import general  # noqa: E402
import numpy as np  # noqa: E402
import tools  # noqa: E402
from throughput import throughput  # noqa: E402
from timesplit import where_time_goes  # noqa: E402

from gradcheck.largescale import full as fast  # noqa: E402
from gradcheck.model.network import pack  # noqa: E402
from gradcheck.reports import plots  # noqa: E402

TIMED = [
    "gradcheck full",
    "gradcheck full (scipy loop)",
    "gradcheck fast",
    "gradcheck fast (black box)",
    "torch slow",
    "torch fast",
    "jax check_grads",
    "scipy check_grad",
]
QUADRATIC = {
    "torch slow": "builds the full Jacobian column by column: 2P + 2 calls of f, each O(P)",
    "scipy check_grad": "approx_fprime: P + 1 calls of f, each O(P)",
}


def _median_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def timing(sizes, repeats, say):
    rows, measured = [], {}
    for d, m in sizes:
        prob = cases.problem(d, m)
        grad, P = cases.right(prob), pack(prob.w_h, prob.theta).size
        base = None
        for name in TIMED:
            row = dict(d=d, m=m, n_params=P, tool=name)
            why = tools.available(name)
            if why is None and name in QUADRATIC and P > 100_000:
                t20 = measured.get((name, "20k"))
                est = (
                    f"; extrapolated from the ≈20k run: {t20 * (P / measured[(name, 'P')]) ** 2 / 60:.0f} min"
                    if t20
                    else ""
                )
                why = f"infeasible: {QUADRATIC[name]}{est}"
            if why is not None:
                rows.append({**row, "skipped": why})
                say(f"  {P:>9,} {name:<27} skipped: {why}")
                continue
            r = repeats(P, name)
            if name not in QUADRATIC or P < 5_000:  # warm-up, untimed: imports, jax's compilation, caches
                tools.TOOLS[name](prob, grad)
            t, out = _median_time(lambda name=name, prob=prob, grad=grad: tools.TOOLS[name](prob, grad), r)
            base = t if name == "gradcheck full" else base
            rows.append(
                {
                    **row,
                    "median_s": t,
                    "repeats": r,
                    "calls": out.calls,
                    "passed": out.passed,
                    "ratio_to_full": t / base if base else None,
                }
            )
            if 10_000 < P < 100_000:
                measured[(name, "20k")], measured[(name, "P")] = t, P
            say(f"  {P:>9,} {name:<27} {t:9.4f} s  calls {out.calls!s:>10}  passed {out.passed}")
        gw, gt = grad.at(pack(prob.w_h, prob.theta))
        c0, w0 = time.process_time(), time.perf_counter()
        r = fast.check_gradient(prob.x, prob.y, prob.w_h, prob.theta, gw, gt)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        rows.append(
            dict(
                d=d,
                m=m,
                n_params=P,
                tool="gradcheck full: breakdown",
                timing={**r.timing, "wall": wall, "cpu (both threads)": cpu},
                evaluations=r.evaluations,
                load=os.getloadavg()[0],
                split={e: where_time_goes(prob, grad, engine=e) for e in ("stencil", "scipy")},
            )
        )
    return rows


def detection(d, m, names, say, *, regimes=None):
    rows = []
    for case, regime, prob, grad, expect in cases.detection_cases(d, m):
        if regimes and regime not in regimes:
            continue
        row = dict(d=d, m=m, case=case, regime=regime, expect="pass" if expect else "fail", verdicts={})
        for name in names:
            if tools.available(name):
                row["verdicts"][name] = "not installed"
                continue
            try:
                out = tools.TOOLS[name](prob, grad)
                row["verdicts"][name] = "pass" if out.passed else "FAIL"
            except Exception as exc:
                row["verdicts"][name] = f"error ({type(exc).__name__})"
        rows.append(row)
        say(f"  {regime:<14} {case:<40} " + " ".join(f"{v[:5]:<6}" for v in row["verdicts"].values()))
    return rows


def _right(verdict, expect):
    if verdict == "not installed":
        return None
    return (verdict == "pass") == (expect == "pass")


def summary(rows, names):
    out = {}
    for name in names:
        bugs = [r for r in rows if r["expect"] == "fail" and _right(r["verdicts"][name], "fail") is not None]
        goods = [r for r in rows if r["expect"] == "pass" and _right(r["verdicts"][name], "pass") is not None]
        out[name] = dict(
            missed=sum(not _right(r["verdicts"][name], "fail") for r in bugs),
            bugs=len(bugs),
            false_failures=sum(not _right(r["verdicts"][name], "pass") for r in goods),
            goods=len(goods),
        )
    return out


def markdown(report, picture=None) -> str:
    L = [
        "# Benchmark: gradcheck vs torch.autograd.gradcheck, jax check_grads, scipy check_grad",
        "",
        f"Run {report['when']} on {report['machine']}; command `{report['command']}`.",
        "",
        "One sample, sigmoid hidden and output, bias last; median wall time over repeats (in this run); "
        "calls = evaluations of the loss at one parameter vector (gradcheck full: loss-equivalent "
        "evaluations = coordinate evaluations / P).",
        "",
        "## Speed (right gradient)",
        "",
        "| n_params | tool | median s | ratio to gradcheck full | calls of f | passed |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for r in report["timing"]:
        if "timing" in r:
            continue
        if "skipped" in r:
            L.append(f"| {r['n_params']:,} | {r['tool']} | — | — | — | {r['skipped']} |")
        else:
            calls = f"{r['calls']:.1f}" if isinstance(r["calls"], float) else f"{r['calls']:,}"
            L.append(
                f"| {r['n_params']:,} | {r['tool']} | {r['median_s']:.4f} | {r['ratio_to_full']:.2f} | {calls} "
                f"| {r['passed']} |"
            )
    L += ["", "Where gradcheck full spends its time (one run; seconds):", ""]
    for r in report["timing"]:
        if "timing" in r:
            L.append(
                f"- n_params {r['n_params']:,}: "
                + ", ".join(f"{k} {v:.3f}" for k, v in r["timing"].items())
                + f" ({r['evaluations']:,} coordinate evaluations; load average {r['load']:.1f})"
            )
    L += _split_table(report["timing"])
    for block in report["detection"]:
        names = block["tools"]
        L += [
            "",
            f"## Detection power at n_params = {block['n_params']:,} (d={block['d']}, m={block['m']})",
            "",
            "A verdict marked ✗ is wrong: a missed bug or a false failure.  `error` = the tool raised "
            "(a wrong shape): counted as caught.",
            "",
            "| regime | case | expected | " + " | ".join(names) + " |",
            "|---|---|---|" + "---|" * len(names),
        ]
        for r in block["rows"]:
            cells = [f"{v}{' ✗' if _right(v, r['expect']) is False else ''}" for v in (r["verdicts"][n] for n in names)]
            L.append(f"| {r['regime']} | {r['case']} | {r['expect']} | " + " | ".join(cells) + " |")
        L += ["", "| tool | missed bugs | false failures |", "|---|---:|---:|"]
        for n, s in block["summary"].items():
            L.append(f"| {n} | {s['missed']} of {s['bugs']} | {s['false_failures']} of {s['goods']} |")
    L += [
        "",
        "## Notes",
        "",
        "- Machines are 2 cores and shared: absolute times move by 2-5x between runs (other work on the "
        "machine); compare ratios within one run.  torch runs with torch.set_num_threads(1), its fastest "
        "setting here; every tool gets one untimed warm-up call per size (jax compiles).",
        "- OPENBLAS_CORETYPE may be set on these machines (recorded above); the benchmark, tests and CI "
        "leave it as they find it.",
        "- gradcheck full uses 2 threads (numpy releases the GIL).  With scipy.differentiate.derivative's "
        'loop for every coordinate ("scipy loop") its per-element bookkeeping is the largest cost '
        "(about 1 µs per coordinate per iteration); the default engine does derivative's first two "
        "iterations in one vectorised pass (gradcheck.largescale.stencil, same results to rounding, tested) and "
        "hands only the unconverged or one-sided coordinates to scipy's loop.  For smooth activations the w_h "
        "entries are evaluated tile by tile in reused, cache-sized buffers (gradcheck.largescale.tiles: sigmoid "
        "Δσ with hoisted factors and a polynomial expm1 within 1 ulp) and compared in the same pass "
        "(gradcheck.checking.tolerance.tally); its breakdown's `compare` is then ≈ 0 (fused into `derivatives`).",
    ]
    t = report.get("throughput")
    if t:
        L += [
            "",
            "## Grading throughput",
            "",
            t["method"],
            "",
            "| jobs | submissions | seconds | submissions/s | all graded right |",
            "|---:|---:|---:|---:|---|",
        ]
        for r in t["rows"]:
            L.append(f"| {r['jobs']} | {r['n']} | {r['seconds']:.2f} | {r['per_second']:.2f} | {r['all_right']} |")
    return plots.with_picture("\n".join(L) + "\n", "bench", picture)  # picture: the PNG written in this run


def _split_table(timing_rows) -> list:
    rows = [r for r in timing_rows if "split" in r]
    if not rows:
        return []
    L = [
        "",
        "Where the time goes (cProfile, one thread, CPU seconds; `benchmarks/timesplit.py`), "
        "default engine vs scipy's loop for every coordinate:",
        "",
        "| n_params | engine | " + " | ".join(["total", "group: seconds (share)"]) + " |",
        "|---:|---|---:|---|",
    ]
    for r in rows:
        for engine, split in r["split"].items():
            total = sum(split.values())
            parts = "; ".join(f"{k} {v:.3f} ({v / total:.0%})" for k, v in split.items() if v >= 0.005 * total)
            L.append(f"| {r['n_params']:,} | {engine} | {total:.3f} | {parts} |")
    return L


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one repeat, detection at 1.1k only, 20 submissions")
    ap.add_argument("--out", default=str(HERE.parent / "reports"), help="output folder (default: reports)")
    ap.add_argument("--submissions", type=int, default=None, help="throughput batch size (default 100; quick 20)")
    args = ap.parse_args(argv)
    say = lambda s: print(s, flush=True)

    def repeats(P, name):
        if args.quick:
            return 1
        return 5 if P < 5_000 else 3

    report = dict(
        when=time.strftime("%Y-%m-%d %H:%M:%S"),
        command="python benchmarks/run.py" + (" --quick" * args.quick),
        machine=f"{platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}, "
        f"numpy {np.__version__}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}",
        versions={n: _version(n) for n in ("numpy", "scipy", "torch", "jax")},
    )
    blas = _blas_one_thread()
    report["machine"] += f", numpy BLAS threads: {blas[1]}"
    say("== speed")
    report["timing"] = timing(cases.SIZES, repeats, say)
    det = []
    all_tools = [n for n in TIMED if n != "gradcheck fast (black box)"] + ["gradcheck fast (black box)"]
    plans = [(20, 50, all_tools, None)]
    if not args.quick:
        plans.append(
            (
                1000,
                1000,
                ["gradcheck full", "gradcheck fast", "gradcheck fast (black box)", "torch fast", "jax check_grads"],
                {"ordinary"},
            )
        )
    for d, m, names, regimes in plans:
        say(f"== detection at d={d}, m={m}: " + ", ".join(names))
        rows = detection(d, m, names, say, regimes=regimes)
        det.append(dict(d=d, m=m, n_params=(d + 1) * m + m + 1, tools=names, rows=rows, summary=summary(rows, names)))
    report["detection"] = det
    say("== grading throughput")
    report["throughput"] = throughput(args.submissions or (20 if args.quick else 100), (1, 2), say)
    say("== the general API beside torch and jax")
    report["general"] = general.rows(say, repeats=1 if args.quick else 3)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=1, default=str))
    png = plots.save(out, "bench", report)  # time against parameter count; None without matplotlib
    md = markdown(report, picture=png) + general.markdown(report["general"])
    (out / "bench.md").write_text(md)
    print(md)
    print(f"wrote {out / 'bench.json'}, {out / 'bench.md'}")
    return 0


def _blas_one_thread():
    """numpy's BLAS on one thread for the whole run, as torch is (the problems are one sample: its products
    are vector-matrix, the same bits with any thread count).  After a threaded call OpenBLAS's workers spin
    ≈ 0.1 s, a second core taken from whatever is timed next (measured: 100 ms of CPU after one 1M gemv)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None, "default (threadpoolctl not installed)"
    return threadpool_limits(1, user_api="blas"), "1 (threadpoolctl)"


def _version(name):
    try:
        return __import__(name).__version__
    except ImportError:
        return "not installed"


if __name__ == "__main__":
    sys.exit(main())
