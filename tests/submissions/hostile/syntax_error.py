"""Does not even parse."""


def forward_pass(X, wh, theta)
    return {"h": X}
