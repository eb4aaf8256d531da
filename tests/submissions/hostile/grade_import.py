"""Course-contract hostile submission: computes its answers with the grader's own
formulas if it can import them (plainly, after removing the import blocker and putting
likely repository paths on sys.path, or from the package's file); zeros otherwise."""
import importlib.util
import os
import sys

import numpy as np

CANDIDATES = ["/work/main", os.getcwd(), "/", "/tmp"] + [p for p in sys.path if p]


def _grader():
    try:
        from gradcheck.model import formulas
        return formulas
    except Exception:  # noqa: BLE001
        pass
    sys.meta_path[:] = [f for f in sys.meta_path if "Blocker" not in type(f).__name__]
    for root in CANDIDATES:
        init = os.path.join(root, "gradcheck", "formulas.py")
        if os.path.exists(init):
            sys.path.insert(0, root)
            sys.modules.pop("gradcheck", None)
            try:
                from gradcheck.model import formulas
                return formulas
            except Exception:  # noqa: BLE001
                spec = importlib.util.spec_from_file_location("gc_formulas", init)
                try:
                    module = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(module)
                    return module
                except Exception:  # noqa: BLE001
                    pass
    return None


F = _grader()


def forward_pass(X, wh, theta):
    if F is not None:
        from gradcheck.model import network
        f = network.forward(X, np.zeros(len(X)), wh, theta)
        return {"pre_h": f.pre_h, "h": f.h, "pre_y": f.pre_y, "y_hat": f.y_hat}
    n, m = X.shape[0], wh.shape[1]
    return {"pre_h": np.zeros((n, m)), "h": np.zeros((n, m)), "pre_y": np.zeros(n), "y_hat": np.zeros(n)}


def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    m = len(theta) - 1
    return {"dl_dtheta": np.zeros(m + 1), "dl_dwh": np.zeros((len(x) + 1, m)), "found": float(F is not None)}
