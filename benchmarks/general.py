#!/usr/bin/env python
"""The general API (``gradcheck.check``) beside torch.autograd.gradcheck and jax check_grads.

    python benchmarks/general.py [--into reports/bench.md]   (benchmarks/run.py runs it too)

Problems, as an ML engineer would write them: a logistic regression (n = 200, d = 20) and a
two-layer MLP (n = 100, d = 10, m = 20; tanh, and relu at kinks).  Each tool checks a
hand-written gradient through the hook it offers for one: a custom ``torch.autograd.Function``
(its backward returns the gradient under test), a ``jax.custom_vjp`` (its bwd calls it back);
gradcheck gets the gradient's dict.  Cases: the right gradient; one entry ×1.01; a missing
1/n; relu with samples exactly at kinks (zero input rows, biases 0: the right gradient with
relu'(0) = 0, and it with one entry ×1.01); relu with a dead unit (all samples at its kink).
``calls`` = evaluations of the loss at one parameter vector (counted in each tool's own f).
Times: median wall time of ``repeats`` runs after one untimed warm-up, torch single-threaded.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import tools  # noqa: E402

from gradcheck import check  # noqa: E402
from gradcheck.general.params import flatten  # noqa: E402

TOOLS = ["gradcheck.check", "gradcheck.check (vectorized, per-sample)", "torch slow", "torch fast", "jax check_grads"]


# ---- problems: numpy loss and gradient of a params dict, plus a flat-vector primal per framework ---------


class Problem:
    def __init__(self, name, kind, params, X, y, act="tanh"):
        self.name, self.kind, self.params, self.X, self.y, self.act = name, kind, params, X, y, act
        self.tree, self.p0 = flatten(params)

    def unflat(self, p, xp):
        """The params dict from a flat vector (or a (k, P) stack) in any array library."""
        out, o = {}, 0
        for leaf in self.tree.leaves:
            out[leaf.path[0]] = xp.reshape(p[..., o : o + leaf.size], p.shape[:-1] + leaf.shape)
            o += leaf.size
        return out

    def terms(self, p, xp, act):
        """Per-sample losses for params dict p (leaves may carry a leading stack axis k)."""
        X, y = xp.asarray(self.X), xp.asarray(self.y)
        if self.kind == "logistic":
            z = xp.einsum("nd,...d->...n", X, p["w"]) + p["b"][..., None]
            return xp.logaddexp(0.0 * z, z) - y * z
        h = act(xp.einsum("nd,...dm->...nm", X, p["W1"]) + p["b1"][..., None, :])
        out = xp.einsum("...nm,...m->...n", h, p["W2"]) + p["b2"][..., None]
        return 0.5 * (out - y) ** 2

    def loss(self, p):
        """The mean loss of one params dict, as plain numpy (what a user's f looks like)."""
        if self.kind == "logistic":
            z = self.X @ p["w"] + p["b"]
            return float(np.mean(np.logaddexp(0.0, z) - self.y * z))
        h = _NP_ACT[self.act](self.X @ p["W1"] + p["b1"])
        return float(0.5 * np.mean((h @ p["W2"] + p["b2"] - self.y) ** 2))

    def grad(self, p, *, n=None, slope_at_0=0.0):
        X, y = self.X, self.y
        n = len(y) if n is None else n
        if self.kind == "logistic":
            z = X @ p["w"] + p["b"]
            r = (1 / (1 + np.exp(-z)) - y) / n
            return {"w": X.T @ r, "b": r.sum()}
        z = X @ p["W1"] + p["b1"]
        h = _NP_ACT[self.act](z)
        r = (h @ p["W2"] + p["b2"] - y) / n
        dact = 1 - h**2 if self.act == "tanh" else np.where(z > 0, 1.0, np.where(z == 0, slope_at_0, 0.0))
        dz = np.outer(r, p["W2"]) * dact
        return {"W1": X.T @ dz, "b1": dz.sum(axis=0), "W2": h.T @ r, "b2": r.sum()}


_NP_ACT = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}


def problems():
    rng = np.random.default_rng(2026)
    n, d = 200, 20
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + rng.normal(size=n) > 0).astype(float)
    logistic = Problem("logistic regression (P = 21)", "logistic", {"w": 0.3 * rng.normal(size=d), "b": 0.1}, X, y)
    n, d, m = 100, 10, 20
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    mlp = {"W1": rng.normal(size=(d, m)) / np.sqrt(d), "b1": 0.1 * rng.normal(size=m), "W2": rng.normal(size=m) / 4}
    mlp["b2"] = 0.1
    tanh = Problem("MLP tanh (P = 241)", "mlp", mlp, X, y)
    Xk = X.copy()
    Xk[:10] = 0.0  # ten zero rows (padding): with biases 0 their pre-activations are exactly 0
    kinks = Problem("MLP relu, samples at kinks", "mlp", {**mlp, "b1": np.zeros(m)}, Xk, y, act="relu")
    dead = {**mlp, "W1": mlp["W1"].copy(), "b1": mlp["b1"].copy()}
    dead["W1"][:, 0], dead["b1"][0] = 0.0, 0.0  # a dead unit: every sample on its kink
    return [logistic, tanh, kinks, Problem("MLP relu, a dead unit", "mlp", dead, X, y, act="relu")]


