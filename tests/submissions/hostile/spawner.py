"""Leaves processes behind: a detached child, and a double-fork + setsid grandchild
that ignores SIGTERM.  Every one carries `marker` on its command line."""
import os
import subprocess
import sys
import time

SLEEPER = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"


def forward_pass(marker):
    tag = marker[0]
    subprocess.Popen([sys.executable, "-c", SLEEPER, tag], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", SLEEPER, tag])
        os._exit(0)
    os.waitpid(pid, 0)
    time.sleep(0.5)  # let the grandchild exec
    return {"spawned": 2.0}


def fork_bomb():
    """How many processes can be alive at once?"""
    pids = []
    try:
        for _ in range(300):
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            pids.append(pid)
    except OSError:
        pass
    return {"forked": float(len(pids))}
