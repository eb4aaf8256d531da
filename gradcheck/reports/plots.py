"""Pictures beside the Markdown reports (``reports/*.png``), cheap to redraw from the committed JSON.

* :func:`bench_png` — the benchmark's median time against parameter count, log–log, every tool
  (``bench.json``);
* :func:`sensitivity_png` — sensitivity's smallest detected δ against |ŷ − y|, per activation,
  the default checks beside torch's criterion (``sensitivity.json``);
* :func:`fd_step_png` — the error of a central difference against its step for one entry of
  ∇w_h (the V: truncation ∝ h², rounding ∝ eps/h), with the step the oracle takes (∛eps) and
  the complex step's error; computed here (a few hundred loss evaluations), not read.

:func:`with_picture` adds a picture's link line to a Markdown report (the writers call it with
the PNG written in the same run); :func:`write_plots` (``gradcheck plots``) draws every picture
whose JSON is in a folder and links it from the Markdown report beside it.  Without matplotlib
(``gradcheck[report]``) every drawing function returns None and nothing is linked.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from gradcheck.reports import figures

__all__ = [
    "PICTURES",
    "bench_png",
    "draw",
    "fd_step_errors",
    "fd_step_png",
    "save",
    "sensitivity_png",
    "with_picture",
    "write_plots",
]

# report stem: (picture file, alt text)
PICTURES = {
    "bench": ("bench.png", "median time against parameter count, log–log, every tool"),
    "sensitivity": ("sensitivity.png", "smallest detected relative perturbation δ against |ŷ − y|"),
    "verify": ("fd_step.png", "central-difference error against step for one entry: why the step is ∛eps"),
}
COLOURS = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#9e9d24", "#ad1457")


def with_picture(markdown: str, stem: str, picture: str | Path | None) -> str:
    """The report with ``![alt](file)`` after its first paragraph, if ``picture`` names a PNG
    (written in this run, or existing); unchanged if the link is there already or picture is None."""
    if picture is None:
        return markdown
    name, alt = Path(picture).name, PICTURES[stem][1]
    line = f"![{alt}]({name})"
    if f"]({name})" in markdown:
        return markdown
    lines = markdown.split("\n")
    start = next((i for i, t in enumerate(lines) if t.strip() and not t.startswith("#")), len(lines))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return "\n".join(lines[:end] + ["", line] + lines[end:])


# ------------------------------------------------------------------ the benchmark
def bench_png(doc: dict) -> bytes | None:
    rows = [r for r in doc.get("timing", ()) if "median_s" in r and r.get("median_s")]
    fig = figures.new_figure(7.0, 4.6)
    if fig is None or not rows:
        return None
    ax = fig.add_subplot()
    tools = list(dict.fromkeys(r["tool"] for r in rows))
    for i, tool in enumerate(tools):
        pts = sorted((r["n_params"], r["median_s"]) for r in rows if r["tool"] == tool)
        style = "-" if tool.startswith("gradcheck") else "--"
        ax.loglog(*zip(*pts), style, marker="o", color=COLOURS[i % len(COLOURS)], label=tool)
    ax.set_xlabel("parameters P = (d + 1)·m + m + 1")
    ax.set_ylabel("median wall time (s)")
    ax.set_title(f"time of one gradient check (right gradient), {doc.get('when', '')}", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return figures.png(fig)


# ------------------------------------------------------------------ sensitivity
def _residual(regime: str) -> float:
    """'|ŷ − y| ≈ 1e-4' → 1e-4 (the regime's bound or typical size)."""
    found = re.findall(r"\d(?:\.\d*)?e-?\d+", regime)
    return float(found[-1]) if found else float("nan")


def _worst(rows, activation, check, regime, targets=("∇θ block", "∇w_h block", "largest entry")):
    vals = [
        r["worst"]
        for r in rows
        if r["activation"] == activation and r["check"] == check and r["regime"] == regime and r["target"] in targets
    ]
    return max((np.nan if v is None else v for v in vals), default=np.nan)  # None: not finite, not drawn


def sensitivity_png(doc: dict) -> bytes | None:
    """δ* (the worst example's, over ∇θ, ∇w_h and the largest entry) per regime of |ŷ − y|."""
    rows = doc.get("rows", ())
    fig = figures.new_figure(7.0, 4.6)
    if fig is None or not rows:
        return None
    ax = fig.add_subplot()
    regimes = list(dict.fromkeys(r["regime"] for r in rows))
    x = [_residual(g) for g in regimes]
    for i, a in enumerate(dict.fromkeys(r["activation"] for r in rows)):
        colour = COLOURS[i % len(COLOURS)]
        ax.loglog(x, [_worst(rows, a, "default checks", g) for g in regimes], "-o", color=colour, label=a)
        torch = [_worst(rows, a, "torch criterion", g, ("largest entry",)) for g in regimes]
        ax.loglog(x, torch, ":", marker="x", color=colour, alpha=0.7)
    ax.plot([], [], "k-o", label="gradcheck (default checks)")
    ax.plot([], [], "k:", marker="x", label="torch criterion, largest entry")
    ax.invert_xaxis()
    ax.set_xlabel("|ŷ − y| (regime; the first is a lower bound)")
    ax.set_ylabel("smallest detected δ, worst example")
    ax.set_title("relative perturbation the checks detect: it grows as ŷ − y shrinks", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return figures.png(fig)


# ------------------------------------------------------------------ the finite-difference step
def fd_step_errors(steps, *, seed: int = 0, entry: tuple[int, int] = (0, 0)):
    """Relative error of (l(p + h e_j) − l(p − h e_j)) / 2h against the formula's ∂l/∂w_h[entry]
    for each step h, on one drawn sigmoid example (d = 3, m = 4); also the oracle's own step
    (∛eps·max(1, |p_j|)) and the relative errors of its central estimate and of the complex step."""
    from gradcheck.model import formulas
    from gradcheck.model.network import pack
    from gradcheck.oracles.finite_differences import EPS, central_differences, complex_step, network_loss

    rng = np.random.default_rng(seed)
    d, m = 3, 4
    x, y = rng.normal(size=d), 0.3
    w_h, theta = rng.normal(size=(d + 1, m)), rng.normal(size=m + 1)
    f, p0 = network_loss(x, y, w_h, theta)
    j = entry[0] * m + entry[1]
    exact = pack(*formulas.gradients(x, y, w_h, theta))[j]
    steps = np.asarray(steps, dtype=np.float64)
    stack = np.repeat(p0[None, :], 2 * len(steps), axis=0)
    stack[np.arange(len(steps)), j] += steps
    stack[len(steps) + np.arange(len(steps)), j] -= steps
    l = np.asarray(f(stack)).reshape(2 * len(steps), -1).mean(axis=1)
    central = (l[: len(steps)] - l[len(steps) :]) / (2 * steps)
    rel = np.abs(central - exact) / abs(exact)
    chosen = float(EPS ** (1 / 3) * max(1.0, abs(p0[j])))
    at_chosen = abs(central_differences(f, p0).grad[j] - exact) / abs(exact)
    cs = abs(complex_step(f, p0).grad[j] - exact) / abs(exact)
    return rel, chosen, float(at_chosen), float(cs)


def fd_step_png(*, seed: int = 0) -> bytes | None:
    fig = figures.new_figure(7.0, 4.6)
    if fig is None:
        return None
    steps = np.logspace(-15, -0.5, 88)
    rel, chosen, at_chosen, cs = fd_step_errors(steps, seed=seed)
    ax = fig.add_subplot()
    ax.loglog(steps, np.maximum(rel, 1e-17), "-", marker=".", color=COLOURS[0], label="central difference")
    eps = float(np.finfo(np.float64).eps)
    ax.loglog(steps, eps / steps, "--", color="grey", lw=1, label="rounding ∝ eps / h")
    ax.loglog(steps, steps**2, ":", color="grey", lw=1, label="truncation ∝ h²")
    ax.axvline(chosen, color=COLOURS[1], lw=1)
    ax.plot([chosen], [max(at_chosen, 1e-17)], "o", color=COLOURS[1], label=f"the oracle's step ∛eps = {chosen:.1e}")
    ax.axhline(max(cs, 1e-17), color=COLOURS[2], lw=1, label=f"complex step (h = 1e-20): {cs:.0e}")
    ax.set_ylim(1e-17, 1e5)
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error of ∂l/∂w_h[0, 0]")
    ax.set_title("finite-difference error against step (sigmoid, d = 3, m = 4): the V", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center")
    return figures.png(fig)


# ------------------------------------------------------------------ files
def _write_png(path: Path, image: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(image)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def draw(stem: str, doc: dict | None = None) -> bytes | None:
    """The picture of report ``stem`` ('bench', 'sensitivity', 'verify'), None without matplotlib."""
    if stem == "verify":
        return fd_step_png(seed=(doc or {}).get("seed", 0))
    return (bench_png if stem == "bench" else sensitivity_png)(doc or {})


def save(folder: str | Path, stem: str, doc: dict | None = None) -> Path | None:
    """Draw report ``stem``'s picture and write it into ``folder``; its path, or None without
    matplotlib (the caller then writes its Markdown without the link)."""
    image = draw(stem, doc)
    if image is None:
        return None
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    return _write_png(out / PICTURES[stem][0], image)


def write_plots(folder: str | Path, *, stems=tuple(PICTURES)) -> list[Path]:
    """Draw the picture of every ``<stem>.json`` in ``folder``, write it beside the report and link
    it from ``<stem>.md`` when that exists.  Returns the paths written (PNGs and updated reports)."""
    from gradcheck.reports.text import write

    out, written = Path(folder), []
    for stem in stems:
        source = out / f"{stem}.json"
        if not source.is_file():
            continue
        picture = save(out, stem, json.loads(source.read_text(encoding="utf-8")))
        if picture is None:
            continue
        written.append(picture)
        md = out / f"{stem}.md"
        if md.is_file():
            text = md.read_text(encoding="utf-8")
            linked = with_picture(text, stem, picture)
            if linked != text:
                written += write(out, {md.name: linked})
    return written
