"""A contract adapter for ``gradcheck grade --contract examples/contracts/transposed_weights.py``.

It describes another course's API, in which the hidden weights are stored transposed,
W = w_hᵀ of shape (m, d+1) (bias column last), and the functions have other names:

    predict(inputs, W, v) -> {"a1": pre_h, "z1": h, "a2": pre_y, "out": y_hat}
        inputs (n, d); v (m+1,), bias last
    backprop(sample, target, a1, z1, out, v) -> {"dW": (m, d+1), "dv": (m+1,)}
        sample (d,), target a float; a1, z1, out as predict returned them for one row

An adapter only *describes* the calls — argument name -> symbol, canonical quantity
-> returned key — and the grader builds every call from it and runs them in the
sandbox; the adapter never calls student code.  Symbols: X, x, x_row, y, w_h, w_h.T,
theta, pre_h, h, pre_y, y_hat (see gradcheck.grading.contract).  A gradient is
expected in the shape of the parameter symbol it is mapped to (here dW: (m, d+1)).
``layouts`` may list variants to try when the first makes the code raise (θ as a
column, intermediates passed flat); this API has just one.
"""

from gradcheck.grading.contract import Contract, Layout, Signature

CONTRACT = Contract(
    name="transposed-weights",
    forward=Signature(
        "predict",
        {"inputs": "X", "W": "w_h.T", "v": "theta"},
        {"pre_h": "a1", "h": "z1", "pre_y": "a2", "y_hat": "out"},
    ),
    gradients=Signature(
        "backprop",
        {"sample": "x", "target": "y", "a1": "pre_h", "z1": "h", "out": "y_hat", "v": "theta"},
        {"w_h.T": "dW", "theta": "dv"},
    ),
    layouts=(Layout(),),
    description="predict(inputs, W, v) and backprop(sample, target, a1, z1, out, v), W = w_hᵀ",
)
