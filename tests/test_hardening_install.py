"""The grader installed the way courses install it (non-editable, under a system prefix as
root, or in an ordinary user's own venv) stays hidden from a submission that hunts for it
on disk (tests/submissions/hostile/hunt_grader.py), while a correct control graded in the
same batch gets full marks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from installs import as_user, install, public_dir, public_python, user

HERE = Path(__file__).resolve().parent
HUNTER = HERE / "submissions" / "hostile" / "hunt_grader.py"
CONTROL = HERE / "submissions" / "correct" / "sigmoid.py"
ROOT = os.geteuid() == 0


def _grade(run, python: Path, folder: Path) -> dict:
    for src in (HUNTER, CONTROL):
        shutil.copy(src, folder / src.name)
    out = folder / "reports"
    argv = [str(python), "-m", "gradcheck", "grade", "--quiet", "--jobs", "2", "--format", "json", "--out", str(out)]
    proc = run([*argv, str(folder / HUNTER.name), str(folder / CONTROL.name)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads((out / "results.json").read_text())
    return {Path(s["path"]).name: s for s in doc["submissions"]}


def _check(by_name: dict) -> None:
    hunter, control = by_name[HUNTER.name], by_name[CONTROL.name]
    assert control["score"] == control["max_score"], control
    assert "FOUND" not in json.dumps(hunter), "the submission found the installed grader"
    assert hunter["score"] < 0.5 * hunter["max_score"], hunter["score"]


@pytest.mark.skipif(not ROOT, reason="installing under /usr needs root")
def test_a_grader_installed_under_a_system_prefix_is_hidden():
    prefix = Path(tempfile.mkdtemp(prefix="gradcheck-test-", dir="/usr/local/lib"))
    try:
        python = install(prefix / "venv")
        with tempfile.TemporaryDirectory() as work:

            def run(argv):
                return subprocess.run(argv, capture_output=True, text=True, cwd=work, timeout=300)

            _check(_grade(run, python, Path(work)))
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def test_a_grader_in_an_ordinary_users_venv_is_hidden():
    if not ROOT:
        pytest.skip("run as an ordinary user already: the system-prefix test covers this process")
    base = public_python()
    if base is None:
        pytest.skip("no interpreter of this Python version that an ordinary user can run")
    uid, gid = user()
    top = public_dir("gradcheck-uservenv-")
    try:
        python = install(top / "venv", base)
        (top / "tmp").mkdir()
        for src in (HUNTER, CONTROL):
            shutil.copy(src, top / src.name)
        subprocess.run(["chown", "-R", f"{uid}:{gid}", str(top)], check=True)

        def run(argv):
            return as_user(["env", f"TMPDIR={top / 'tmp'}", *argv], cwd=str(top), timeout=300)

        _check(_grade(run, python, top))
    finally:
        shutil.rmtree(top, ignore_errors=True)


COURSE_HOSTILE = (  # course-contract hostile files (as in tests/test_grading.py) and this probes
    "infinite_loop",
    "ignore_sigterm",
    "exit_at_import",
    "memory_bomb",
    "print_flood",
    "patch_allclose",
    "lying_subclass",
    "syntax_error",
    "exit_in_call",
    "tamper",
    "grade_import",
    "grade_planter",
    "hunt_grader",
    "caps_probe",
    "syscalls",
    "disk_filler",
    "huge_result",
)


@pytest.mark.slow  # ~25 s; the run-level probes in test_hardening.py cover each finding as this user
def test_an_ordinary_user_grades_every_hostile_file_beside_a_control():
    """Unprivileged, from a non-editable install: each hostile file scores nothing, the control
    full marks, and nothing appears outside the grader's own folders."""
    if not ROOT:
        pytest.skip("needs root to create the user and its venv")
    base = public_python()
    if base is None:
        pytest.skip("no interpreter of this Python version that an ordinary user can run")
    uid, gid = user()
    top = public_dir("gradcheck-userbatch-")
    try:
        python = install(top / "venv", base)
        subs = top / "subs"
        subs.mkdir()
        (top / "tmp").mkdir()
        for name in COURSE_HOSTILE:
            shutil.copy(HUNTER.parent / f"{name}.py", subs / f"{name}.py")
        shutil.copy(CONTROL, subs / CONTROL.name)
        subprocess.run(["chown", "-R", f"{uid}:{gid}", str(top)], check=True)
        before = set(os.listdir(top))
        argv = [str(python), "-m", "gradcheck", "grade", "--quiet", "--jobs", "2", "--timeout", "3"]
        argv += ["--memory-mb", "256", "--format", "json", "--out", str(top / "reports"), str(subs)]
        proc = as_user(["env", f"TMPDIR={top / 'tmp'}", *argv], cwd=str(top), timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        doc = json.loads((top / "reports" / "results.json").read_text())
        by = {Path(s["path"]).stem: s for s in doc["submissions"]}
        assert by[CONTROL.stem]["score"] == by[CONTROL.stem]["max_score"], by[CONTROL.stem]
        assert {n: by[n]["score"] for n in COURSE_HOSTILE} == dict.fromkeys(COURSE_HOSTILE, 0.0)
        assert set(os.listdir(top)) == before | {"reports"}
        assert os.listdir(top / "tmp") == []
    finally:
        shutil.rmtree(top, ignore_errors=True)
