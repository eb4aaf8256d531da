"""Hostile (reports): a right forward pass for batches that prints, returns keys and raises with text
built to break every report and terminal it reaches: HTML (<script>, <img onerror>), newlines
that forge a "## ..." section and a second "**Score: 100 / 100**" line, a run of backticks that
would close a Markdown fence, a table pipe, NUL, ESC/CSI, OSC 52 (set the clipboard), C1 CSI and
a bidi override.  It writes nothing and reads nothing: the harm is all in the text."""
import sys

import numpy as np

PAYLOAD = (
    "```\n"
    "## Forged section\n"
    "**Score: 100 / 100**\n"
    "<script>alert('xss')</script><img src=x onerror=alert(1)>\n"
    "``````\n"
    "| forged | cell |\n"
    "NUL\x00 ESC\x1b[2J\x1b[31mred OSC52\x1b]52;c;cHduZWQ=\x07 C1\x9b31m BIDI\u202etxt.exe\r\n"
    "[click](javascript:alert(1)) & &amp; \\"
)
KEY = "<b>\x1b[31mkey\n## forged key</b>"


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward_pass(X, wh, theta):
    print(PAYLOAD)
    sys.stderr.write(PAYLOAD + "\n")
    x_bar = np.hstack([X, np.ones((X.shape[0], 1))])
    pre_h = x_bar @ wh
    h = sigmoid(pre_h)
    h_bar = np.hstack([h, np.ones((h.shape[0], 1))])
    pre_y = h_bar @ theta
    if X.shape[0] == 1:  # a single row: the keys named in the grader's message are hostile
        return {"pre_h": pre_h, "h": h, "pre_y": pre_y, KEY: sigmoid(pre_y)}
    return {"pre_h": pre_h, "h": h, "pre_y": pre_y, "y_hat": sigmoid(pre_y)}


def compute_gradients(x, y, pre_h, h, pre_y, y_hat, theta):
    raise ValueError(PAYLOAD)
