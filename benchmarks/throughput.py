"""Grading throughput: submissions per second on a batch of correct course-contract submissions.

Uses ``gradcheck.grading.grade.grade_many`` (isolation on: namespaces when available)
when the package has it; otherwise measures the sandbox round trip itself — one
``run_submission`` per file with the calls a grader makes (forward_pass on a (1, d)
row and compute_gradients on three samples), each result checked in the parent by
``gradcheck.largescale.full.check_gradient`` — and says so.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

SUBMISSION = '''"""A correct submission for the course contract (ftml)."""
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward_pass(X, wh, theta):
    n = X.shape[0]
    x_bar = np.hstack([X, np.ones((n, 1))])
    pre_h = x_bar @ wh
    h = sigmoid(pre_h)
    h_bar = np.hstack([h, np.ones((n, 1))])
    pre_y = h_bar @ np.ravel(theta)
    y_hat = sigmoid(pre_y)
    return {"pre_h": pre_h, "h": h, "pre_y": pre_y, "y_hat": y_hat}


def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    x_bar = np.append(np.ravel(x), 1.0)
    h, pre_h = np.ravel(h), np.ravel(pre_h)
    y_hat, pre_y = float(np.ravel(y_hat)[0]), float(np.ravel(pre_y)[0])
    theta = np.ravel(theta)
    h_bar = np.append(h, 1.0)
    delta = (y_hat - y) * y_hat * (1.0 - y_hat)
    dl_dtheta = delta * h_bar
    u = theta[:-1] * h * (1.0 - h)
    dl_dwh = delta * np.outer(x_bar, u)
    return {"dl_dtheta": dl_dtheta, "dl_dwh": dl_dwh}
'''


def _write(folder: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        p = folder / f"student_{i:03d}.py"
        p.write_text(SUBMISSION)
        paths.append(p)
    return paths


def _round_trip(path, d=5, m=4, seed=0):
    """One sandbox run with a grader's calls; the gradients checked in the parent."""
    from gradcheck.grading import Call, run_submission
    from gradcheck.largescale import full as fast

    rng = np.random.default_rng(seed)
    w_h, theta = rng.normal(size=(d + 1, m)), rng.normal(size=m + 1)
    X, Y = rng.normal(size=(3, d)), rng.uniform(size=3)
    calls = [Call("forward_pass", {"X": X[i : i + 1], "wh": w_h, "theta": theta}, f"f{i}") for i in range(3)]
    res = run_submission(path, calls, isolation="namespaces")
    ok = res.status == "ok"
    if ok:  # second run: every compute_gradients call at once, on the intermediates returned
        grad_calls = [
            Call(
                "compute_gradients", {"x": X[i], "y": float(Y[i]), **res.calls[f"f{i}"].values, "theta": theta}, f"g{i}"
            )
            for i in range(3)
        ]
        res2 = run_submission(path, grad_calls, isolation="namespaces")
        ok = res2.status == "ok" and all(
            fast.check_gradient(
                X[i], Y[i], w_h, theta, res2.calls[f"g{i}"].values["dl_dwh"], res2.calls[f"g{i}"].values["dl_dtheta"]
            ).passed
            for i in range(3)
        )
    return ok


def throughput(n: int, jobs_list, say) -> dict:
    try:
        from gradcheck.grading.grade import grade_many
    except ImportError:
        grade_many = None
    rows = []
    with tempfile.TemporaryDirectory(prefix="gradcheck-bench-") as tmp:
        paths = _write(Path(tmp), n)
        for jobs in jobs_list:
            t0 = time.perf_counter()
            if grade_many is not None:
                results = grade_many(paths, jobs=jobs, isolation="namespaces")
                right = all(r.status == "graded" and r.score == r.max_score for r in results)
            else:
                with ThreadPoolExecutor(jobs) as pool:
                    right = all(pool.map(_round_trip, paths))
            dt = time.perf_counter() - t0
            rows.append(dict(jobs=jobs, n=n, seconds=dt, per_second=n / dt, all_right=right))
            say(f"  jobs {jobs}: {n} submissions in {dt:.2f} s = {n / dt:.2f}/s, all graded right: {right}")
    method = (
        "`gradcheck.grading.grade.grade_many(paths, jobs=J, isolation='namespaces')`: the full grade "
        "(sandboxed run of every check, checks in the parent)"
        if grade_many is not None
        else "`gradcheck.grading` has no batch grade yet: sandbox round trip per submission (two "
        "`run_submission` runs in namespaces: 3× forward_pass, then 3× compute_gradients on the returned "
        "intermediates, each checked by `gradcheck.largescale.full.check_gradient`), in a thread pool of J"
    )
    return dict(method=method, rows=rows)
