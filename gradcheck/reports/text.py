"""The pieces every report writer shares: number formatting, one table renderer, atomic file writes."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["fmt", "terminal_table", "write"]


def fmt(x: float | None) -> str:
    """A number for a report: '—' for None, 'inf', '0', else two significant digits ('2.2e-13')."""
    return "—" if x is None else "inf" if math.isinf(x) else f"{x:.1e}" if x else "0"


def terminal_table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns padded to their widest cell, a rule under the header, no trailing blanks."""
    table = [tuple(head), *(tuple(r) for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()

    return "\n".join([line(table[0]), line(tuple("-" * w for w in widths)), *map(line, table[1:])])


def write(out_dir: str | Path, files: dict[str, str]) -> list[Path]:
    """Write {name: text} into ``out_dir`` (created if needed), each through a temporary file renamed
    into place, so a reader never sees half a report; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        path = out / name
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text if text.endswith("\n") else text + "\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        paths.append(path)
    return paths
