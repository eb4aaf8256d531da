"""Run a submission's probe call in the sandbox and print the outcome as JSON.
Used by tests/test_hardening.py to drive the grader as an ordinary user from a
non-editable install:
    python hardening_driver.py SUBMISSION FUNCTION [ISOLATION [COPIES]]
COPIES > 1 runs that many at once (threads) and prints a list."""

import json
import sys
import threading

from gradcheck.grading import Call, run_submission

path, function = sys.argv[1], sys.argv[2]
isolation = sys.argv[3] if len(sys.argv) > 3 else "auto"
copies = int(sys.argv[4]) if len(sys.argv) > 4 else 1


def one() -> dict:
    r = run_submission(path, [Call(function, {}, "p")], timeout=20.0, isolation=isolation)
    calls = {
        cid: {
            "status": c.status,
            "message": c.message,
            "values": {k: v.tolist() for k, v in c.values.items() if v.size < 99},
        }
        for cid, c in r.calls.items()
    }
    return {"status": r.status, "message": r.message, "isolation": r.isolation, "calls": calls, "stderr": r.stderr}


if copies == 1:
    print(json.dumps(one()))
else:
    docs = [None] * copies
    threads = [threading.Thread(target=lambda i=i: docs.__setitem__(i, one())) for i in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(docs))
