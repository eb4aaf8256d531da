"""Jupyter notebook submissions: the code cells of an ``.ipynb``, in order, as one Python source.

This is data only: the notebook is read with ``nbformat`` (the optional ``notebook`` extra) and
its code cells are joined into text that the sandbox then runs exactly like a ``.py`` file.
Nothing here executes the notebook.  IPython syntax is not Python, so it is dropped with a note
for the feedback:

* line magics (``%matplotlib inline``, ``x = %time f()``), shell escapes (``!pip install …``,
  ``files = !ls``) and help lines (``np.dot?``) become ``pass`` at the same indentation (the
  line count and any enclosing block stay intact);
* a cell magic (``%%bash``, ``%%writefile``) drops its whole cell, except ``%%time`` and
  ``%%capture``, whose body is Python run in the notebook's namespace and is kept.

A cell that already parses as Python is kept verbatim (a ``%`` at the start of a line inside a
string stays).  What the student wrote is hostile text: the notes name cells by number and
magics only by a name made of ``[A-Za-z0-9_]``.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

__all__ = ["NOTEBOOK_SUFFIX", "MAX_BYTES", "NotebookError", "Script", "available", "convert", "read", "as_script"]

NOTEBOOK_SUFFIX = ".ipynb"
MAX_BYTES = 64 << 20  # notebooks carry their outputs (images): generous, but bounded
_KEEP_BODY = ("time", "capture")  # cell magics whose body is ordinary Python in the user namespace
_MAGIC = re.compile(r"^\s*(?:[A-Za-z_][\w.,\s\[\]]*=\s*)?(%{1,2}|!{1,2})\s*([A-Za-z0-9_]*)")
_HELP = re.compile(r"^\s*\??[A-Za-z_][\w.]*\?{1,2}\s*$")
INSTALL_HINT = "reading .ipynb notebooks needs nbformat: pip install 'gradcheck[notebook]'"


class NotebookError(ValueError):
    """The file is not a notebook this grader can read (a message for the student)."""


class Script(NamedTuple):
    source: str  # the code cells, in order, as Python
    notes: tuple[str, ...]  # what was dropped, for the feedback
    cells: int  # code cells read


def available() -> bool:
    """Is nbformat installed (the ``notebook`` extra)?"""
    try:
        import nbformat  # noqa: F401
    except ImportError:
        return False
    return True


def _name(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_]{1,30}", text) else "…"


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _convert_cell(number: int, source: str, notes: list[str]) -> str:
    """One code cell as Python; appends to ``notes`` what it dropped."""
    first = source.lstrip().split("\n", 1)[0]
    if first.startswith("%%"):
        magic = _name(re.match(r"%%\s*([A-Za-z0-9_]*)", first).group(1))
        if magic in _KEEP_BODY:
            notes.append(f"cell {number}: the cell magic %%{magic} was dropped; its body was kept")
            source = source.lstrip().split("\n", 1)[1] if "\n" in source.lstrip() else ""
        else:
            notes.append(f"cell {number}: a %%{magic} cell is not Python and was skipped")
            return ""
    if _parses(source):
        return source
    out, dropped, continued = [], {"magic": [], "shell": [], "help": []}, False
    for line in source.split("\n"):
        indent = line[: len(line) - len(line.lstrip())]
        match = _MAGIC.match(line)
        if continued or match or _HELP.match(line):
            if not continued:
                kind = "help" if not match else "shell" if match.group(1).startswith("!") else "magic"
                dropped[kind].append(_name(match.group(2)) if match else "?")
            out.append("" if continued else f"{indent}pass")
            continued = line.rstrip().endswith("\\")
            continue
        out.append(line)
    words = {"magic": "IPython magic", "shell": "shell command", "help": "help line"}
    for kind, names in dropped.items():
        if names:
            shown = ", ".join(dict.fromkeys(("%" if kind == "magic" else "!") + n for n in names if n != "?"))
            notes.append(
                f"cell {number}: {len(names)} {words[kind]}{'s' if len(names) > 1 else ''} dropped"
                + (f" ({shown})" if shown and kind != "help" else "")
            )
    return "\n".join(out)


def convert(cells: list[str], numbers: list[int] | None = None) -> Script:
    """Code cells (their sources, in order) → one Python source and the notes on what was dropped.
    ``numbers``: each cell's position in the notebook (1-based, markdown cells counted), as the
    student sees it; default 1, 2, …"""
    notes: list[str] = []
    parts = []
    for number, source in zip(numbers or range(1, len(cells) + 1), cells):
        parts.append(f"# --- cell {number} ---\n{_convert_cell(number, source, notes)}\n")
    if notes:
        notes.insert(0, "graded the notebook's code cells in order, as one Python file; IPython syntax was dropped:")
    return Script("\n".join(parts), tuple(notes), len(cells))


def read(path) -> Script:
    """Read the notebook at ``path`` (nbformat, no execution) and :func:`convert` its code cells."""
    try:
        import nbformat
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise NotebookError(f"the notebook is {size >> 20} MB; at most {MAX_BYTES >> 20} MB can be graded")
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat warns on schema details; the cells are what matter
            nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # NotJSONError, a malformed structure, ...
        raise NotebookError(f"this file could not be read as a Jupyter notebook ({type(exc).__name__})") from None
    cells, numbers = [], []
    for number, cell in enumerate(nb.get("cells", []), 1):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            cells.append("".join(source) if isinstance(source, list) else str(source))
            numbers.append(number)
    return convert(cells, numbers)


@contextlib.contextmanager
def as_script(path) -> Iterator[tuple[Path, tuple[str, ...]]]:
    """``(a .py path to run, notes)``: the file itself for a .py, a private temporary copy of the
    converted code cells for a notebook (removed afterwards)."""
    path = Path(path)
    if path.suffix.lower() != NOTEBOOK_SUFFIX:
        yield path, ()
        return
    script = read(path)
    with tempfile.TemporaryDirectory(prefix="gradcheck-nb-") as tmp:
        target = Path(tmp) / "submission.py"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(script.source)
        yield target, script.notes
