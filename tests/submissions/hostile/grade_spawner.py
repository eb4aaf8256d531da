"""Course-contract hostile submission: every forward_pass leaves a detached process
behind (double fork + setsid, SIGTERM ignored) whose command line carries MARKER."""
import os
import subprocess
import sys

MARKER = "gradcheck-grade-spawner-3f9c1e"
SLEEPER = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"


def forward_pass(X, wh, theta):
    subprocess.Popen([sys.executable, "-c", SLEEPER, MARKER], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", SLEEPER, MARKER])
        os._exit(0)
    n, m = X.shape[0], wh.shape[1]
    return {"pre_h": [[0.0] * m] * n, "h": [[0.0] * m] * n, "pre_y": [0.0] * n, "y_hat": [0.0] * n}


def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    return {"dl_dtheta": theta * 0, "dl_dwh": [[0.0] * (len(theta) - 1)] * (len(x) + 1)}
