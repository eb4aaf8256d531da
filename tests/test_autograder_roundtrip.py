"""The Gradescope round trip, as Gradescope runs it: build autograder.zip (a wheel of this
checkout inside), unpack it into a temporary root standing in for /autograder, run setup.sh
(a fresh venv, the wheel installed non-editable, its dependencies from the package index: once
per session), then run_autograder on a correct, a buggy and a hostile submission and a notebook; every
results.json must satisfy Gradescope's documented schema (tests/schemas/)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")  # the `test` extra

from gradcheck.deploy.gradescope import build_zip  # noqa: E402
from gradcheck.deploy.results import Settings  # noqa: E402
from gradcheck.deploy.run import CONFIG_NAME, ROOT_VARIABLE  # noqa: E402

pytestmark = pytest.mark.slow  # setup.sh installs into a new venv: ~35 s

HERE = Path(__file__).resolve().parent
SUBS = HERE / "submissions"
SCHEMA = json.loads((HERE / "schemas" / "gradescope_results.schema.json").read_text())
POINTS = 40
TIMES: dict[str, float] = {}


def _python() -> str:
    """A system interpreter, as on Gradescope's image, when there is one ≥ 3.11 with venv."""
    for cand in ("/usr/bin/python3",):
        probe = "import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))"
        if os.access(cand, os.X_OK) and subprocess.run([cand, "-c", probe], capture_output=True).returncode == 0:
            return cand
    return sys.executable


