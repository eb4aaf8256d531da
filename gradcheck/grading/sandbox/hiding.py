"""Find every installed copy of the grader that a sandbox could see, so that it is hidden there.

A copy is anything an install of gradcheck leaves in a site directory: the ``gradcheck``
package, its ``.dist-info``/``.egg-info``, an editable install's ``__editable__`` finder and
``.pth`` (and their ``__pycache__`` entries), a legacy ``gradcheck.egg-link``.  Site
directories are those of the interpreter that runs the submissions plus every
``site-packages``/``dist-packages`` found by a shallow walk of the directories the sandbox
exposes (a venv anywhere under /usr or /opt included), so a second installation on the machine
is hidden too.  The child mounts an empty read-only tmpfs over each directory found and
/dev/null over each file.
"""

from __future__ import annotations

import os
import re

__all__ = ["grader_files", "site_dirs"]

SITE_NAMES = ("site-packages", "dist-packages")
SKIP = {"share", "include", "src", "locale", "doc", "man", "firmware", "modules", "node_modules", "__pycache__"}
PYTHON_DIR = re.compile(r"python3(\.\d+)?t?$")
DEPTH = 7
_NAME = re.compile(r"^(gradcheck|gradcheck\.py|gradcheck[-_.].*\.(dist|egg)-info|gradcheck\.egg-link)$")


def _is_grader(name: str) -> bool:
    return bool(_NAME.match(name)) or ("gradcheck" in name and name.startswith("__editable__"))


def site_dirs(roots: list[str], depth: int = DEPTH) -> list[str]:
    """Every site-packages/dist-packages under `roots`, at most `depth` levels down."""
    found: list[str] = []
    level = [(r, 0) for r in roots]
    while level:
        deeper = []
        for path, d in level:
            try:
                entries = list(os.scandir(path))
            except OSError:
                continue
            for e in entries:
                try:
                    if not e.is_dir(follow_symlinks=False) or e.name in SKIP or e.name.endswith("-linux-gnu"):
                        continue
                except OSError:
                    continue
                if e.name in SITE_NAMES:
                    found.append(e.path)
                elif PYTHON_DIR.match(e.name):  # a stdlib: only its site directories matter
                    found += [os.path.join(e.path, n) for n in SITE_NAMES if os.path.isdir(os.path.join(e.path, n))]
                elif d + 1 < depth:
                    deeper.append((e.path, d + 1))
        level = deeper
    return found


def grader_files(sites: list[str], roots: list[str]) -> set[str]:
    """Real paths of every gradcheck install entry in `sites` and in the site dirs under `roots`."""
    real = sorted({os.path.realpath(r) for r in roots})
    tops = [r for r in real if not any(r.startswith(o.rstrip("/") + "/") for o in real if o != r)]
    dirs = {os.path.realpath(p) for p in sites if p and os.path.isdir(p)}
    dirs |= {os.path.realpath(p) for p in site_dirs(tops)}
    dirs |= {os.path.realpath(r) for r in roots if os.path.isdir(r)}
    hits: set[str] = set()
    for d in dirs:
        for sub in (d, os.path.join(d, "__pycache__")):
            try:
                names = os.listdir(sub)
            except OSError:
                continue
            hits |= {os.path.realpath(os.path.join(sub, n)) for n in names if _is_grader(n)}
            pths = [n for n in names if n.endswith(".pth") and _points_here(sub, n)]
            hits |= {os.path.realpath(os.path.join(sub, n)) for n in pths}
    return hits


def _points_here(folder: str, name: str) -> bool:
    """A .pth that imports a gradcheck finder or adds a directory holding a gradcheck package."""
    try:
        with open(os.path.join(folder, name), errors="replace") as fh:
            lines = fh.read(1 << 16).splitlines()
    except OSError:
        return False
    for line in map(str.strip, lines):
        if line.startswith("import") and "gradcheck" in line:
            return True
        if line and not line.startswith(("#", "import")) and os.path.isdir(os.path.join(line, "gradcheck")):
            return True
    return False
