"""Real, non-editable installs of gradcheck for the hardening tests, and an ordinary user.

`wheel()` builds the project's wheel once per test session from a copy of its sources;
`install(prefix, base)` makes a venv at ``prefix`` from the interpreter ``base`` and
installs that wheel into its site-packages with pip (no editable finder, no link back
to the source tree): what ``pip install .`` as root in a course's setup script gives.
The venv's dependencies (numpy, scipy, ...) come from the running interpreter's
site-packages through a ``.pth`` line, so no test downloads them.

`user()` is an ordinary account (created with useradd when missing) for running the
grader unprivileged; `as_user(argv)` runs a command as that user with setpriv.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
USER = "gradcheck-test"
_WHEEL: list[Path] = []


def wheel() -> Path:
    if not _WHEEL:
        tmp = Path(tempfile.mkdtemp(prefix="gradcheck-wheel-"))
        atexit.register(shutil.rmtree, tmp, True)
        src = tmp / "src"
        src.mkdir()
        shutil.copytree(REPO / "gradcheck", src / "gradcheck", ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(REPO / name, src / name)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "whl"), str(src)],
            check=True,
            capture_output=True,
        )
        _WHEEL.append(next((tmp / "whl").glob("gradcheck-*.whl")))
    return _WHEEL[0]


def site_packages(prefix: Path) -> Path:
    v = sys.version_info
    return prefix / "lib" / f"python{v.major}.{v.minor}" / "site-packages"


def install(prefix: Path, base: str | None = None) -> Path:
    """A venv at `prefix` with gradcheck pip-installed (non-editable); returns its python."""
    base = base or getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(prefix)], check=True, capture_output=True)
    site = site_packages(prefix)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site), str(wheel())],
        check=True,
        capture_output=True,
    )
    (site / "zz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return prefix / "bin" / "python"


def user() -> tuple[int, int]:
    """(uid, gid) of the ordinary test user, created if missing."""
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(USER)
    return entry.pw_uid, entry.pw_gid


def as_user(argv: list[str], **kw) -> subprocess.CompletedProcess:
    uid, gid = user()
    cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--reset-env", "--", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def public_python() -> str | None:
    """An interpreter of this Python version that an ordinary user can run, or None."""
    want = f"{sys.version_info.major}.{sys.version_info.minor}"
    for cand in ("/usr/bin/python3", "/usr/local/bin/python3", getattr(sys, "_base_executable", "")):
        if not cand or not os.path.exists(cand):
            continue
        out = as_user(["env", cand, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        if out.returncode == 0 and out.stdout.strip() == want:
            return cand
    return None


def public_dir(prefix: str) -> Path:
    """A fresh directory under /tmp that the test user can enter (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(path, 0o755)
    return path
