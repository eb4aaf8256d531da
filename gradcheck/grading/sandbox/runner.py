"""Parent side of the grading sandbox: run an untrusted submission, trust only data.

`run_submission` copies the student file and ``child.py`` into a fresh directory with the
calls (``protocol.py``: JSON plus one packed ``.npy`` of argument bytes), runs
the child (``child.py`` docstring) inside user/pid/net/mount/ipc/uts namespaces with a
read-only view of the system, as ``nobody``, under rlimits and a wall clock; reads
``results.json`` and one packed ``.npy`` of results back with size caps and ``allow_pickle=False``; and
always returns a `SandboxResult`, never raising for anything the submission does.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from gradcheck.grading.sandbox import protocol, zygote
from gradcheck.grading.sandbox.pipes import Drain, Quota
from gradcheck.grading.sandbox.protocol import Call, Loop, Ref, Var
from gradcheck.grading.sandbox.results import CallResult, SandboxResult, classify

__all__ = [
    "Call",
    "Loop",
    "Ref",
    "Var",
    "CallResult",
    "SandboxResult",
    "SandboxUnavailable",
    "run_submission",
    "namespaces_available",
]

NOBODY = 65534
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
FSIZE, NOFILE, NPROC = 64 << 20, 64, 64
CHILD = Path(__file__).with_name("child.py")
GRADCHECK_DIR = str(Path(__file__).resolve().parents[2])  # the gradcheck package itself
# Without namespaces, a root parent that cannot hand the child to `nobody` would run it as
# a capability-less root, which still owns (and can write) most of the filesystem.
ALLOW_ROOT_SESSION = False
# Namespaces mode forks runs from a zygote that has numpy loaded (zygote.py); False: exec each run.
USE_ZYGOTE = True
OUTPUT_QUOTA = 16 << 20  # bytes of stdout + stderr a run may print before it is killed (64 KiB are kept)
_INFO_CODE = """import importlib.util, json, os, sys, sysconfig, numpy
spec = importlib.util.find_spec("gradcheck")
paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
         os.path.dirname(sys.executable), os.path.dirname(os.path.dirname(numpy.__file__))]
