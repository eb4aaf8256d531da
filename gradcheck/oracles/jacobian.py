"""Jacobians of small vector maps, by both oracles: for checking every factor of eq. (3) and (7).

``g`` maps an array v (with any leading batch axes) to an array; the Jacobian is
returned as a matrix (output size × input size).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.differentiate import jacobian as scipy_jacobian

from gradcheck.oracles import autodiff

__all__ = ["autodiff_jacobian", "scipy_jacobian_bounded"]

EPS = float(np.finfo(np.float64).eps)


def autodiff_jacobian(g_nodes: Callable, g_numpy: Callable, v) -> np.ndarray:
    """Reverse mode, one pass per output: ``g_nodes`` on autodiff Nodes, ``g_numpy`` for the output size."""
    v = np.asarray(v, dtype=np.float64)
    (J,) = autodiff.jacobian(g_nodes, v)
    return J.reshape(np.size(g_numpy(v)), v.size)


def scipy_jacobian_bounded(g: Callable, v, *, step: float, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.differentiate.jacobian`` from first step ``step``, with a strict-in-practice error bound.

    scipy's ``error`` is the change between its last two iterates, which can agree on
    a wrong value; a second run from a step three times smaller exposes that, and
    rounding adds ≈ Σ|w_k|·eps·max|g|/h at the last step h (w_k the stencil's weights,
    Σ|w_k| ≈ 3 at order 8; |g| the larger of its values over the first stencil and
    Σ_j |J_qj v_j|, the size of the terms that sums inside g may cancel; ×10 for
    safety; or ``noise``/eps where the caller knows g's rounding better), so
        |J_q − J_q'| ≤ |df − df'| + error + 32·max(eps·max_stencil |g_q|, eps·Σ_j |J_qj v_j|, noise) / h_last.
    """
    v = np.asarray(v, dtype=np.float64)
    flat = v.reshape(-1)

    def vectorised(z):  # scipy passes (P, *batch); the maps take (*batch, *v.shape)
        batch = z.shape[1:]
        zt = np.moveaxis(z, 0, -1).reshape(batch + v.shape)
        return np.moveaxis(np.reshape(g(zt), batch + (-1,)), -1, 0)

    res = scipy_jacobian(vectorised, flat, initial_step=step)  # default rtol √eps
    alt = scipy_jacobian(vectorised, flat, initial_step=step / 3)
    stencil = flat + step * np.vstack([np.eye(flat.size), -np.eye(flat.size)])  # (2P, P)
    values = np.reshape(g(stencil.reshape((-1,) + v.shape)), (2 * flat.size, -1))
    magnitude = np.maximum(
        np.max(np.abs(np.vstack([values, np.reshape(g(v), (1, -1))])), axis=0), np.abs(res.df) @ np.abs(flat)
    )[:, None]  # |J||v|: terms of sums inside g
    h_last = step * 2.0 ** -np.maximum(res.nit - 1, 0)
    return res.df, np.abs(res.df - alt.df) + res.error + 32 * np.maximum(EPS * magnitude, noise) / h_last