def cases(prob: Problem):
    """(case, gradient dict, expect pass)."""
    right = prob.grad(prob.params)
    big = max(right, key=lambda k: np.max(np.abs(right[k])))  # ×1.01 on the block's largest entry
    wrong = {k: np.array(v, dtype=float) for k, v in right.items()}
    wrong[big].flat[int(np.argmax(np.abs(wrong[big])))] *= 1.01
    out = [("right", right, True), (f"one entry of {big} ×1.01", wrong, False)]
    if prob.act != "relu":
        out.append(("missing 1/n", prob.grad(prob.params, n=1), False))
    return out


# ---- the tools --------------------------------------------------------------------------------------


def run_gradcheck(prob, grad, vectorized):
    calls = [0]

    def f(p):
        calls[0] += 1
        return prob.loss(p)

    def stacked(P):
        calls[0] += P.shape[0]
        return prob.terms(prob.unflat(P, np), np, _NP_ACT[prob.act])

    r = (
        check(stacked, prob.params, grad, vectorized=True, per_sample=True)
        if vectorized
        else check(f, prob.params, grad)
    )
    assert r.evaluations == calls[0], (r.evaluations, calls[0])
    return r.passed, calls[0]


def run_torch(prob, grad, fast_mode):
    torch = tools._torch()
    flat, _ = prob.tree.match(grad)
    act = {"tanh": torch.tanh, "relu": torch.relu}[prob.act]
    calls = [0]

    class Loss(torch.autograd.Function):
        @staticmethod
        def forward(ctx, p):
            calls[0] += 1
            return prob.terms(prob.unflat(p, torch), _TorchNp(torch), act).mean()

        @staticmethod
        def backward(ctx, go):
            return go * torch.from_numpy(flat)

    p = torch.from_numpy(prob.p0.copy()).requires_grad_(True)
    return bool(torch.autograd.gradcheck(Loss.apply, (p,), fast_mode=fast_mode, raise_exception=False)), calls[0]


class _TorchNp:
    """The few numpy names Problem.terms uses, for torch tensors."""

    def __init__(self, torch):
        self.t = torch

    def asarray(self, a):
        return self.t.as_tensor(a, dtype=self.t.float64)

    def einsum(self, spec, *ops):
        return self.t.einsum(spec, *ops)

    def logaddexp(self, a, b):
        return self.t.logaddexp(a, b)


def run_jax(prob, grad):
    jax, check_grads = tools._jax()
    jnp = jax.numpy
    flat, _ = prob.tree.match(grad)
    act = {"tanh": jnp.tanh, "relu": jax.nn.relu}[prob.act]
    calls = [0]

    def primal(p):
        calls[0] += 1
        return jnp.mean(prob.terms(prob.unflat(p, jnp), jnp, act))

    @jax.custom_vjp
    def loss(p):
        return primal(p)

    loss.defvjp(lambda p: (primal(p), p), lambda p, ct: (ct * jnp.asarray(flat),))
    try:
        check_grads(loss, (jnp.asarray(prob.p0),), order=1, modes=["rev"])
        return True, calls[0]
    except AssertionError:
        return False, calls[0]


RUN: dict[str, Callable] = {
    "gradcheck.check": lambda prob, g: run_gradcheck(prob, g, False),
    "gradcheck.check (vectorized, per-sample)": lambda prob, g: run_gradcheck(prob, g, True),
    "torch slow": lambda prob, g: run_torch(prob, g, False),
    "torch fast": lambda prob, g: run_torch(prob, g, True),
    "jax check_grads": run_jax,
}