paths += [sysconfig.get_path(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
where = list(spec.submodule_search_locations or []) if spec else []
print(json.dumps({"executable": sys.executable, "paths": paths, "gradcheck": where}))"""


class SandboxUnavailable(RuntimeError):
    """No safe way to run untrusted code here (an environment problem, not the student's)."""


# ------------------------------------------------------------ interpreter + probe
_CACHE: dict = {}
_LOCK = threading.Lock()


def _interpreter(python: str) -> dict:
    with _LOCK:
        if python not in _CACHE:
            out = subprocess.run(
                [python, "-I", "-c", _INFO_CODE], capture_output=True, text=True, timeout=60, check=True, cwd="/"
            )
            _CACHE[python] = _paths(json.loads(out.stdout))
        return _CACHE[python]


def _paths(raw: dict) -> dict:
    system = [os.path.realpath(d) for d in SYSTEM_DIRS if os.path.isdir(d)]
    under = lambda p, roots: any(p == r or p.startswith(r.rstrip("/") + "/") for r in roots)
    found = sorted({os.path.realpath(p) for p in raw["paths"] if p and os.path.isdir(p)}, key=len)
    expose: list[str] = []
    for path in found:
        if path != "/" and not under(path, system) and not under(path, expose):
            expose.append(path)
    hide = {os.path.realpath(p) for p in raw["gradcheck"]} | {GRADCHECK_DIR}
    return {
        "executable": raw["executable"],
        "expose": expose,
        "hide": sorted(p for p in hide if under(p, expose)),
        "nobody_ok": _reachable(expose),
    }


def _reachable(paths: list[str]) -> bool:
    """Can uid nobody enter every directory leading to `paths` (for the session mode)?"""
    for path in paths:
        parts = Path(path).parts
        for i in range(1, len(parts) + 1):
            st = os.stat(os.path.join(*parts[:i]))
            if not st.st_mode & stat.S_IXOTH and st.st_uid != NOBODY:
                return False
    return True


def namespaces_available(python: str = sys.executable) -> tuple[bool, str]:
    """Probe once per interpreter: does a trivial submission run in the namespaces?"""
    key = ("probe", python)
    if key not in _CACHE:
        info = _interpreter(python)
        result = _run(b"PROBE = 1\n", [], "namespaces", info, _limits(30.0, 1024), 30.0, 4096)
        _CACHE[key] = (result.status == "ok", f"{result.message} {result.stderr[-300:]}".strip())
    return _CACHE[key]


# ------------------------------------------------------------------ entry point
def run_submission(
    path, calls, *, timeout=10.0, memory_mb=1024, output_cap=65536, python=sys.executable, isolation="auto"
) -> SandboxResult:
    """Run `calls` against the submission at `path` in a sandbox; see the module doc.

    isolation: 'auto' (namespaces when the probe passes, else 'session'),
    'namespaces' or 'session' to force one.
    """
    if not isinstance(calls, protocol.Prepared):
        protocol.validate(calls)
    if isolation not in ("auto", "namespaces", "session"):
        raise ValueError(f"isolation must be 'auto', 'namespaces' or 'session', not {isolation!r}")
    source = Path(path).read_bytes()
    info = _interpreter(python)
    mode, note = isolation, ""
    if isolation == "auto":
        ok, why = namespaces_available(python)
        mode = "namespaces" if ok else "session"
        note = "" if ok else f"namespaces unavailable ({why}); "
    if mode == "session":
        note += _session_note(info)
    result = _run(source, calls, mode, info, _limits(timeout, memory_mb), timeout, output_cap)
    result.message = note + result.message if note else result.message
    return result


def _session_note(info: dict) -> str:
    root = os.geteuid() == 0
    nobody_ok = info["nobody_ok"] and _reachable([tempfile.gettempdir()])
    if root and not nobody_ok and not ALLOW_ROOT_SESSION:
        raise SandboxUnavailable(
            "namespaces unavailable and uid nobody cannot reach the interpreter: refusing to run untrusted code as root"
        )
    who = "uid nobody" if root and nobody_ok else "a capability-less root" if root else "the grader's own uid"
    return (
        "isolation weaker: no namespaces (network, filesystem and processes are shared; "
        f"only a new session, rlimits and {who}); "
    )


def _limits(timeout: float, memory_mb: int) -> dict:
    return {
        "as": int(memory_mb) << 20,
        "cpu": math.ceil(timeout) + 1,
        "fsize": FSIZE,
        "nofile": NOFILE,
        "core": 0,
        "nproc": NPROC,
    }


# ---------------------------------------------------------------- the directory
def _prepare(top: Path, source: bytes, calls, drop: bool) -> Path:
    box = top / "box"
    for d in (box, box / "in", box / "out"):
        d.mkdir(mode=0o755)
    (top / "root").mkdir(mode=0o700)
    (box / "submission.py").write_bytes(source)
    shutil.copyfile(CHILD, box / "child.py")
    protocol.encode(calls, box)
    os.chmod(top, 0o711)
    if drop:
        for d in (box, box / "out"):
            os.chown(d, NOBODY, NOBODY)
        os.chmod(box, 0o700)
    return box


def _config(box: Path, top: Path, mode: str, info: dict, limits: dict, token: str):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(box),
        "TMPDIR": str(box),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "GRADCHECK_SANDBOX": token,
    }
    root = os.geteuid() == 0
    drop = root and (mode == "namespaces" or (info["nobody_ok"] and _reachable([str(top.parent)])))
    exe = info["executable"]
    return {
        "box": str(box),
        "newroot": str(top / "root"),
        "system": list(SYSTEM_DIRS),
        "expose": info["expose"],
        "hide": info["hide"],
        "limits": limits,
        "env": env,
        "uid": NOBODY if drop else None,
        "gid": NOBODY if drop else None,
        "argv": [exe, "-s", "-P", str(box / "child.py"), "run", str(box)],
    }


# ----------------------------------------------------------------- the process
def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _sweep(markers: list[bytes], patience: float = 3.0) -> list[int]:
    """SIGKILL every live process whose cmdline or environment carries a marker."""
    end = time.monotonic() + patience
    while True:
        pids = [pid for pid in _pids() if _marked(pid, markers)]
        if not pids or time.monotonic() > end:
            return pids
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.02)


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]


