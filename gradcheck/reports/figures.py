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
from collections.abc import Sequence

__all__ = ["INSTALL_HINT", "available", "data_uri", "histogram", "bars", "new_figure", "png"]

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
