"""Δl = l(p + t·e_i) − l(p) for every coordinate i and many t, from one cached forward pass.

Perturbing w_h[k, j] by t moves only pre_h[:, j] (by t·x̄[:, k]); perturbing θ[j] moves
only pre_y (by t·h̄[:, j]).  So for EVERY coordinate at once, in O(n) work per (i, t):
    Δpre_y = θ_j·Δσ_h(pre_h_j; t x̄_k)  (or t h̄_j),  Δŷ = Δσ_y(pre_y; Δpre_y),  Δl = Δŷ (r + Δŷ/2)
with r = ŷ − y and Δσ(z; δ) = σ(z + δ) − σ(z) evaluated by cancellation-free identities
of σ (expm1, sinh, log1p) — σ only, never σ', never the chain rule: a derivative-free
evaluation of the true loss, accurate to a few ulps of Δl itself, so no residual size or
saturation limits the reference.  Used by :func:`gradcheck.largescale.full.check_gradient`; also
provides each coordinate's tolerance scale, rounding bound, first step and kink distances.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.special import expit

from gradcheck.model import activations
from gradcheck.model.network import forward_unchecked

EPS = np.finfo(np.float64).eps
STEP = 2.0**-7  # the first step moves pre_y (and pre_h) by at most STEP


def _sech(z):
    e = np.exp(-np.abs(z))
    return 2 * e / (1 + e * e)


def _sigmoid_delta(z, a_s, dz):
    """σ(z + δ) − σ(z) = −s·E·a / ((1 + a)(1 + a(1 + E))), a = e^(−|z|), s = sign z, E = expm1(−sδ):
    one transcendental, sums of positive terms only (|δ| < 700)."""
    a, s = np.abs(a_s), np.copysign(1.0, a_s)
    E = np.expm1(-s * dz)
    return -E * a_s / ((1 + a) * (1 + a * (1 + E)))


# Δσ(z; δ) = σ(z + δ) − σ(z) without cancellation (identities of σ itself, no derivative), as
# name → (a(z), Δσ(z, a, δ)): the factor a depends on z alone and is cached per pre-activation
_DELTA = {
    "sigmoid": (lambda z: np.copysign(np.exp(-np.abs(z)), z), _sigmoid_delta),
    "tanh": (_sech, lambda z, a, dz: np.sinh(dz) * _sech(z + dz) * a),
    "softplus": (expit, lambda z, a, dz: np.log1p(a * np.expm1(dz))),
    "identity": (np.zeros_like, lambda z, a, dz: dz + a),
    "relu": (lambda z: z, lambda z, a, dz: np.where(z > 0, np.maximum(dz, -z), np.maximum(z + dz, 0.0))),
}


# for any δ (the tolerance scales' difference quotients) where ``at`` needs |δ| small
_DELTA_ANY = {"sigmoid": lambda z, dz: -np.expm1(-dz) * expit(z + dz) * expit(-z)}


class _Delta(NamedTuple):
    aux: Callable
    at: Callable  # (z, a, δ) → Δσ
    any: Callable | None = None

    def __call__(self, z, dz):
        return self.any(z, dz) if self.any else self.at(z, self.aux(z), dz)


def _sigma(name: str, argument: str):
    act = activations.get(name, argument=argument)
    return _Delta(*_DELTA[act.name], _DELTA_ANY.get(act.name)), act.kinks


def _slope(delta_sigma, z):
    """|σ(z + δ) − σ(z − δ)| / 2δ, a difference quotient of σ (cancellation-free, so right in
    saturation too), for tolerance magnitudes only."""
    delta = 1e-4 * np.maximum(1.0, np.abs(z))
    return np.abs(delta_sigma(z - delta, 2 * delta)) / (2 * delta)


def _finite_steps(steps):
    return np.where(np.isfinite(steps), np.minimum(steps, 1e100), STEP)


class Incremental:
    """Δl = l(p + t·e_i) − l(p) for many (i, t), from one cached forward pass (module doc)."""

    def __init__(self, X, Y, w_h, theta, hidden, output):
        (self.d_h, self.kinks_h), (self.d_y, self.kinks_y) = _sigma(hidden, "hidden"), _sigma(output, "output")
        f = forward_unchecked(X, Y, w_h, theta, hidden=hidden, output=output)
        c = np.ascontiguousarray
        self.xT, self.pre_hT, self.h_barT = c(f.x_bar.T), c(f.pre_h.T), c(f.h_bar.T)
        self.aux_hT, self.aux_y = self.d_h.aux(self.pre_hT), self.d_y.aux(f.pre_y)
        self.pre_y, self.r, self.theta = f.pre_y, f.y_hat - Y, theta
        self.n, self.m, self.split = X.shape[0], w_h.shape[1], w_h.size
        self.P = self.split + theta.size
        S_y, S_h = _slope(self.d_y, f.pre_y), _slope(self.d_h, f.pre_h)
        r = f.y_hat - Y
        R = (
            np.abs(f.y_hat)
            + np.abs(Y)
            + S_y
            * (
                np.abs(f.h_bar) @ np.abs(theta)
                + (np.abs(theta[:-1]) * S_h * (np.abs(f.x_bar) @ np.abs(w_h))).sum(axis=1)
            )
        )
        q = np.maximum(np.abs(r), R) * S_y
        x_abs, h_abs = np.abs(f.x_bar), np.abs(f.h_bar)
        # scale and rounding of w_h[k, j] are (|x̄|ᵀ Q / n)[k, j] for a per-(sample, unit) Q (and a θ tail):
        # kept as factors, the (P,) arrays built on first use, tiles computed on their own (below)
        self._x_abs, self._factors = x_abs, {"scale": (q[:, None] * np.abs(theta[:-1]) * S_h, q @ h_abs / self.n, 1.0)}
        # rounding of Δl(t) = l(p + t e_i) − l(p) = Δŷ (r + Δŷ/2), each factor to a few ulps (the
        # rounded argument of σ adds eps·|pre|): ≤ c·eps·|Δl(t)|, |Δl(t)| ≤ |t|·mean_s (|r| + |Δŷ|/2)·|∂ŷ/∂p_i|,
        # |Δŷ| ≤ S_y·STEP + STEP² (|σ''| ≤ 2; STEP for a kinked σ_y) since |Δpre_y| ≤ STEP by the
        # steps below; the order-4 stencils have Σ|w_q t_q| ≤ 2 (central), ≲ 10 (one-sided)
        q_r = (np.abs(r) + (STEP if self.kinks_y else S_y * STEP + STEP**2)) * S_y
        c = 16 * (4 + np.abs(f.pre_h).max(initial=0) + np.abs(f.pre_y).max(initial=0))
        k = c * EPS
        self._factors["rounding"] = (q_r[:, None] * np.abs(theta[:-1]) * S_h, k * (q_r @ h_abs / self.n), k)
        self._full: dict = {}
        self.noise_full = float(np.mean(EPS * (f.l + np.abs(r) * R)))  # a whole forward pass's rounding
        self.xmax, self.hmax = x_abs.max(axis=0), h_abs.max(axis=0)
        self.theta_1 = np.maximum(1.0, np.abs(theta[:-1]))
        Qs, tail, _ = self._factors["scale"]
        # max of the scale: for n = 1 the largest product is that of the largest factors (rounding is monotone)
        if self.n == 1:
            w_max = self.xmax.max(initial=0) * Qs[0].max(initial=0)
        else:
            w_max = self.scale[: self.split].max(initial=0)
        self.scale_max = float(max(w_max, tail.max(initial=0)))

    def _packed(self, name: str) -> np.ndarray:
        """The (P,) array pack(k·|x̄|ᵀ Q / n, tail), the product written in place (no copies of 8 MB at 1M)."""
        if name not in self._full:
            Q, tail, k = self._factors[name]
            out = np.empty(self.P)
            block = out[: self.split].reshape(self._x_abs.shape[1], self.m)
            if self.n == 1:  # the same products, without BLAS's thread start-up (≈ 30 ms on a busy machine)
                np.multiply.outer(self._x_abs[0], Q[0], out=block)
            else:
                np.matmul(self._x_abs.T, Q, out=block)
            block /= self.n
            if k != 1.0:
                block *= k
            out[self.split :] = tail
            self._full[name] = out
        return self._full[name]

    @property
    def scale(self) -> np.ndarray:
        """(P,) tolerance magnitude of every entry (module doc of :mod:`gradcheck.largescale.full`)."""
        return self._packed("scale")

    @property
    def rounding(self) -> np.ndarray:
        """(P,) bound on the rounding of a central stencil's evaluations, per entry (×5 one-sided)."""
        return self._packed("rounding")

    def factor_tile(self, name: str, rows: slice | None, cols: slice) -> np.ndarray:
        """``scale`` or ``rounding`` of the tile w_h[rows, cols] (θ[cols] if rows is None), flat, without
        building the (P,) array when n = 1 (the same elementwise products)."""
        if rows is None:
            return self._factors[name][1][cols]
        if self.n != 1 or name in self._full:
            R, C = rows.stop - rows.start, cols.stop - cols.start
            flat = self._packed(name)[: self.split].reshape(-1, self.m)[rows, cols]
            return flat.reshape(R * C)
        Q, _, k = self._factors[name]
        out = np.multiply.outer(self._x_abs[0, rows], Q[0, cols]).reshape(-1)
        return out * k if k != 1.0 else out

    def factor_at(self, name: str, i) -> np.ndarray:
        """``scale`` or ``rounding`` of the coordinates ``i`` (an index array)."""
        if self.n != 1 or name in self._full:
            return self._packed(name)[i]
        Q, tail, k = self._factors[name]
        i = np.asarray(i, dtype=np.intp)
        w = i < self.split
        kk, j = np.divmod(np.where(w, i, 0), self.m)
        out = np.where(w, self._x_abs[0, kk] * Q[0, j], tail[np.where(w, 0, i - self.split)])
        return np.where(w, out * k, out) if k != 1.0 else out

    def steps_at(self, i) -> np.ndarray:
        """The first step of coordinates ``i``: it moves pre_h (w_h) and pre_y by at most STEP."""
        i = np.asarray(i, dtype=np.intp)
        w = i < self.split
        k, j = np.divmod(np.where(w, i, 0), self.m)
        with np.errstate(divide="ignore"):
            theta_steps = STEP / self.hmax[np.where(w, 0, i - self.split)]
            steps = np.where(w, STEP / (self.xmax[k] * self.theta_1[j]), theta_steps)
        return _finite_steps(steps)

    def steps_tile(self, rows: slice, cols: slice) -> np.ndarray:
        """:meth:`steps_at` of the tile w_h[rows, cols], as a (rows, cols) array."""
        with np.errstate(divide="ignore"):
            steps = STEP / (self.xmax[rows, None] * self.theta_1[None, cols])
            smallest = self.xmax[rows].min() * self.theta_1[cols].min()  # the largest step's (rounding is monotone)
            return steps if smallest > 0 and STEP / smallest <= 1e100 else _finite_steps(steps)

    @property
    def steps(self) -> np.ndarray:
        return self.steps_at(np.arange(self.P))

    def __call__(self, t, i, s=None):
        """l(p + t·e_i) − l(p), mean over samples (or sample s's); t (A, q), i and s (A, 1) or (A,)."""
        shape = np.shape(t)
        t = np.reshape(t, (shape[0], -1))
        i = np.reshape(i, -1)
        rows = slice(None) if s is None else np.reshape(s, -1)[:, None]
        w = i < self.split
        if w.all() or not w.any():
            return self._eval(t, i, rows, w.all()).reshape(shape)
        out = np.empty(t.shape)
        for mask, is_w in ((w, True), (~w, False)):
            out[mask] = self._eval(t[mask], i[mask], rows if s is None else rows[mask], is_w)
        return out.reshape(shape)

    def _eval(self, t, i, rows, is_w):
        single = not isinstance(rows, slice)  # one sample per element: (A, 1) gathers
        col = (lambda a, j: a[j[:, None], rows]) if single else (lambda a, j: a[j])
        py, ay, r = (
            (self.pre_y, self.aux_y, self.r)
            if not single
            else (v[rows][:, None, :] for v in (self.pre_y, self.aux_y, self.r))
        )
        if is_w:
            k, j = np.divmod(i, self.m)
            d_pre_y = self.d_h.at(
                col(self.pre_hT, j)[:, None, :],
                col(self.aux_hT, j)[:, None, :],
                t[:, :, None] * col(self.xT, k)[:, None, :],
            )
            d_pre_y *= self.theta[j][:, None, None]
        else:
            d_pre_y = t[:, :, None] * col(self.h_barT, i - self.split)[:, None, :]
        d_y = self.d_y.at(py, ay, d_pre_y)
        return (d_y * (r + 0.5 * d_y)).mean(axis=-1)

    def kink_distances(self, i, samples=None):
        """(distance to the nearest kink for t > 0, for t < 0, exact kink at t = 0) per
        coordinate (per (coordinate, sample) pair with ``samples``), or None if smooth."""
        if not (self.kinks_h or self.kinks_y):
            return None
        rows = slice(None) if samples is None else samples[:, None]
        take = (lambda a, j: a[j[:, None], rows]) if samples is not None else (lambda a, j: a[j])
        w = i < self.split
        k, j = np.divmod(np.where(w, i, 0), self.m)
        jt = np.where(w, 0, i - self.split)
        shape = (i.size, self.n if samples is None else 1)
        pos, neg, at = np.full(shape, np.inf), np.full(shape, np.inf), np.zeros(shape, bool)
        py = self.pre_y if samples is None else self.pre_y[samples][:, None]

        def add(tstar, moves):  # kinks at t = tstar (where the pre-activation moves)
            nonlocal pos, neg, at
            at |= moves & (tstar == 0)
            pos = np.where(moves & (tstar > 0), np.minimum(pos, tstar), pos)
            neg = np.where(moves & (tstar < 0), np.minimum(neg, -tstar), neg)

        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # distance ∞: no kink reachable
            xk, hb = take(self.xT, k), take(self.h_barT, jt)
            for kappa in self.kinks_h:  # pre_h_j + t x̄_k = κ
                add(np.where(w[:, None], (kappa - take(self.pre_hT, j)) / xk, np.inf), w[:, None] & (xk != 0))
            for kappa in self.kinks_y:
                # θ_j: pre_y + t h̄_j = κ;  w_h[k, j]: |Δpre_y| ≤ |θ_j|·|t x̄_k| (σ_h 1-Lipschitz), both sides
                bound = np.abs(kappa - py) / (np.abs(self.theta[j])[:, None] * np.abs(xk))
                tstar = np.where(w[:, None], bound, (kappa - py) / hb)
                moves = np.where(w[:, None], (self.theta[j][:, None] != 0) & (xk != 0), hb != 0)
                add(tstar, moves)
                add(np.where(w[:, None], -bound, np.inf), moves & w[:, None])
        return pos.min(axis=1), neg.min(axis=1), at.any(axis=1)
