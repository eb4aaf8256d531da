"""Makes numpy's comparisons always succeed, then returns wrong values."""
import numpy
import numpy.testing

numpy.allclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.broadcast(a, b).shape, dtype=bool)
numpy.testing.assert_allclose = lambda *a, **k: None


def forward_pass(X, wh, theta):
    return {"h": numpy.full((2, 3), 42.0), "y_hat": numpy.array([-1.0])}