def rows(say=print, *, repeats: int = 3, names=TOOLS, only: int | None = None) -> list[dict]:
    """One row per (problem, case): each tool's verdict, median seconds and evaluations of f.
    ``names``: the tools (default all); ``only``: the first ``only`` problems."""
    out = []
    for prob in problems()[:only]:
        for case, grad, expect in cases(prob):
            row = dict(problem=prob.name, case=case, expect="pass" if expect else "fail", results={})
            for name in names:
                if tools.available(name):  # torch and jax columns: "not installed" without them
                    row["results"][name] = dict(verdict="not installed")
                    continue
                RUN[name](prob, grad)  # warm-up: imports, jax's tracing
                times, res = [], None
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    res = RUN[name](prob, grad)
                    times.append(time.perf_counter() - t0)
                passed, calls = res
                row["results"][name] = dict(
                    verdict="pass" if passed else "FAIL",
                    right=passed == expect,
                    seconds=statistics.median(times),
                    calls=calls,
                )
            say(
                f"  {prob.name:<30} {case:<28} "
                + " ".join(
                    f"{r['verdict']:<5} {r.get('seconds', 0):7.4f}s {r.get('calls', 0):>6}"
                    for r in row["results"].values()
                )
            )
            out.append(row)
    return out


def context() -> str:
    """When and where: the figures move with the machine's load (2 shared cores here)."""
    import os
    import platform

    versions = ", ".join(f"{n} {tools_version(n)}" for n in ("numpy", "scipy", "torch", "jax"))
    return (
        f"Run {time.strftime('%Y-%m-%d %H:%M:%S %Z')} on {platform.machine()}, {os.cpu_count()} cpus, "
        f"load average {os.getloadavg()[0]:.1f}; {versions}."
    )


def tools_version(name: str) -> str:
    try:
        return __import__(name).__version__
    except ImportError:
        return "not installed"


def markdown(table: list[dict], names=TOOLS, *, where: str = "") -> str:
    L = [
        "",
        "## The general API (`gradcheck.check`) beside torch.autograd.gradcheck and jax check_grads",
        "",
        __doc__.split("\n\n", 2)[2].strip().replace("\n", " "),
        "",
        *([where, ""] if where else []),
        "Each cell: verdict (✗ = wrong: a missed bug or a false failure), median seconds, evaluations of f.",
        "",
        "| problem | case | expected | " + " | ".join(names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    for r in table:
        cells = []
        for name in names:
            c = r["results"][name]
            if "seconds" not in c:
                cells.append(c["verdict"])
            else:
                cells.append(f"{c['verdict']}{'' if c['right'] else ' ✗'} · {c['seconds']:.4f} s · {c['calls']:,}")
        L.append(f"| {r['problem']} | {r['case']} | {r['expect']} | " + " | ".join(cells) + " |")
    L += ["", "| tool | missed bugs | false failures (of which at kinks) |", "|---|---:|---:|"]
    for name in names:
        done = [r for r in table if "right" in r["results"][name]]
        if not done:
            L.append(f"| {name} | not installed | |")
            continue
        bugs = [r for r in done if r["expect"] == "fail"]
        goods = [r for r in done if r["expect"] == "pass"]
        missed = sum(not r["results"][name]["right"] for r in bugs)
        false = [r for r in goods if not r["results"][name]["right"]]
        at_kinks = sum("relu" in r["problem"] for r in false)
        L.append(f"| {name} | {missed} of {len(bugs)} | {len(false)} of {len(goods)} ({at_kinks}) |")
    L += [
        "",
        "- A dead unit: relu'(0) = 0 is right for every sample, but for the scalar loss it lies outside "
        "f's one-sided derivatives along that unit's weights, so a checker that sees only the scalar f "
        "cannot accept it without accepting wrong values there; with the per-sample terms "
        "(`per_sample=True`) gradcheck builds the interval per sample, as for the spec's network.",
        "- torch fast and jax check_grads compare one random directional derivative (torch: vᵀJu with "
        "non-negative u, v, atol 1e-5·sum(u)·sum(v), rtol 1e-3; jax: one normal direction, tolerance 1e-5): "
        "one entry ×1.01 among 241 moves it by well under 1 %.",
        "- gradcheck.check calls f once per perturbed point; `vectorized=True` hands it the stack of "
        "points instead (the same evaluations, fewer Python calls; with `per_sample=True` entries at "
        "kinks take a few more). Every gradcheck column checks every entry, as torch slow does; torch "
        "fast and jax check one direction.",
    ]
    return "\n".join(L) + "\n"


HEADING = "## The general API"


def replace_section(path: Path, section: str) -> None:
    """Put ``section`` in place of this benchmark's section of an existing report (or at its end)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start = text.find(HEADING)
    if start < 0:
        text = text.rstrip("\n") + "\n" + section
    else:
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start].rstrip("\n") + "\n" + section + ("" if end < 0 else text[end:])
    path.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--into", help="a report (reports/bench.md) whose general-API section to replace")
    args = ap.parse_args(argv)
    where = context()
    md = markdown(rows(repeats=args.repeats), where=f"{where} Command: `python benchmarks/general.py`.")
    print(md)
    if args.into:
        replace_section(Path(args.into), md)
        print(f"wrote the section into {args.into}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
