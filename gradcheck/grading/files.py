"""Which files are submissions, and how each is named in tables and file names."""

from __future__ import annotations

import collections
import os
import re
from pathlib import Path

from gradcheck.grading.notebook import NOTEBOOK_SUFFIX

__all__ = ["SUFFIXES", "collect_paths", "display_names", "file_stems"]

SUFFIXES = (".py", NOTEBOOK_SUFFIX)
_SKIP_DIRS = ("__pycache__", ".ipynb_checkpoints")  # and every hidden folder: copies, not submissions


def collect_paths(paths) -> list[Path]:
    """Files as given (each must be .py or .ipynb); folders expand to every .py and .ipynb inside
    (recursively, sorted; symlinks, hidden folders, __pycache__ and .ipynb_checkpoints skipped)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = (q for suffix in SUFFIXES for q in p.rglob(f"*{suffix}"))
            out += sorted(q for q in found if _submission_in(p, q))
        elif p.is_file():
            if p.suffix.lower() not in SUFFIXES:
                raise ValueError(f"PATH: expected a Python file (.py) or a Jupyter notebook (.ipynb), got {str(p)!r}")
            out.append(p)
        else:
            raise FileNotFoundError(f"PATH: no such file or folder: {p}")
    return out


def _submission_in(folder: Path, path: Path) -> bool:
    """A regular file inside ``folder``, reached through no symlink (a student's symlink could point
    at any file the grader may read: its own solution, a key), in no hidden or cache folder."""
    parts = path.relative_to(folder).parts
    if any(part.startswith(".") or part in _SKIP_DIRS for part in parts):
        return False
    steps = [folder.joinpath(*parts[: i + 1]) for i in range(len(parts))]
    return not any(step.is_symlink() for step in steps) and path.is_file()


def display_names(paths) -> list[str]:
    """How each submission is named in tables: its file name, or, where two share a file name,
    its path relative to the folder all the submissions share (``a/hw.py``, ``b/hw.py``)."""
    paths = [Path(p) for p in paths]
    counts = collections.Counter(p.name for p in paths)
    if all(counts[p.name] == 1 for p in paths):
        return [p.name for p in paths]
    absolute = [p.resolve() for p in paths]
    common = Path(os.path.commonpath([str(a.parent) for a in absolute])) if absolute else Path("/")
    return [p.name if counts[p.name] == 1 else a.relative_to(common).as_posix() for p, a in zip(paths, absolute)]


def file_stems(paths) -> list[str]:
    """Safe, distinct output-file stems: the :func:`display_names` without their suffix, every
    character outside ``[A-Za-z0-9_.-]`` (``/`` included) as ``_``, repeats numbered ``-2``, ``-3``."""
    stems, seen = [], collections.Counter()
    for name in display_names(paths):
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.rsplit(".", 1)[0] if "." in name else name).strip("._")
        stem = stem or "submission"
        seen[stem] += 1
        stems.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return stems
