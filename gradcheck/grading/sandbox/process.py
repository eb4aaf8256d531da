"""Run a sandbox child and watch it: drain its output under a cap, enforce the wall clock,
kill its process group and sweep every process that still carries the run's markers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from gradcheck.grading.sandbox import zygote
from gradcheck.grading.sandbox.pipes import OUTPUT_QUOTA, Drain, Quota

__all__ = ["execute"]


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


def execute(cfg: dict, mode: str, timeout: float, cap: int, *, zygote_ok: bool = True) -> dict:
    """Run the child for `cfg` (through the zygote in namespaces mode when `zygote_ok`), kill
    what it leaves, and return what happened as data."""
    if mode == "namespaces" and zygote_ok:
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
    return _finished(cfg, drains, quota, timed_out, proc.returncode, time.monotonic() - start)


def _finished(cfg: dict, drains: list, quota: Quota, timed_out: bool, code, wall: float) -> dict:
    """What happened, as data, once the run is over: sweep its leftovers, then drain its output."""
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
    return _finished(cfg, drains, quota, timed_out, code, wall)
