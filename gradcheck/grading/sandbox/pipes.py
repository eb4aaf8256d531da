"""The child's stdout and stderr: drained continuously (a blocked pipe never stalls a run or the
grader's timer), the first bytes kept, and the total counted against an output quota."""

from __future__ import annotations

import os
import select
import threading
import time

__all__ = ["OUTPUT_QUOTA", "Drain", "Quota"]

OUTPUT_QUOTA = 16 << 20  # bytes of stdout + stderr a run may print before it is killed (64 KiB are kept)


class Quota:
    """The output a run may print (stdout and stderr together) before it is killed: a flood is
    stopped by its size, not by the wall clock, so its outcome does not depend on the machine's speed."""

    def __init__(self, limit: int):
        self.limit, self.total, self.exceeded, self.kill = limit, 0, False, None
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.total += n
            if self.total > self.limit and not self.exceeded:
                self.exceeded = True
                if self.kill is not None:
                    self.kill()


class Drain(threading.Thread):
    """Read a pipe continuously, keeping only the first `cap` bytes and counting against `quota`."""

    def __init__(self, stream, cap: int, quota: Quota):
        super().__init__(daemon=True)
        self.stream, self.cap, self.buf, self.total, self.quota = stream, cap, bytearray(), 0, quota
        self.deadline: float | None = None
        self.start()

    def run(self):
        poller, fd = select.poll(), self.stream.fileno()
        poller.register(fd, select.POLLIN | select.POLLHUP)
        while self.deadline is None or time.monotonic() < self.deadline:
            if not poller.poll(50):
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            self.total += len(chunk)
            self.quota.add(len(chunk))
            self.buf += chunk[: max(0, self.cap - len(self.buf))]

    def finish(self, grace: float) -> tuple[str, bool]:
        self.deadline = time.monotonic() + grace
        self.join()
        self.stream.close()
        return self.buf.decode("utf-8", "replace"), self.total > self.cap
