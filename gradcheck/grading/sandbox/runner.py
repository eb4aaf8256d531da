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
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from gradcheck.grading.sandbox import hiding, process, protocol, quota
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
    "seccomp_available",
    "session_uids_available",
    "concurrency_note",
]

NOBODY = 65534
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DISK_MB = 64  # the box's tmpfs; its out/ is a second tmpfs sized for the largest results accepted
RESULTS_MB = 70  # that second tmpfs (child.py: RESULTS_CAP + ARRAYS_CAP + 2 MB)
FSIZE, NOFILE, NPROC = 80 << 20, 64, 64
# Session mode as root: box k of those running at once runs as SESSION_UID_BASE + k (no account has it).
SESSION_UID_BASE, SESSION_SLOTS = 0x7E000000, 256
# The seccomp filter (child.install_seccomp) where a libseccomp binding is importable; False: off.
SECCOMP = True
CHILD = Path(__file__).with_name("child.py")
GRADCHECK_DIR = str(Path(__file__).resolve().parents[2])  # the gradcheck package itself
# Without namespaces, a root parent that cannot hand the child to `nobody` would run it as
# a capability-less root, which still owns (and can write) most of the filesystem.
ALLOW_ROOT_SESSION = False
# Namespaces mode forks runs from a zygote that has numpy loaded (zygote.py); False: exec each run.
USE_ZYGOTE = True
_INFO_CODE = """import importlib, importlib.util, json, os, site, sys, sysconfig, numpy
spec = importlib.util.find_spec("gradcheck")
paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
         os.path.dirname(sys.executable), os.path.dirname(os.path.dirname(numpy.__file__))]
paths += [sysconfig.get_path(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
where = list(spec.submodule_search_locations or []) if spec else []
seccomp, why = None, []
for name in ("pyseccomp", "seccomp"):
    try:
        module = importlib.import_module(name)
        module.SyscallFilter(module.ALLOW)
        seccomp = [name, module.__file__]
        break
    except Exception as exc:
        why.append(f"{name}: {type(exc).__name__}: {exc}"[:150])
sites = list(sys.path) + site.getsitepackages() + [site.getusersitepackages()]
print(json.dumps({"executable": sys.executable, "paths": paths, "gradcheck": where, "seccomp": seccomp,
                  "seccomp_why": "; ".join(why), "sites": sites}))"""


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
    hide |= hiding.grader_files(raw["sites"], system + expose)
    return {
        "executable": raw["executable"],
        "expose": expose,
        "hide": sorted(p for p in hide if under(p, system + expose)),
        "nobody_ok": _reachable(expose),
        "seccomp": raw["seccomp"],
        "seccomp_why": raw.get("seccomp_why", ""),
    }


def _reachable(paths: list[str]) -> bool:
    """Can any other uid enter every directory leading to `paths` (for the session mode)?"""
    for path in paths:
        parts = Path(path).parts
        for i in range(1, len(parts) + 1):
            st = os.stat(os.path.join(*parts[:i]))
            if not st.st_mode & stat.S_IXOTH:
                return False
    return True


def seccomp_available(python: str = sys.executable) -> tuple[bool, str]:
    """Is the seccomp filter on for runs of `python`?  (False, why) when it is off."""
    if not SECCOMP:
        return False, "disabled (runner.SECCOMP is False)"
    info = _interpreter(python)
    if info["seccomp"] is None:
        return (
            False,
            f"no usable libseccomp binding (pip install pyseccomp, or Debian's python3-seccomp): {info['seccomp_why']}",
        )
    return True, ""


def session_uids_available(python: str = sys.executable) -> bool:
    """Can the session fallback give every concurrent box its own uid (root, and an interpreter
    and temporary directory that other uids can reach)?"""
    return os.geteuid() == 0 and _interpreter(python)["nobody_ok"] and _reachable([tempfile.gettempdir()])


