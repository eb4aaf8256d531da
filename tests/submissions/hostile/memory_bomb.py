"""Allocates until the address-space limit bites."""
import numpy as np


def forward_pass(X, wh, theta):
    hoard = []
    while True:
        hoard.append(bytearray(50 << 20))


def numpy_bomb():
    return {"h": np.ones((1 << 17, 1 << 17))}
