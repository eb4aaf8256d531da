"""sys.exit inside one call (a BaseException), os._exit inside another."""
import os
import sys


def forward_pass(X, wh, theta):
    sys.exit(3)


def vanish():
    os._exit(0)


def fine():
    return {"one": 1.0}
