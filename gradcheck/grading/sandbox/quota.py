"""The disk quota of a session-mode box: a size-limited tmpfs mounted on the host box (root only;
namespaces mode mounts its own inside the sandbox, child.py).  Results cross within it."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

__all__ = ["mount_box", "unmount_box"]

MS_NOSUID, MS_NODEV, MNT_DETACH = 2, 4, 2
_libc = ctypes.CDLL(None, use_errno=True)


def mount_box(box: Path, size_mb: int) -> bool:
    """Make `box` (created here) a tmpfs of `size_mb` MB; False where that is not allowed."""
    box.mkdir(mode=0o755)
    if os.geteuid() != 0:
        return False
    flags = ctypes.c_ulong(MS_NOSUID | MS_NODEV)
    return _libc.mount(b"tmpfs", os.fsencode(box), b"tmpfs", flags, f"size={size_mb}m,mode=755".encode()) == 0


def unmount_box(box: Path) -> None:
    _libc.umount2(os.fsencode(box), MNT_DETACH)
