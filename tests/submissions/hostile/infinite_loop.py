"""Spins forever inside a call."""


def forward_pass(X, wh, theta):
    n = 0
    while True:
        n += 1
