"""Run one submission's probe call in the sandbox and print the outcome as JSON.
Used by tests/test_hardening.py to drive the grader as an ordinary user from a
non-editable install:  python hardening_driver.py SUBMISSION FUNCTION [ISOLATION]"""

import json
import sys

from gradcheck.grading import Call, run_submission

path, function = sys.argv[1], sys.argv[2]
isolation = sys.argv[3] if len(sys.argv) > 3 else "auto"
r = run_submission(path, [Call(function, {}, "p")], timeout=20.0, isolation=isolation)
calls = {
    cid: {
        "status": c.status,
        "message": c.message,
        "values": {k: v.tolist() for k, v in c.values.items() if v.size < 99},
    }
    for cid, c in r.calls.items()
}
doc = {"status": r.status, "message": r.message, "isolation": r.isolation, "calls": calls, "stderr": r.stderr}
print(json.dumps(doc))
