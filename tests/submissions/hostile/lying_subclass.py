"""Returns an ndarray subclass whose comparisons lie, and an object array."""
import numpy as np


class Liar(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __array_finalize__(self, obj):
        pass

    def __float__(self):
        return 0.0


def forward_pass(X, wh, theta):
    return {"h": np.array([[1.5, -2.0], [3.25, 4.0]]).view(Liar), "y_hat": np.arange(3.0).view(Liar)}


def object_array():
    return {"h": np.array([1.0, 2.0], dtype=object)}


def complex_array():
    return {"h": np.array([1 + 2j])}


def string_value():
    return {"h": "1.0"}


def non_string_key():
    return {3: np.zeros(2)}
