"""One wall-clock budget per submission, shared by all of its sandbox runs."""

from __future__ import annotations

import time

from gradcheck.grading.sandbox import runner
from gradcheck.grading.sandbox.results import SandboxResult

__all__ = ["Budget"]


class Budget:
    """One wall-clock budget for every run of a submission (the activation re-run and a layout
    retry included): each run gets what is left of it; none starts once it is spent."""

    def __init__(self, seconds: float):
        self.seconds, self.end = seconds, time.monotonic() + seconds

    def run(self, path, calls, **opts) -> SandboxResult:
        left = self.end - time.monotonic()
        spent = f"the wall-clock budget of {self.seconds:g} s for all runs of this submission"
        if left < 0.05:
            return SandboxResult("timeout", f"not run: {spent} was used up", opts.get("isolation", ""))
        result = runner.run_submission(path, calls, timeout=left, **opts)
        if result.status == "timeout":
            result.message = f"{spent} ran out; {result.message}"
        return result
