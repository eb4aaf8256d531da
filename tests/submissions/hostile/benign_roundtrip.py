"""A correct, well-behaved submission: plain numpy, a dict of arrays per call."""
import os
import sys

import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward_pass(X, wh, theta):
    x_bar = np.hstack([X, np.ones((X.shape[0], 1))])
    h = _sigmoid(x_bar @ wh)
    y_hat = _sigmoid(np.hstack([h, np.ones((h.shape[0], 1))]) @ theta)
    return {"h": h, "y_hat": y_hat}


def compute_gradients(x, y, wh, theta):
    x_bar = np.append(x, 1.0)
    h = _sigmoid(x_bar @ wh)
    h_bar = np.append(h, 1.0)
    y_hat = _sigmoid(h_bar @ theta)
    delta = (y_hat - y) * y_hat * (1.0 - y_hat)
    grad_theta = delta * h_bar
    grad_wh = np.outer(x_bar, delta * theta[:-1] * h * (1.0 - h))
    return {"grad_wh": grad_wh, "grad_theta": grad_theta, "loss": 0.5 * (y_hat - y) ** 2}


def echo(a, s, i, l):
    """Return the arguments as received (types included)."""
    return {"a": a, "s": s, "i": i, "l": l, "types": [float(isinstance(s, float)),
                                                     float(isinstance(i, int)),
                                                     float(isinstance(l, list))]}


def introspect():
    visible = [p for p in os.listdir("/proc") if p.isdigit()]
    return {"uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid(), "ppid": os.getppid(),
            "visible_pids": len(visible), "hash_abc": hash("abc") % 1000003,
            "no_user_site": sys.flags.no_user_site, "safe_path": sys.flags.safe_path,
            "cwd_is_home": float(os.getcwd() == os.environ.get("HOME")),
            "gradcheck_on_path": float(any("gradcheck" in os.listdir(p) for p in sys.path
                                           if os.path.isdir(p))),
            "n_env": len(os.environ), "nofile": os.sysconf("SC_OPEN_MAX")}


def fail(code):
    raise ValueError(f"deliberate failure {code}")


def not_a_dict():
    return [1.0, 2.0]


def flags_and_ints():
    return {"b": np.array([True, False]), "i": np.arange(4, dtype=np.int16),
            "u": np.array([7], dtype=np.uint64), "f32": np.float32(0.5), "scalar": 3}
