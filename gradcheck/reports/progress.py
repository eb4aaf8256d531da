"""The terminal progress bar every long command shows: count, rate and time left.

``[###########...................] 270/750  9.8/s  ~49 s left  relu,tanh``

On a terminal the line is rewritten in place; elsewhere (a CI log, a pipe) a line is written
each tenth of the way (or every step with ``every_step=True``, as grading does: each step is a
submission's score).
"""

from __future__ import annotations

import sys
import time

__all__ = ["Bar", "time_left"]


def time_left(done: int, total: int, elapsed: float) -> str:
    """``~49 s left`` / ``~3 min left`` from the mean time per step so far (empty before the first)."""
    if done <= 0 or done >= total:
        return ""
    seconds = (total - done) * elapsed / done
    return f"~{seconds:.0f} s left" if seconds < 90 else f"~{seconds / 60:.0f} min left"


class Bar:
    """Call ``bar(done, total, label)`` after each step, or ``bar.step(label)`` with a known total."""

    def __init__(self, total: int = 0, *, stream=None, width: int = 30, every_step: bool = False):
        self.stream, self.width, self.every_step = stream or sys.stderr, width, every_step
        self.total, self.done, self.start, self._tenth = total, 0, time.monotonic(), -1

    def step(self, label: str = "") -> None:
        self(self.done + 1, self.total, label)

    def __call__(self, done: int, total: int, label: str = "") -> None:
        self.done, self.total = done, max(total, done)
        total = self.total
        elapsed = time.monotonic() - self.start
        filled = self.width * done // max(total, 1)
        parts = [f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}", f"{done / max(elapsed, 1e-9):.1f}/s"]
        parts += [t for t in (time_left(done, total, elapsed), label) if t]
        text = "  ".join(parts)
        tty = getattr(self.stream, "isatty", lambda: False)()
        if tty:
            self.stream.write("\r\x1b[K" + text + ("\n" if done == total else ""))
        else:
            tenth = 10 * done // max(total, 1)
            if not (self.every_step or tenth != self._tenth or done == total):
                return
            self._tenth = tenth
            self.stream.write(text + "\n")
        self.stream.flush()
