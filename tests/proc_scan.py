"""Shared by the sandbox and grading tests: processes alive on the host, found
independently of the sandbox's own sweep (which is what those tests check)."""

import os


def live_with(marker: str) -> list[int]:
    """Host pids of live processes whose command line contains `marker`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if marker.encode() in fh.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found