def _marked(pid: int, markers: list[bytes]) -> bool:
    for name in ("cmdline", "environ"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as fh:
                data = fh.read(1 << 20)
        except OSError:
            continue
        if any(m in data for m in markers):
            return True
    return False


def _execute(cfg: dict, mode: str, timeout: float, cap: int) -> dict:
    if mode == "namespaces" and USE_ZYGOTE:
        try:
            return _execute_forked(cfg, timeout, cap)
        except zygote.ZygoteError:
            pass  # the run never started: do it the slow way
    word = "launch" if mode == "namespaces" else "session"
    argv = [cfg["argv"][0], "-I", "-S", cfg["argv"][3], word, json.dumps(cfg)]
    start = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=cfg["box"],
        env=cfg["env"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    quota = Quota(OUTPUT_QUOTA)
    quota.kill = lambda: _kill_group(proc.pid)
    drains = [Drain(proc.stdout, cap, quota), Drain(proc.stderr, cap, quota)]
    timed_out = False
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        _kill_group(proc.pid)
        proc.wait()
    wall = time.monotonic() - start
    left = _sweep([cfg["box"].encode(), cfg["env"]["GRADCHECK_SANDBOX"].encode()])
    (out, out_cut), (err, err_cut) = (d.finish(0.5) for d in drains)
    return {
        "timed_out": timed_out,
        "output_exceeded": quota.exceeded,
        "output_limit": quota.limit,
        "returncode": proc.returncode,
        "wall": wall,
        "left": left,
        "stdout": out,
        "stderr": err,
        "stdout_truncated": out_cut,
        "stderr_truncated": err_cut,
    }


def _execute_forked(cfg: dict, timeout: float, cap: int) -> dict:
    """As _execute, through this thread's zygote (no new interpreter, no numpy import)."""
    pipes = [os.pipe(), os.pipe()]
    quota = Quota(OUTPUT_QUOTA)
    drains = [Drain(os.fdopen(r, "rb", buffering=0), cap, quota) for r, _ in pipes]

    def started(pid: int) -> None:
        with quota.lock:
            quota.kill = lambda: _kill_group(pid)
            if quota.exceeded:
                quota.kill()

    try:
        timed_out, code, wall = zygote.execute(cfg, timeout, pipes[0][1], pipes[1][1], _kill_group, started)
    except zygote.ZygoteError:
        for d in drains:
            d.finish(0.0)
        raise
    finally:
        for _, w in pipes:
            os.close(w)
    left = _sweep([cfg["box"].encode(), cfg["env"]["GRADCHECK_SANDBOX"].encode()])
    (out, out_cut), (err, err_cut) = (d.finish(0.5) for d in drains)
    return {
        "timed_out": timed_out,
        "output_exceeded": quota.exceeded,
        "output_limit": quota.limit,
        "returncode": code,
        "wall": wall,
        "left": left,
        "stdout": out,
        "stderr": err,
        "stdout_truncated": out_cut,
        "stderr_truncated": err_cut,
    }


def _run(source, calls, mode, info, limits, timeout, cap) -> SandboxResult:
    top = Path(tempfile.mkdtemp(prefix="gradcheck-sandbox-"))
    try:
        token = os.urandom(12).hex()
        cfg = _config(top / "box", top, mode, info, limits, token)
        box = _prepare(top, source, calls, drop=cfg["uid"] is not None)
        run = _execute(cfg, mode, timeout, cap)
        result = SandboxResult(
            status="crashed",
            message="",
            isolation=mode,
            returncode=run["returncode"],
            wall_time=run["wall"],
            **{k: run[k] for k in ("stdout", "stderr", "stdout_truncated", "stderr_truncated")},
        )
        classify(result, run, box, calls, mode, timeout)
        return result
    finally:
        _remove(top)


def _remove(top: Path) -> None:
    """Delete the directory even if the child chmod'ed it or nested it deeply.  Every
    process of the child is dead by now, so its symlinks cannot change under us."""
    try:
        shutil.rmtree(top)
    except (OSError, RecursionError):
        for dirpath, dirnames, _ in os.walk(top):
            for name in dirnames:
                path = os.path.join(dirpath, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o700)
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(top)], check=False)
