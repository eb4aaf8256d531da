"""Parent side of the fork server that makes a sandbox run cheap (namespaces mode only).

Starting a child costs two interpreters and an ``import numpy`` (~0.3 s of CPU,
most of a small submission's grading).  A zygote (``child.py zygote``) pays that once:
it imports numpy, then forks one process per run which goes through exactly the
``launch`` path — user/pid/net/mount namespaces, read-only root, uid nobody, rlimits —
and whose pid 1 runs the ``run`` stage in-process.  The zygote never runs student
code, never sees results, and holds nothing but numpy and its own code; each run is
a fresh fork of that clean state, and its control socket is closed before anything
else happens in the fork.  One zygote per (thread, interpreter), so the protocol is
synchronous; it dies with its thread (PR_SET_PDEATHSIG) or when its socket closes.
Any zygote failure makes the caller fall back to the exec path.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import threading
import time
from pathlib import Path

__all__ = ["ZygoteError", "execute"]

CHILD = Path(__file__).with_name("child.py")
_LOCAL = threading.local()
ENV_KEEP = ("PATH", "LANG", "PYTHONHASHSEED", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class ZygoteError(RuntimeError):
    pass


class _Zygote:
    def __init__(self, python: str, env: dict, seccomp):
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [python, "-s", "-P", str(CHILD), "zygote", str(theirs.fileno()), json.dumps(seccomp)],
                pass_fds=[theirs.fileno()],
                env=env,
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            theirs.close()
        self.sock = mine

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self.sock.close()
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc.wait()

    def _reply(self, key: str, timeout: float | None):
        if timeout is not None and not select.select([self.sock], [], [], max(timeout, 0))[0]:
            return None
        data = self.sock.recv(4096)
        if not data:
            raise ZygoteError("the zygote closed its socket")
        return json.loads(data)[key]

    def run(self, cfg: dict, timeout: float, out_w: int, err_w: int, kill, started=None) -> tuple[bool, int, float]:
        """(timed_out, returncode, wall) of one run; ``kill(pid)`` kills its process group;
        ``started(pid)`` is told the run's pid as soon as it is known."""
        start = time.monotonic()
        socket.send_fds(self.sock, [json.dumps(cfg).encode()], [out_w, err_w])
        pid = self._reply("pid", 30.0)
        if pid is None:
            raise ZygoteError("the zygote did not fork")
        if started is not None:
            started(pid)
        try:
            status = self._reply("status", timeout - (time.monotonic() - start))
            timed_out = status is None
            if timed_out:
                kill(pid)
                status = self._reply("status", 30.0)
        except (OSError, ValueError, ZygoteError):
            status = None
        if status is None:  # the zygote died or hung mid-run: the run is lost, never re-run
            kill(pid)
            self.close()
            return False, -9, time.monotonic() - start
        return timed_out, os.waitstatus_to_exitcode(status), time.monotonic() - start


def _get(python: str, env: dict, seccomp=None) -> _Zygote:
    pool = getattr(_LOCAL, "pool", None)
    if pool is None:
        pool = _LOCAL.pool = {}
    key = (python, tuple((k, env.get(k)) for k in ENV_KEEP), json.dumps(seccomp))
    z = pool.get(key)
    if z is None or not z.alive():
        z = pool[key] = _Zygote(python, {k: env[k] for k in ENV_KEEP if k in env}, seccomp)
    return z


def execute(cfg: dict, timeout: float, out_w: int, err_w: int, kill, started=None) -> tuple[bool, int, float]:
    """Run ``cfg`` through this thread's zygote.  Raises ZygoteError only if the run did not
    start (the caller then uses the exec path); a zygote lost mid-run is a crashed run."""
    try:
        z = _get(cfg["argv"][0], cfg["env"], cfg.get("seccomp"))
        return z.run(cfg, timeout, out_w, err_w, kill, started)
    except (OSError, ValueError, ZygoteError) as exc:  # before the fork: nothing of the run happened
        for key, value in list(getattr(_LOCAL, "pool", {}).items()):
            if not value.alive() or value.sock.fileno() < 0 or key[0] == cfg["argv"][0]:
                value.close()
                del _LOCAL.pool[key]
        raise ZygoteError(str(exc)) from exc
