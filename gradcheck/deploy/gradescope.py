"""Build ``autograder.zip`` for Gradescope: gradcheck as a wheel, two scripts and the options.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once as root when it
builds the image, and for every submission puts the student's files in ``/autograder/submission``
and runs ``run_autograder``, which must write ``/autograder/results/results.json``.  The zip holds:

* ``setup.sh`` and ``run_autograder`` at its root (templates/, package data);
* ``gradcheck-<version>-py3-none-any.whl``, built from this checkout (or given with ``wheel=``),
  installed by setup.sh non-editable into ``/autograder/gradcheck-venv`` with its dependencies
  from the package index (and nbformat, for notebook submissions);
* ``gradcheck_autograder.json``: the grading options (run.py reads them), and, if given, the
  adapter contract file and a ``requirements.txt`` of packages the students' code may import.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from gradcheck.deploy.results import VISIBILITIES, Settings
from gradcheck.deploy.run import CONFIG_NAME
from gradcheck.grading.contract import CONTRACTS, load_contract
from gradcheck.model import activations

__all__ = ["Bundle", "build_wheel", "build_zip", "checkout", "SCRIPTS"]

SCRIPTS = ("setup.sh", "run_autograder")
_SOURCES = ("pyproject.toml", "README.md", "LICENSE")  # besides the package itself


class Bundle(NamedTuple):
    path: Path
    size: int  # bytes
    members: tuple[str, ...]
    wheel: str


def checkout() -> Path | None:
    """The source tree this gradcheck runs from (an editable install or a clone), if any."""
    top = Path(__file__).resolve().parents[2]
    pyproject = top / "pyproject.toml"
    if pyproject.is_file() and 'name = "gradcheck"' in pyproject.read_text(encoding="utf-8"):
        return top
    return None


def build_wheel(dest: Path, *, source: Path | None = None) -> Path:
    """``pip wheel`` of a clean copy of the checkout (no caches, nothing written into the tree)."""
    source = source or checkout()
    if source is None:
        raise FileNotFoundError(
            "autograder: gradcheck is not running from a source checkout; build from a clone of the "
            "repository, or pass --wheel gradcheck-<version>-py3-none-any.whl"
        )
    with tempfile.TemporaryDirectory(prefix="gradcheck-wheel-") as tmp:
        tree = Path(tmp) / "src"
        tree.mkdir()
        for name in _SOURCES:
            if (source / name).is_file():
                shutil.copy2(source / name, tree / name)
        shutil.copytree(source / "gradcheck", tree / "gradcheck", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", tmp, tree],
            capture_output=True,
            text=True,
        )
        wheels = sorted(Path(tmp).glob("gradcheck-*.whl"))
        if done.returncode != 0 or not wheels:
            raise RuntimeError(f"autograder: building the wheel failed:\n{done.stderr[-2000:]}")
        dest.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(wheels[0], dest / wheels[0].name))


def _check(settings: Settings, options: dict) -> None:
    for field in ("visibility", "test_visibility", "stdout_visibility"):
        value = getattr(settings, field)
        if value not in VISIBILITIES:
            raise ValueError(f"{field}: expected one of {', '.join(VISIBILITIES)}, got {value!r}")
    if not settings.points > 0:
        raise ValueError(f"points: expected a positive number, got {settings.points!r}")
    if options.get("activation") is not None:
        activations.pair(options["activation"], argument="activation")


def build_zip(
    out_dir,
    *,
    settings: Settings | None = None,
    activation: str | None = None,
    timeout: float = 10.0,
    memory_mb: int = 1024,
    seed: int = 0,
    isolation: str = "auto",
    contract: str = "ftml",
    requirements: tuple[str, ...] = (),
    wheel: str | Path | None = None,
) -> Bundle:
    """Write ``out_dir/autograder.zip``; see the module doc."""
    settings = settings or Settings()
    for spec in requirements:
        if not spec.strip() or spec.lstrip().startswith("-") or "\n" in spec:
            raise ValueError(f"requirements: expected package specifiers such as 'matplotlib>=3', got {spec!r}")
    options = dict(activation=activation, timeout=timeout, memory_mb=memory_mb, seed=seed, isolation=isolation)
    _check(settings, options)
    load_contract(contract)  # refuse a broken adapter now, not on the first student's submission
    config = {"format": 1, **settings._asdict(), **options, "contract": "ftml"}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "autograder.zip"
    with tempfile.TemporaryDirectory(prefix="gradcheck-zip-") as tmp:
        whl = Path(wheel) if wheel else build_wheel(Path(tmp))
        if not whl.is_file() or not whl.name.startswith("gradcheck-") or whl.suffix != ".whl":
            raise FileNotFoundError(f"wheel: expected a gradcheck-*.whl file, got {str(whl)!r}")
        members: dict[str, tuple[bytes, int]] = {}
        templates = resources.files("gradcheck.deploy") / "templates"
        for name in SCRIPTS:
            members[name] = ((templates / name).read_bytes(), 0o755)
        members[whl.name] = (whl.read_bytes(), 0o644)
        if contract not in CONTRACTS:
            config["contract"] = "contract.py"
            members["contract.py"] = (Path(contract).read_bytes(), 0o644)
        if requirements:
            members["requirements.txt"] = (("\n".join(requirements) + "\n").encode(), 0o644)
        members[CONFIG_NAME] = ((json.dumps(config, indent=2) + "\n").encode(), 0o644)
        partial = out / ".autograder.zip.tmp"
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, (data, mode) in members.items():
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible bytes
                info.external_attr = (0o100000 | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
        partial.replace(target)
        return Bundle(target, target.stat().st_size, tuple(members), whl.name)
