"""Δl at the six central-stencil points of every w_h entry, one tile of w_h at a time, in place.

The first two iterations of the order-4 derivative (:mod:`gradcheck.largescale.stencil`) need, for
each coordinate i = (k, j) of w_h, Δl(t) = l(p + t e_i) − l(p) at t = ±h_i, ±h_i/2, ±h_i/4.
:class:`gradcheck.largescale.incremental.Incremental` computes them through per-coordinate gathers;
here a tile w_h[rows, cols] is one broadcast (x̄_k along the rows, hidden unit j's cached factors
along the columns), evaluated in per-thread buffers of a fixed size that stay in cache: fresh pages
cost ≈ 3 ms per MB on first touch here, more than the arithmetic.

Sigmoid layers (σ only, no σ'): with a = e^(−|z|), s = sign z and E = expm1(−s·δ),
    σ(z + δ) − σ(z) = −s·a·E / ((1 + a)(1 + a + a·E)) = (−s/(1 + a))·E / (c + E),   c = (1 + a)/a
— :func:`gradcheck.largescale.incremental._sigmoid_delta` with the factors of z hoisted (c = ∞ where
a underflows to 0: Δσ = 0), so u_y = −s_y·θ_j·Δσ_h(t) = W_j·E/(c_j + E) and, with F = E_y/(c_y + E_y)
and K = −s_y/(1 + a_y), Δl = Δŷ (r + Δŷ/2) = F·(K·r + (K²/2)·F): three operations per value
after each expm1, the same few roundings as before.
E is the Taylor polynomial of expm1 of the lowest degree whose truncation is below eps/4 for
|u| ≤ BOUND = STEP/4 (a bound the steps guarantee, below): < 1 ulp, as libm's, at a fifth of the cost
(numpy has no SIMD expm1).  The hidden layer evaluates it at t = h/4 only: the arguments at h/2 and h
are exactly 2× and 4× that one, and expm1(2u) = E·(E + 2) (≤ 2 ulps after two doublings), and
expm1(−u) = −E/(1 + E) for the negative steps.
Each Δσ is then within a few ulps, as the rounding bound of ``Incremental`` assumes
(tests/test_tiles.py checks the values against 64-bit-mantissa arithmetic).  Other smooth
activations use ``Incremental``'s own Δσ on the same broadcast shapes.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from gradcheck.largescale.incremental import STEP

__all__ = ["BOUND", "EXPM1_LIMIT", "StencilTiles", "expm1_into", "tile_ranges"]

EXPM1_LIMIT = 0.05  # beyond this |u| the polynomial needs too many terms: libm's expm1
_COEF = [1.0 / math.factorial(k) for k in range(0, 16)]
# smallest degree D with |u|^D/(D+1)!/(1−|u|) ≤ eps/4 for |u| ≤ limit (truncation of the series)
_DEGREES = [
    (D, (2.0**-54 * math.factorial(D + 1) * (1 - EXPM1_LIMIT)) ** (1 / D))
    for D in range(2, 16)
    if (2.0**-54 * math.factorial(D + 1)) ** (1 / D) <= 1.0
]


# |u| ≤ BOUND for every argument of expm1 here: the steps make |t·x̄_k| ≤ STEP/max(1, |θ_j|) (·(1 + 3 eps)),
# so |u| ≤ STEP/4 at t = h/4 (hidden), and |u_y| = |θ_j·Δσ_h| ≤ |θ_j|·|t·x̄_k|/4 ≤ STEP/4 (σ' ≤ 1/4)
BOUND = STEP / 4 * (1 + 2.0**-30)


def expm1_into(u: np.ndarray, out: np.ndarray, tmp: np.ndarray, umax: float) -> np.ndarray:
    """expm1(u) into ``out`` (``tmp``: scratch of u's shape); umax ≥ max |u|."""
    degree = next((D for D, limit in _DEGREES if umax <= limit), None)
    if degree is None or not umax <= EXPM1_LIMIT:
        return np.expm1(u, out=out)
    np.multiply(u, _COEF[degree], out=tmp)  # Horner: u·(1 + u·(1/2 + u·(1/6 + …)))
    np.add(tmp, _COEF[degree - 1], out=tmp)
    for k in range(degree - 2, 0, -1):
        np.multiply(tmp, u, out=tmp)
        np.add(tmp, _COEF[k], out=tmp)
    return np.multiply(tmp, u, out=out)


def tile_ranges(start: int, stop: int, m: int, target: int) -> list[tuple[slice, slice, int]]:
    """Tiles (rows, cols, first flat index) covering the flat w_h indices [start, stop), in order,
    of about ``target`` entries each: whole rows where m ≤ target, pieces of a row otherwise."""
    out, i = [], start
    while i < stop:
        k, j = divmod(i, m)
        if j == 0 and stop - i >= m and m <= target:  # whole rows
            rows = min(max(1, target // m), (stop - i) // m)
            out.append((slice(k, k + rows), slice(0, m), i))
            i += rows * m
        else:  # a piece of row k
            end = min(m, j + target, j + stop - i)
            out.append((slice(k, k + 1), slice(j, end), i))
            i += end - j
    return out


class StencilTiles:
    """Δl(t) at the six points t = (h, h/2, h/4, −h, −h/2, −h/4)·h_i for tiles of w_h (module doc)."""

    def __init__(self, ev, *, target: int):
        self.ev, self.target, self.local = ev, target, threading.local()
        self.sigmoid = ev.d_h.at.__name__ == ev.d_y.at.__name__ == "_sigmoid_delta"
        if self.sigmoid:  # σ(z + δ) − σ(z) = (−s/(1 + a))·E/(c + E), c = (1 + a)/a (∞ when a = 0: Δσ = 0)
            a_s, a_y = ev.aux_hT, ev.aux_y  # copysign(e^(−|z|), z), (m, n) and (n,)
            nsy = -np.copysign(1.0, a_y)
            self.ns_h = -np.copysign(1.0, a_s)
            opa_h, opa_y = 1 + np.abs(a_s), 1 + np.abs(a_y)
            with np.errstate(divide="ignore"):
                self.c_h, self.c_y = opa_h / np.abs(a_s), opa_y / np.abs(a_y)
            self.W = (self.ns_h / opa_h) * (ev.theta[:-1, None] * nsy)  # u_y = −s_y θ_j Δσ_h = W·E/(c + E)
            K = nsy / opa_y  # Δŷ = K·F, F = E/(c + E): Δl = Δŷ (r + Δŷ/2) = F·(K r + (K²/2)·F)
            self.Kr, self.K2 = K * ev.r, K * K / 2

    def _buffers(self, size: int) -> dict:
        b = getattr(self.local, "b", None)
        if b is None or b["size"] < size:
            b = {"size": size} | {name: np.empty(size) for name in ("u", "t3", "E", "D", "v", "w")}
            self.local.b = b
        return b

    def values(self, rows: slice, cols: slice, h: np.ndarray) -> np.ndarray:
        """(6, R·C) values of Δl for the tile w_h[rows, cols] with first steps ``h`` (R, C), in the
        order t = h, h/2, h/4, −h, −h/2, −h/4 (a view of this thread's buffer: use before the next call)."""
        ev = self.ev
        R, C, n = h.shape[0], h.shape[1], ev.n
        t = h[None] / np.array([1.0, 2.0, 4.0])[:, None, None]  # the stencil's h, h/c, h/c² (c = 2), exactly
        x = ev.xT[rows][None, :, None, :]  # (1, R, 1, n)
        if not self.sigmoid:
            return self._generic(rows, cols, t, x)
        b = self._buffers(R * C * 6 * n)
        view = lambda name, q: b[name][: R * C * q * n].reshape(q, R, C, n)
        u, tmp, E6, D6, v6, w6 = view("u", 3), view("t3", 3), view("E", 6), view("D", 6), view("v", 6), view("w", 6)
        cols_n = lambda a: a[cols][None, None, :, :]  # (1, 1, C, n)
        u2, E, E_neg = u[2], E6[:3], E6[3:]
        np.multiply(t[2][..., None], x[0], out=u2)  # dz = t·x̄_k at t = h/4; at h/2, h: exactly 2×, 4× it
        np.multiply(u2, cols_n(self.ns_h)[0], out=u2)  # −s·dz
        expm1_into(u2, E[2], tmp[2], BOUND)
        for q in (1, 0):  # expm1(2u) = E·(E + 2): sums of positive terms for u > 0, of |E| < 1 otherwise
            np.add(E[q + 1], 2.0, out=tmp[q])
            np.multiply(E[q + 1], tmp[q], out=E[q])
        np.subtract(-1.0, E, out=tmp)  # expm1(−u) = E / (−1 − E)
        np.divide(E, tmp, out=E_neg)
        np.add(cols_n(self.c_h), E6, out=D6)  # hidden: u_y = W·E / (c + E)
        np.multiply(cols_n(self.W), E6, out=v6)
        np.divide(v6, D6, out=v6)
        expm1_into(v6, E6, w6, BOUND)  # output: E_y (|u_y| = |θ_j Δσ_h| ≤ |θ_j|·|dz|/4 ≤ STEP/4)
        np.add(self.c_y, E6, out=D6)
        np.divide(E6, D6, out=v6)  # F
        np.multiply(v6, self.K2, out=w6)  # Δl = F·(K r + (K²/2)·F)
        np.add(w6, self.Kr, out=w6)
        np.multiply(w6, v6, out=w6)
        return (w6[..., 0] if n == 1 else w6.mean(axis=-1)).reshape(6, R * C)

    def _generic(self, rows, cols, t, x):
        ev = self.ev
        t6 = np.concatenate([t, -t], axis=0)[..., None]  # (6, R, C, 1)
        z, a = ev.pre_hT[cols][None, None], ev.aux_hT[cols][None, None]
        d_pre_y = ev.d_h.at(z, a, t6 * x) * ev.theta[cols][None, None, :, None]
        d_y = ev.d_y.at(ev.pre_y, ev.aux_y, d_pre_y)
        return (d_y * (ev.r + 0.5 * d_y)).mean(axis=-1).reshape(6, -1)
