"""The Jacobian factors of eq. (3) and (7) as a table: one row per factor.

Each :class:`Factor` names the factor, the equation it appears in, how a formula set
computes it (``analytic``), the map it is the Jacobian of (``map``, written once for
numpy arrays and autodiff Nodes through :class:`Ops`), the point (``at``), and the
entry scales for maps that end in the loss (where ŷ − y cancels).
:mod:`gradcheck.checking.properties` checks every row against both oracles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gradcheck.checking.scale import gradient_scale, residual_size
from gradcheck.checking.strategies import Problem
from gradcheck.model import activations
from gradcheck.model.network import Forward, append_one
from gradcheck.oracles import autodiff

__all__ = ["COLUMN_FACTORS", "FACTORS", "Factor", "Ops", "ops", "safe_step"]


class Ops(NamedTuple):
    """What a map needs, for numpy arrays (finite differences) or autodiff Nodes."""

    sigma_h: Callable
    sigma_y: Callable
    append_one: Callable


def ops(p: Problem, backend: str) -> Ops:
    if backend == "autodiff":
        return Ops(autodiff.activation(p.hidden), autodiff.activation(p.output), autodiff.append_one)
    return Ops(activations.get(p.hidden).sigma, activations.get(p.output).sigma, append_one)


def _column_map(p: Problem, f: Forward, n_c: int):
    """c ↦ pre_h with c = column n_c of w_h (other columns fixed)."""
    e = np.zeros((1, p.dims.m))
    e[0, n_c] = 1.0
    rest = p.w_h * (1 - e)
    return lambda o, c: f.x_bar @ (rest + c[..., :, None] * e)


def _loss_of_pre_h(p, o, pre_h):
    y_hat = o.sigma_y((o.append_one(o.sigma_h(pre_h)) @ p.theta[:, None])[..., 0])
    return 0.5 * (y_hat - p.y) ** 2


class Factor(NamedTuple):
    name: str
    equation: str
    analytic: Callable  # (F, p, f) → Jacobian
    map: Callable  # (p, f) → ((ops, v) → output), vectorised over a leading axis of v
    at: Callable  # (p, f) → point v
    scale: Callable | None = None  # (p, f) → entry scales, for maps that end in l (ŷ − y cancels)
    through: str = "hy"  # the activations the map applies: 'h', 'y', both or none


def _residual(p, f):
    return residual_size(f, p.y, p.w_h, p.theta, **p.kwargs)


def _scale_theta(p, f):
    return gradient_scale(p.x, p.y, p.w_h, p.theta, **p.kwargs).theta


def _scale_w_h(p, f, *n_c):
    s = gradient_scale(p.x, p.y, p.w_h, p.theta, **p.kwargs).w_h
    return s[:, n_c[0]] if n_c else s


FACTORS = [
    Factor(
        "dl_dy_hat",
        "(4)",
        lambda F, p, f: F.dl_dy_hat(f.y_hat, p.y),
        lambda p, f: lambda o, v: 0.5 * (v - p.y) ** 2,
        lambda p, f: f.y_hat,
        _residual,
        "",
    ),
    Factor(
        "dy_hat_dpre_y",
        "(5)",
        lambda F, p, f: F.dy_hat_dpre_y(f.pre_y, p.output),
        lambda p, f: lambda o, v: o.sigma_y(v),
        lambda p, f: f.pre_y,
        None,
        "y",
    ),
    Factor(
        "dpre_y_dtheta",
        "(3)",
        lambda F, p, f: F.dpre_y_dtheta(f.h_bar),
        lambda p, f: lambda o, v: (v @ f.h_bar[:, None])[..., 0],
        lambda p, f: p.theta,
        None,
        "",
    ),
    Factor(
        "dpre_y_dh",
        "(7)",
        lambda F, p, f: F.dpre_y_dh(p.theta),
        lambda p, f: lambda o, v: (o.append_one(v) @ p.theta[:, None])[..., 0],
        lambda p, f: f.h,
        None,
        "",
    ),
    Factor(
        "dh_dpre_h",
        "(7)",
        lambda F, p, f: F.dh_dpre_h(f.pre_h, p.hidden),
        lambda p, f: lambda o, v: o.sigma_h(v),
        lambda p, f: f.pre_h,
        None,
        "h",
    ),
    Factor(
        "jacobian_theta",
        "(3)",
        lambda F, p, f: F.jacobian_theta(f, p.y, output=p.output),
        lambda p, f: lambda o, v: 0.5 * (o.sigma_y((v @ f.h_bar[:, None])[..., 0]) - p.y) ** 2,
        lambda p, f: p.theta,
        _scale_theta,
        "y",
    ),
    Factor(
        "jacobian_w_h",
        "(10)",
        lambda F, p, f: F.jacobian_w_h(f, p.y, p.theta, **p.kwargs).T,
        lambda p, f: lambda o, v: _loss_of_pre_h(p, o, f.x_bar @ v),
        lambda p, f: p.w_h,
        _scale_w_h,
    ),
]
COLUMN_FACTORS = [  # one Jacobian per column c = w_h[:, n_c]
    Factor(
        "dpre_h_dc",
        "(7)",
        lambda F, p, f, n_c: F.dpre_h_dc(f.x_bar, n_c, p.dims.m),
        lambda p, f, n_c: lambda o, v: _column_map(p, f, n_c)(o, v),
        lambda p, f, n_c: p.w_h[:, n_c],
        None,
        "",
    ),
    Factor(
        "jacobian_column",
        "(8)",
        lambda F, p, f, n_c: F.jacobian_column(f, p.y, p.theta, n_c, **p.kwargs),
        lambda p, f, n_c: lambda o, v: _loss_of_pre_h(p, o, _column_map(p, f, n_c)(o, v)),
        lambda p, f, n_c: p.w_h[:, n_c],
        _scale_w_h,
    ),
    Factor(
        "jacobian_column_u",
        "(9)",
        lambda F, p, f, n_c: F.jacobian_column_u(f, p.y, p.theta, n_c, **p.kwargs),
        lambda p, f, n_c: lambda o, v: _loss_of_pre_h(p, o, _column_map(p, f, n_c)(o, v)),
        lambda p, f, n_c: p.w_h[:, n_c],
        _scale_w_h,
    ),
]


def safe_step(p: Problem, f: Forward, through: str = "hy") -> float:
    """Largest first step for scipy.differentiate that keeps every kinked
    pre-activation the map goes ``through`` ('h', 'y') on its side of the kink
    (smooth maps get 0.05)."""
    dist = np.inf
    if "h" in through and activations.get(p.hidden).kinks:
        dist = min(dist, np.min(np.abs(f.pre_h)))
    if "y" in through and activations.get(p.output).kinks:
        dist = min(dist, np.min(np.abs(f.pre_y)))
    sens = max(1.0, np.max(np.abs(f.x_bar))) * max(1.0, np.max(np.abs(p.theta))) * max(1.0, np.max(np.abs(f.h_bar)))
    return float(min(0.05, 0.25 * dist / sens))