@pytest.fixture(scope="module")
def autograder():
    """The root (standing in for /autograder) after setup.sh: built, unpacked, installed once."""
    top = Path(tempfile.mkdtemp(prefix="gradcheck-autograder-"))
    os.chmod(top, 0o755)  # like /autograder: the sandbox's uid may enter it
    try:
        start = time.monotonic()
        bundle = build_zip(
            top / "build",
            settings=Settings(points=POINTS, test_visibility="after_due_date"),
            requirements=("matplotlib",),  # the notebook's plot cell imports it
        )
        TIMES["build"] = time.monotonic() - start
        root = top / "autograder"
        (root / "source").mkdir(parents=True)
        with zipfile.ZipFile(bundle.path) as zf:
            for info in zf.infolist():
                target = root / "source" / info.filename
                target.write_bytes(zf.read(info))
                os.chmod(target, stat.S_IMODE(info.external_attr >> 16) or 0o644)
        shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope does
        env = dict(os.environ, **{ROOT_VARIABLE: str(root), "GRADCHECK_AUTOGRADER_PYTHON": _python()})
        env.pop("VIRTUAL_ENV", None)
        start = time.monotonic()
        setup = subprocess.run(
            ["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True, timeout=900
        )
        TIMES["setup"] = time.monotonic() - start
        assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
        yield root, env, bundle, setup.stdout
    finally:
        shutil.rmtree(top, ignore_errors=True)
        print(f"\nautograder round trip: {TIMES}")


def run_autograder(autograder, *files: Path) -> tuple[dict, str]:
    root, env, _, _ = autograder
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    (root / "submission").mkdir()
    for f in files:
        shutil.copy2(f, root / "submission" / f.name)
    start = time.monotonic()
    proc = subprocess.run(
        [str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )
    TIMES.setdefault("run_autograder", time.monotonic() - start)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads((root / "results" / "results.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    return doc, proc.stdout


def test_setup_installs_the_shipped_wheel_non_editable(autograder):
    root, _, bundle, log = autograder
    venv = root / "gradcheck-venv"
    info = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import gradcheck, sys; print(gradcheck.__file__, sys.prefix)"],
        capture_output=True,
        text=True,
        cwd="/",
    ).stdout.split()
    assert info[0].startswith(str(venv / "lib")) and info[1] == str(venv)  # installed, not this checkout
    direct = list(venv.glob("lib/python*/site-packages/gradcheck-*.dist-info/direct_url.json"))
    assert direct and '"editable": true' not in direct[0].read_text()
    assert json.loads(direct[0].read_text())["url"].endswith(bundle.wheel)
    assert "gradcheck 0.1.0" in log and "gradcheck sandbox:" in log
    assert bundle.size < 1 << 20  # the whole bundle: the wheel and two scripts


def test_a_correct_submission_gets_the_points(autograder):
    doc, log = run_autograder(autograder, SUBS / "correct" / "sigmoid.py")
    assert doc["score"] == POINTS and all(t["status"] == "passed" for t in doc["tests"])
    assert sum(t["max_score"] for t in doc["tests"]) == pytest.approx(POINTS)
    assert {t["visibility"] for t in doc["tests"]} == {"after_due_date"} and doc["visibility"] == "visible"
    assert "'sigmoid.py': graded 100/100" in log


def test_a_notebook_with_magics_and_a_plot_gets_the_points(autograder):
    """nbformat comes with the wheel's `notebook` extra, matplotlib from --pip-install."""
    doc, _ = run_autograder(autograder, SUBS / "notebook" / "sigmoid.ipynb")
    assert doc["score"] == POINTS, doc["output"][:2000]
    assert "IPython syntax was dropped" in doc["output"] and "%%bash cell is not Python" in doc["output"]


def test_a_buggy_submission_loses_points_with_the_diagnosis(autograder):
    doc, _ = run_autograder(autograder, SUBS / "buggy" / "sign_flip.py")
    assert 0 < doc["score"] < POINTS
    assert any(t["status"] == "failed" for t in doc["tests"]) and "sign flipped" in doc["output"]


@pytest.mark.parametrize(
    "isolation, name",
    [
        ("auto", "grade_planter"),  # plants fake results wherever it can write
        # session: what a Docker container without user namespaces gets (uid nobody, rlimits, no
        # mount namespace: world-writable folders such as /tmp stay writable, so the planter is not
        # run there; tamper subverts the child's own results instead)
        ("session", "tamper"),
    ],
)
def test_a_hostile_submission_scores_nothing_and_plants_nothing(autograder, isolation, name):
    root = autograder[0]
    if isolation == "session" and _python() == sys.executable:
        pytest.skip("no system python: uid nobody cannot reach this interpreter (session mode refuses)")
    with isolation_set(root, isolation):
        doc, log = run_autograder(autograder, SUBS / "hostile" / f"{name}.py")
    assert doc["score"] == 0 and "pwned" not in json.dumps(doc)
    assert doc["extra_data"]["files"][0]["status"] == "graded", log
    if isolation == "session":
        assert "session" in log and "isolation weaker" in log
    planted = [p for p in root.rglob("*") if "PLANTED" in p.name or p.name == "results.gradescope.json"]
    assert planted == [] and sorted(p.name for p in (root / "results").iterdir()) == ["results.json"]


@contextlib.contextmanager
def isolation_set(root: Path, isolation: str):
    config = root / "source" / CONFIG_NAME
    saved = config.read_text()
    config.write_text(json.dumps({**json.loads(saved), "isolation": isolation}))
    try:
        yield
    finally:
        config.write_text(saved)


def test_a_submission_that_kills_its_process_still_gets_results(autograder):
    doc, _ = run_autograder(autograder, SUBS / "hostile" / "exit_at_import.py")
    assert doc["score"] == 0 and "crashed" in json.dumps(doc["extra_data"])


def test_grading_failure_still_writes_results(autograder):
    root = autograder[0]
    config = root / "source" / CONFIG_NAME
    saved = config.read_text()
    try:
        config.write_text(json.dumps({**json.loads(saved), "contract": "gone.py"}))
        doc, log = run_autograder(autograder, SUBS / "correct" / "sigmoid.py")
    finally:
        config.write_text(saved)
    assert doc["score"] == 0 and "please tell your instructor" in doc["output"] and "Traceback" in log