def concurrency_note(isolation: str = "auto", python: str = sys.executable) -> str | None:
    """Why boxes must run one at a time in this mode (then grade_many forces --jobs 1), or None."""
    mode = isolation
    if mode == "auto":
        mode = "namespaces" if namespaces_available(python)[0] else "session"
    if mode == "session" and not session_uids_available(python):
        return (
            "--jobs 1 forced: the session fallback cannot give each concurrent box its own uid here "
            "(that needs root and an interpreter other uids can run), so boxes run one at a time"
        )
    return None


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

    isolation: 'auto' (namespaces when the probe passes, else 'session' — but only as root, where the
    run gets a uid of its own: an ordinary grader without namespaces is refused, since the submission
    would run as that user), 'namespaces' or 'session' to force one.
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
        if not ok and os.geteuid() != 0:
            raise SandboxUnavailable(
                f"namespaces unavailable ({why}) and the grader is not root: the submission would run as your own "
                "user, able to read and change your files; refusing (--isolation session accepts that)"
            )
    if mode == "session":
        note += _session_note(info)
    on, why = seccomp_available(python)
    if not on:
        note += f"seccomp off: {why}; "
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
    who = "a uid of its own" if root and nobody_ok else "a capability-less root" if root else "the grader's own uid"
    return (
        "isolation weaker: no namespaces (network, filesystem and processes are shared, the grader's "
        f"files are readable; only a new session, rlimits, seccomp, a disk quota where root can mount and {who}); "
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
def _prepare(top: Path, source: bytes, calls, uid: int | None) -> Path:
    """The host box; in session mode it is the run's own directory, owned by its uid (namespaces
    mode copies it into a tmpfs and only pid 1 writes the results back)."""
    box = top / "box"
    box.mkdir(mode=0o755, exist_ok=True)  # a tmpfs already in session mode (quota.py)
    for d in (box / "in", box / "out"):
        d.mkdir(mode=0o755)
    (top / "root").mkdir(mode=0o700)
    (box / "submission.py").write_bytes(source)
    shutil.copyfile(CHILD, box / "child.py")
    protocol.encode(calls, box)
    os.chmod(top, 0o711)
    if uid is not None:
        for d in (box, box / "out"):
            os.chown(d, uid, uid)
        os.chmod(box, 0o700)
    return box


_SLOTS: set[int] = set()
_SLOTS_LOCK = threading.Lock()
_SERIAL = threading.Lock()  # session runs without a uid of their own: one at a time


def _session_uid() -> int:
    """A uid no account and no other running box has (released by _release_uid)."""
    with _SLOTS_LOCK:
        for k in range(SESSION_SLOTS):
            uid = SESSION_UID_BASE + k
            if k not in _SLOTS and not _has_account(uid):
                _SLOTS.add(k)
                return uid
    raise SandboxUnavailable(f"no free session uid among {SESSION_SLOTS} from {SESSION_UID_BASE}")


def _release_uid(uid: int) -> None:
    with _SLOTS_LOCK:
        _SLOTS.discard(uid - SESSION_UID_BASE)


def _has_account(uid: int) -> bool:
    import pwd

    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


def _config(box: Path, top: Path, mode: str, info: dict, limits: dict, token: str, uid: int | None = None):
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
    exe = info["executable"]
    return {
        "box": str(box),
        "newroot": str(top / "root"),
        "system": list(SYSTEM_DIRS),
        "expose": info["expose"],
        "hide": info["hide"],
        "limits": limits,
        "env": env,
        "uid": uid,
        "gid": uid,
        "disk_mb": DISK_MB,
        "seccomp": info["seccomp"] if seccomp_available(exe)[0] else None,
        "argv": [exe, "-s", "-P", str(box / "child.py"), "run", str(box)],
    }


def _run(source, calls, mode, info, limits, timeout, cap) -> SandboxResult:
    root = os.geteuid() == 0
    uid, serial = None, None
    if mode == "namespaces" and root:
        uid = NOBODY
    elif mode == "session" and root and info["nobody_ok"] and _reachable([tempfile.gettempdir()]):
        uid = _session_uid()
    elif mode == "session":
        serial = _SERIAL
        serial.acquire()
    top = Path(tempfile.mkdtemp(prefix="gradcheck-sandbox-"))
    mounted = False
    try:
        if mode == "session":
            mounted = quota.mount_box(top / "box", DISK_MB + RESULTS_MB)
        token = os.urandom(12).hex()
        cfg = _config(top / "box", top, mode, info, limits, token, uid)
        box = _prepare(top, source, calls, uid if mode == "session" else None)
        run = process.execute(cfg, mode, timeout, cap, zygote_ok=USE_ZYGOTE)
        result = SandboxResult(
            status="crashed",
            message="",
            isolation=mode,
            returncode=run["returncode"],
            wall_time=run["wall"],
            **{k: run[k] for k in ("stdout", "stderr", "stdout_truncated", "stderr_truncated")},
        )
        classify(result, run, box, calls, mode, timeout)
        if mode == "session" and not mounted:
            result.message = "; ".join(m for m in (result.message, "no disk quota (cannot mount a tmpfs here)") if m)
        return result
    finally:
        if mounted:
            quota.unmount_box(top / "box")
        _remove(top)
        if serial is not None:
            serial.release()
        elif mode == "session" and uid is not None:
            _release_uid(uid)


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
