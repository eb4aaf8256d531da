"""Pictures for the reports, drawn with matplotlib when it is installed (``gradcheck[report]``).

Every function returns PNG bytes, or None when matplotlib is missing, so a caller keeps its
tables and says how to get the pictures (:data:`INSTALL_HINT`).  Figures are drawn on the Agg
canvas without pyplot (no global state, safe in threads), with fixed metadata so the same data
gives the same bytes.  Labels are the caller's text: matplotlib's mathtext is switched off
(``usetex`` never), so a student's file name cannot inject markup into a picture.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

__all__ = ["INSTALL_HINT", "available", "data_uri", "histogram", "bars", "heatmap", "new_figure", "png"]

INSTALL_HINT = 'pip install "gradcheck[report]"'
WRONG, RIGHT = "#c62828", "#2e7d32"


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def new_figure(width: float, height: float):
    """A Figure on the Agg canvas (no pyplot), or None without matplotlib."""
    if not available():
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def data_uri(image: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(image).decode("ascii")


def _plain(text: str) -> str:
    """Text for a matplotlib label: '$' would start mathtext."""
    return str(text).replace("$", r"\$")


def histogram(scores: Sequence[float], *, max_score: float, bins: int = 10) -> bytes | None:
    """Count of submissions per score band (0–10 %, …, 90–100 %)."""
    fig = new_figure(6.0, 2.8)
    if fig is None:
        return None
    ax = fig.add_subplot()
    edges = [max_score * i / bins for i in range(bins + 1)]
    ax.hist(list(scores), bins=edges, color="#1565c0", edgecolor="white")
    ax.set_xlim(0, max_score)
    ax.set_xlabel(f"score (of {max_score:g})")
    ax.set_ylabel("submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title("score distribution")
    return png(fig)


def bars(labels: Sequence[str], shares: Sequence[float], *, title: str, good: bool) -> bytes | None:
    """Horizontal bars of shares in [0, 1], one per label (top to bottom in the given order)."""
    fig = new_figure(7.0, 0.6 + 0.32 * max(len(labels), 1))
    if fig is None:
        return None
    ax = fig.add_subplot()
    y = list(range(len(labels)))[::-1]
    ax.barh(y, [100 * s for s in shares], color=RIGHT if good else WRONG)
    ax.set_yticks(y, [_plain(t)[:72] for t in labels], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of submissions")
    ax.set_title(title)
    for yi, s in zip(y, shares):
        ax.text(min(100 * s + 1, 88), yi, f"{100 * s:.0f} %", va="center", fontsize=8)
    return png(fig)


def _log_excess(rows):
    """log10 of error/allowance, clipped for display: ≤ 0 passes; non-finite shows as the top."""
    top = max((v for r in rows for v in r if math.isfinite(v) and v > 0), default=1.0)
    return [[math.log10(min(v, top) if math.isfinite(v) else top) if v > 0 else -3.0 for v in r] for r in rows]


def heatmap(w_h, theta, *, d: int, m: int, title: str) -> bytes | None:
    """∇w_h ((d+1) × m, bias row last) and ∇θ ((m+1) × 1, bias last): each entry coloured by
    log10(error / allowance); a passing entry (≤ 1) is pale, a wrong one red and marked ✘."""
    fig = new_figure(2.4 + 0.55 * m, 1.6 + 0.42 * (max(d, m) + 1))
    if fig is None:
        return None
    from matplotlib import colors

    blocks = [(b, name) for b, name in ((w_h, "∇w_h"), (theta, "∇θ")) if b is not None]
    grids = [([list(r) for r in b] if name == "∇w_h" else [[v] for v in b], name) for b, name in blocks]
    top = max([1.0] + [max(r) for g, _ in grids for r in _log_excess(g)])
    axes = fig.subplots(1, len(grids), width_ratios=[len(g[0]) + 1 for g, _ in grids], squeeze=False)[0]
    norm = colors.TwoSlopeNorm(vmin=-3.0, vcenter=0.0, vmax=max(top, 0.1))
    cmap = colors.LinearSegmentedColormap.from_list("excess", ["#e8f5e9", "#fffde7", WRONG])
    image = None
    for ax, (grid, name) in zip(axes, grids):
        image = ax.imshow(_log_excess(grid), cmap=cmap, norm=norm, aspect="equal")
        rows = len(grid)
        labels = [f"x{i + 1}" for i in range(rows - 1)] if name == "∇w_h" else [f"h{i + 1}" for i in range(rows - 1)]
        ax.set_yticks(range(rows), labels + ["bias"], fontsize=8)
        ax.set_xticks(range(len(grid[0])), [f"{j + 1}" for j in range(len(grid[0]))] if name == "∇w_h" else [""])
        ax.set_title(name, fontsize=10)
        if name == "∇w_h":
            ax.set_xlabel("hidden unit", fontsize=8)
        for i, r in enumerate(grid):
            for j, v in enumerate(r):
                if not v <= 1:
                    ax.text(j, i, "✘", ha="center", va="center", color="white", fontsize=9)
    fig.colorbar(image, ax=list(axes), label="log10(error / allowance): > 0 is wrong", shrink=0.8)
    fig.suptitle(_plain(title), fontsize=9)
    return png(fig)
