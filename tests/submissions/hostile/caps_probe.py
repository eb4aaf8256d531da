"""Reads its own capabilities and tries what capabilities would allow inside its box:
unmount every mount (the tmpfs hiding the grader among them), remount every mount
read-write, mount a tmpfs, open /proc/1/mem for writing.  Benign: it writes nothing
outside its box (a remount or unmount only changes its own mount namespace)."""
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
MS_REMOUNT, MS_BIND = 32, 4096


def _status():
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"):
                out[key] = float(int(value.strip(), 16))
            if key in ("Seccomp", "NoNewPrivs"):
                out[key] = float(value.strip())
    return out


def _targets():
    with open("/proc/self/mountinfo") as fh:
        return [line.split()[4] for line in fh]


def probe():
    out = _status()
    targets = _targets()
    out["remounted_rw"] = float(sum(
        libc.mount(None, t.encode(), None, ctypes.c_ulong(MS_REMOUNT | MS_BIND), None) == 0 for t in targets))
    out["unmounted"] = float(sum(libc.umount2(t.encode(), 2) == 0 for t in reversed(targets) if t != "/"))
    os.makedirs("mnt", exist_ok=True)
    out["mounted_tmpfs"] = float(libc.mount(b"none", b"mnt", b"tmpfs", ctypes.c_ulong(0), None) == 0)
    try:
        os.close(os.open("/proc/1/mem", os.O_RDWR))
        out["proc1_mem"] = 1.0
    except OSError:
        out["proc1_mem"] = 0.0
    out["uid"] = float(os.getuid())
    return out
