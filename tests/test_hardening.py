"""Hardening of the sandbox (issue 10): capabilities, seccomp, disk quota, result size,
session uids, one wall-clock budget per submission.

Every probe runs as root in this process and — when the suite runs as root — again as an
ordinary user driving a non-editable install of the grader (tests/installs.py), the way a
course runs it from its own account.  The probes (tests/submissions/hostile/) only read or
write inside their own box.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from installs import as_user, install, public_dir, public_python, user

from gradcheck.grading import Call, SandboxUnavailable, run_submission
from gradcheck.grading.grade import grade_many, grade_submission
from gradcheck.grading.sandbox import child as sandbox_child
from gradcheck.grading.sandbox import results as sandbox_results
from gradcheck.grading.sandbox import runner as sandbox

HERE = Path(__file__).resolve().parent
SUBS = HERE / "submissions" / "hostile"
CORRECT = HERE / "submissions" / "correct"
ROOT = os.geteuid() == 0
MODES = ["root", "root-exec", "user"] if ROOT else ["user", "user-exec"]  # -exec: no zygote, one exec per run


@pytest.fixture(scope="module")
def user_env():
    """(python, folder) of a non-editable install that the ordinary test user owns."""
    if not ROOT:
        return None  # the suite itself runs unprivileged: probes run in this process
    base = public_python()
    if base is None:
        pytest.skip("no interpreter of this Python version that an ordinary user can run")
    uid, gid = user()
    top = public_dir("gradcheck-user-")
    python = install(top / "venv", base)
    for name in ("caps_probe", "syscalls", "disk_filler", "huge_result", "session_peer"):
        shutil.copy(SUBS / f"{name}.py", top / f"{name}.py")
    shutil.copy(HERE / "hardening_driver.py", top / "driver.py")
    (top / "tmp").mkdir()
    subprocess.run(["chown", "-R", f"{uid}:{gid}", str(top)], check=True)
    yield python, top
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(autouse=True)
def exec_path(request, monkeypatch):
    mode = request.node.callspec.params.get("mode", "") if hasattr(request.node, "callspec") else ""
    if mode.endswith("-exec"):
        monkeypatch.setattr(sandbox, "USE_ZYGOTE", False)


def probe(mode: str, name: str, user_env, function: str = "probe"):
    """(status, message, call status, call message, values) of one probe call."""
    if mode.startswith("root") or not ROOT:
        r = run_submission(SUBS / f"{name}.py", [Call(function, {}, "p")], timeout=20.0)
        c = r.calls.get("p")
        values = {k: v.tolist() for k, v in c.values.items() if v.size < 100} if c else {}
        return r.status, r.message, c and c.status, c and c.message, values
    python, top = user_env
    out = as_user(
        ["env", f"TMPDIR={top / 'tmp'}", str(python), str(top / "driver.py"), str(top / f"{name}.py"), function],
        cwd=str(top),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    c = doc["calls"].get("p")
    return doc["status"], doc["message"], c and c["status"], c and c["message"], c["values"] if c else {}


# ------------------------------------------------------------- capabilities
@pytest.mark.parametrize("mode", MODES)
def test_no_capability_reaches_student_code(mode, user_env):
    status, message, cstatus, _, v = probe(mode, "caps_probe", user_env)
    assert (status, cstatus) == ("ok", "ok"), message
    assert {k: v[k] for k in ("CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb")} == dict.fromkeys(
        ("CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"), 0.0
    )
    assert v["NoNewPrivs"] == 1.0
    assert (v["remounted_rw"], v["unmounted"], v["mounted_tmpfs"], v["proc1_mem"]) == (0.0, 0.0, 0.0, 0.0)


# ------------------------------------------------------------------ seccomp
DENIED = (
    "ptrace",
    "unshare",
    "keyctl",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "setns",
    "bpf",
    "perf_event_open",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
)


@pytest.mark.parametrize("mode", MODES)
def test_denied_system_calls_fail(mode, user_env):
    if not sandbox.seccomp_available()[0]:
        pytest.skip(f"seccomp off here: {sandbox.seccomp_available()[1]}")
    status, message, cstatus, _, v = probe(mode, "syscalls", user_env)
    assert (status, cstatus) == ("ok", "ok"), message
    assert v["seccomp_mode"] == 2.0  # a filter is installed
    assert {name: v[name] for name in DENIED} == dict.fromkeys(DENIED, float(errno.EPERM))


def test_the_filter_is_what_denies_them(monkeypatch):
    """The same probe without the filter: the calls an unprivileged process may make succeed,
    so the denials above come from seccomp, not from missing privileges; and the run says so."""
    monkeypatch.setattr(sandbox, "SECCOMP", False)
    r = run_submission(SUBS / "syscalls.py", [Call("probe", {}, "p")], timeout=20.0)
    v = {k: float(a) for k, a in r.calls["p"].values.items()}
    assert v["seccomp_mode"] == 0.0
    assert (v["ptrace"], v["process_vm_readv"]) == (0.0, 0.0)
    assert "seccomp off" in r.message


# ------------------------------------------------------------- disk quota
@pytest.mark.parametrize("mode", MODES)
def test_a_box_has_a_disk_quota(mode, user_env):
    status, message, cstatus, _, v = probe(mode, "disk_filler", user_env)
    assert (status, cstatus) == ("ok", "ok"), message
    assert 0 < v["written_mb"] <= sandbox.DISK_MB


# -------------------------------------------------------------- result size
@pytest.mark.parametrize("mode", MODES)
def test_results_over_the_limit_are_the_submissions_fault(mode, user_env):
    status, message, cstatus, cmessage, _ = probe(mode, "huge_result", user_env)
    limit = f"{sandbox_results.ARRAYS_CAP >> 20} MB"
    assert "setup failed" not in message
    assert status == "ok" and cstatus == "error", (status, message, cmessage)
    assert "limit" in cmessage and limit in cmessage


def test_an_oversized_arrays_file_is_refused_before_loading(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(
        json.dumps({"calls": [{"id": "p", "status": "ok", "keys": ["x"], "shapes": [[3]], "kinds": ["a"]}]})
    )
    with open(out / "arrays.npy", "wb") as fh:
        fh.truncate(sandbox_results.ARRAYS_CAP + 1)  # sparse: never read
    with pytest.raises(sandbox_results.Invalid, match=f"{sandbox_results.ARRAYS_CAP >> 20} MB limit"):
        sandbox_results.read_results(str(out), [Call("probe", {}, "p")])


# -------------------------------------------------------- session fallback
@pytest.fixture(scope="module")
def public_venv():
    base = public_python()
    if base is None or not ROOT:
        pytest.skip("needs root and an interpreter other uids can run")
    top = public_dir("gradcheck-session-")
    python = install(top / "venv", base)
    yield str(python)
    shutil.rmtree(top, ignore_errors=True)


def test_session_boxes_run_as_distinct_uids(public_venv, tmp_path, monkeypatch):
    parent = public_dir("gradcheck-boxes-")
    monkeypatch.setattr("tempfile.tempdir", str(parent))
    out = {}

    def one(i):
        try:
            calls = [Call("probe", {}, "p")]
            out[i] = run_submission(
                SUBS / "session_peer.py", calls, timeout=20.0, isolation="session", python=public_venv
            )
        except SandboxUnavailable as exc:
            out[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shutil.rmtree(parent, ignore_errors=True)
    values = []
    for r in out.values():
        assert not isinstance(r, Exception), r
        assert r.status == "ok", r.message
        values.append({k: float(a) for k, a in r.calls["p"].values.items()})
    assert values[0]["uid"] != values[1]["uid"] and 0 not in (values[0]["uid"], values[1]["uid"])
    assert all(v["peers"] >= 1 and v["read"] == 0 and v["wrote"] == 0 for v in values), values


def test_an_ordinary_users_session_boxes_run_one_at_a_time(user_env):
    """Unprivileged, the session fallback has only the grader's own uid: boxes never overlap."""
    if not ROOT:
        pytest.skip("runs the driver as the test user")
    python, top = user_env
    argv = [str(python), str(top / "driver.py"), str(top / "session_peer.py"), "probe", "session", "2"]
    out = as_user(["env", f"TMPDIR={top / 'tmp'}", *argv], cwd=str(top), timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    docs = json.loads(out.stdout)
    for doc in docs:
        assert doc["status"] == "ok", doc["message"]
        v = doc["calls"]["p"]["values"]
        assert (v["peers"], v["read"], v["wrote"]) == (0.0, 0.0, 0.0), v


def test_a_session_box_has_a_disk_quota_too(public_venv, monkeypatch):
    parent = public_dir("gradcheck-boxes-")
    monkeypatch.setattr("tempfile.tempdir", str(parent))
    try:
        r = run_submission(SUBS / "disk_filler.py", [Call("probe", {}, "p")], isolation="session", python=public_venv)
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    assert r.status == "ok", r.message
    assert 0 < float(r.calls["p"].values["written_mb"]) <= sandbox.DISK_MB + sandbox.RESULTS_MB
    assert "no disk quota" not in r.message


def test_the_results_tmpfs_fits_the_largest_results():
    assert sandbox.RESULTS_MB == (sandbox_child.RESULTS_CAP + sandbox_child.ARRAYS_CAP >> 20) + 2
    assert (sandbox_child.RESULTS_CAP, sandbox_child.ARRAYS_CAP) == (
        sandbox_results.RESULTS_CAP,
        sandbox_results.ARRAYS_CAP,
    )


def test_an_unsafe_session_forces_one_job_and_says_so(monkeypatch):
    monkeypatch.setattr(sandbox, "session_uids_available", lambda *a, **k: False)
    monkeypatch.setattr(sandbox, "namespaces_available", lambda python=None: (False, "test"))
    monkeypatch.setattr(sandbox, "ALLOW_ROOT_SESSION", True)
    paths = [CORRECT / "sigmoid.py", CORRECT / "course_relu.py"]
    results = grade_many(paths, jobs=2, isolation="auto")
    assert all(r.score == r.max_score for r in results), [r.message for r in results]
    assert all("--jobs 1" in " ".join(r.notes) for r in results), [r.notes for r in results]


# ------------------------------------------------------- wall-clock budget
def test_one_wall_clock_budget_for_all_runs_of_a_submission(tmp_path):
    timeout = 4.0
    src = (SUBS / "slow_correct.py").read_text().replace("SLEEP = 0.0", f"SLEEP = {0.9 * timeout}")
    path = tmp_path / "slow_correct.py"
    path.write_text(src)
    r = grade_submission(path, timeout=timeout)  # guesses sigmoid: the tanh,identity re-run is needed
    assert r.wall_time < timeout + 2.0, (r.wall_time, r.message)
    assert "budget" in r.message, r.message


@pytest.mark.skipif(not ROOT, reason="needs capabilities to keep")
def test_the_child_refuses_to_run_if_a_capability_survives():
    """drop_privileges checks /proc/self/status: with capset made a no-op (as if the kernel had
    refused to clear the sets) a root process keeps CapEff and the child must refuse."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import child\n"
        "child._libc.capset = lambda *a: 0\n"
        "try:\n    child.drop_privileges(None, None)\nexcept OSError as exc:\n    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code, str(Path(sandbox.__file__).parent)], capture_output=True, text=True
    )
    assert "refusing to run the submission: capabilities remain" in out.stdout, out.stderr
