"""gradcheck.largescale.tiles: the full check's w_h stencil values, tile by tile — accurate to a few ulps
of Δl (the rounding bound's assumption), the same as Incremental's one-gather-at-a-time values, and the
tiled full check the same as the generic one (references within rounding, identical verdicts)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck.checking import strategies as gs
from gradcheck.checking.tolerance import UNDERFLOW
from gradcheck.largescale import full as fast
from gradcheck.largescale.incremental import STEP
from gradcheck.largescale.tiles import EXPM1_LIMIT, StencilTiles, expm1_into, tile_ranges
from gradcheck.model import formulas

EPS = np.finfo(np.float64).eps


def test_polynomial_expm1_is_within_one_ulp_and_falls_back_beyond_its_range():
    rng = np.random.default_rng(0)
    for limit in (2.0**-20, 2.0**-9, STEP, 2.0**-5, EXPM1_LIMIT, 0.5):
        u = np.copysign(np.exp(rng.uniform(np.log(1e-300), np.log(limit), size=20000)), rng.normal(size=20000))
        u[:50] = np.copysign(limit, u[:50])
        got = expm1_into(u, np.empty_like(u), np.empty_like(u), float(np.abs(u).max()))
        want = np.expm1(u.astype(np.longdouble))
        assert np.max(np.abs(got - want) / (np.abs(want) * EPS)) <= 1.0, limit


def _problem(n, hidden="sigmoid", output="sigmoid", d=7, m=9, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * 2
    w_h, theta = rng.normal(size=(d + 1, m)), rng.normal(size=m + 1) * 3
    w_h[0, 0], theta[1] = 30.0, 1e-9  # a saturated hidden unit, a hidden unit that barely matters
    y = rng.uniform(size=n)
    return fast.network_problem(x if n > 1 else x[0], y if n > 1 else y[0], w_h, theta, hidden, output)[1]


def _sigma_ld(z):
    return 1 / (1 + np.exp(-z))


def _delta_ld(z, dz):  # σ(z + δ) − σ(z), cancellation-free, 64-bit mantissa
    return -np.expm1(-dz) * _sigma_ld(z + dz) * _sigma_ld(-z)


@pytest.mark.parametrize("n", [1, 3])
def test_sigmoid_tile_values_are_within_a_few_ulps_of_delta_l(n):
    ev = _problem(n)
    rows, cols = slice(1, 6), slice(2, 9)
    h = ev.steps_tile(rows, cols)
    got = StencilTiles(ev, target=64).values(rows, cols, h).copy()  # (6, R·C)
    ld = np.longdouble
    t = (h.reshape(-1)[None] / np.array([1, 2, 4, -1, -2, -4])[:, None]).astype(ld)  # (6, A)
    k, j = np.divmod(np.arange(rows.start, rows.stop)[:, None] * ev.m + np.arange(cols.start, cols.stop), ev.m)
    k, j = k.reshape(-1), j.reshape(-1)
    x, pre_h, pre_y, r = (a.astype(ld) for a in (ev.xT[k], ev.pre_hT[j], ev.pre_y, ev.r))  # (A, n), (n,)
    d_pre_y = ev.theta[j].astype(ld)[None, :, None] * _delta_ld(pre_h[None], t[..., None] * x[None])
    d_y = _delta_ld(pre_y, d_pre_y)
    want = (d_y * (r + d_y / 2)).mean(axis=-1)
    size = (np.abs(d_y) * (np.abs(r) + np.abs(d_y) / 2)).mean(axis=-1)  # what the rounding bound scales with
    ulps = np.abs(got - want) / (np.maximum(size, np.finfo(float).tiny) * EPS)
    assert ulps.max() <= 16  # the rounding bound allows c·eps, c = 16·(4 + max|pre|) ≥ 64
    assert np.median(ulps) <= 2


@pytest.mark.parametrize("hidden,output", [("sigmoid", "sigmoid"), ("tanh", "softplus"), ("identity", "tanh")])
@pytest.mark.parametrize("n", [1, 4])
def test_tile_values_match_the_incremental_evaluations(hidden, output, n):
    ev = _problem(n, hidden, output)
    rows, cols = slice(0, 8), slice(3, 8)
    h = ev.steps_tile(rows, cols)
    got = StencilTiles(ev, target=64).values(rows, cols, h)
    i = (np.arange(8)[:, None] * ev.m + np.arange(3, 8)).reshape(-1)
    hq = h.reshape(-1)[:, None] / np.array([1.0, 2.0, 4.0])
    want = ev(np.concatenate([hq, -hq], axis=1), i[:, None]).T
    if hidden == "sigmoid":  # the polynomial expm1 and the hoisted factors: a few ulps of the terms
        T = np.concatenate([hq, -hq], axis=1)
        terms = [np.abs(ev(T, i[:, None], np.full((i.size, 1), s))) for s in range(ev.n)]
        size = np.mean(terms, axis=0).T  # the mean's terms: what its rounding scales with
        assert np.all(np.abs(got - want) <= 16 * EPS * size)
    else:  # the same Δσ of Incremental on broadcast shapes: bit for bit
        np.testing.assert_array_equal(got, want)


@given(st.integers(1, 40), st.integers(0, 400), st.integers(0, 400), st.integers(1, 100))
def test_tile_ranges_cover_the_range_in_order(m, a, b, target):
    start, stop = sorted((a, b))
    covered = []
    for rows, cols, first in tile_ranges(start, stop, m, target):
        flat = (np.arange(rows.start, rows.stop)[:, None] * m + np.arange(cols.start, cols.stop)).reshape(-1)
        assert flat[0] == first and np.all(np.diff(flat) == 1)  # contiguous, so the outputs are slices
        assert flat.size <= max(target, m) and (rows.stop - rows.start == 1 or cols == slice(0, m))
        covered += flat.tolist()
    assert covered == list(range(start, stop))


def _grads(p):
    g = (formulas.batch_gradients if p.x.ndim == 2 else formulas.gradients)(p.x, p.y, p.w_h, p.theta, **p.kwargs)
    return np.asarray(g.w_h, float), np.asarray(g.theta, float)


@settings(max_examples=20, deadline=None)
@given(gs.problems(batch=True) | gs.problems(), st.data())
def test_tiled_full_check_agrees_with_the_generic_path(p, data):
    """Whole check, a sub-range and the generic path (any index order): references within the rounding
    bound, the same statuses where scipy's error is resolvable, the same verdict and failing entries."""
    gw, gt = _grads(p)
    gw = gw.copy()
    gw.flat[data.draw(st.integers(0, gw.size - 1))] *= 1.01  # a wrong entry
    kw = dict(**p.kwargs, threads=data.draw(st.sampled_from([1, 2])))
    P = gw.size + gt.size
    tiled = fast.check_gradient(p.x, p.y, p.w_h, p.theta, gw, gt, **kw)
    order = np.arange(P)[::-1]  # not a range: the generic path
    generic = fast.check_gradient(p.x, p.y, p.w_h, p.theta, gw, gt, _coords=order, **kw)
    back = np.argsort(order)
    ev = fast.network_problem(p.x, p.y, p.w_h, p.theta, p.hidden, p.output)[1]
    allowed = 1e-12 * (np.abs(tiled.reference) + tiled.error) + ev.rounding + UNDERFLOW
    assert np.all(np.abs(tiled.reference - generic.reference[back]) <= allowed)
    assert np.all(np.abs(tiled.error - generic.error[back]) <= allowed)
    assert tiled.passed == generic.passed and tiled.comparison.n_failed == generic.comparison.n_failed
    assert tiled.comparison.n_failed > 10 or set(tiled.comparison.failed) == set(generic.comparison.failed)
    lo = data.draw(st.integers(0, P - 1))
    hi = data.draw(st.integers(lo + 1, P))
    part = fast.check_gradient(p.x, p.y, p.w_h, p.theta, gw, gt, _coords=np.arange(lo, hi), **kw)
    generic_part = fast.check_gradient(p.x, p.y, p.w_h, p.theta, gw, gt, _coords=np.arange(lo, hi)[::-1], **kw)
    assert np.all(np.abs(part.reference - tiled.reference[lo:hi]) <= allowed[lo:hi])
    assert np.all(np.abs(part.reference - generic_part.reference[::-1]) <= allowed[lo:hi])
    assert np.all(np.abs(part.tolerance - generic_part.tolerance[::-1]) <= 2 * allowed[lo:hi])
    assert part.passed == generic_part.passed and part.comparison.n_failed == generic_part.comparison.n_failed
    if part.comparison.n_failed <= 10:
        assert set(part.comparison.failed) == set(generic_part.comparison.failed)


def test_one_sample_results_do_not_depend_on_threadpoolctl(monkeypatch):
    """With threadpoolctl, one sample's setup runs BLAS on one thread: the same bits as without it."""
    pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(4)
    d, m = 300, 200
    x, y = rng.normal(size=d), 0.3
    w_h, theta = rng.normal(size=(d + 1, m)) / np.sqrt(d), rng.normal(size=m + 1) / np.sqrt(m)
    g = formulas.gradients(x, y, w_h, theta)
    runs = [fast.check_gradient(x, y, w_h, theta, g.w_h, g.theta)]
    monkeypatch.setitem(__import__("sys").modules, "threadpoolctl", None)  # import fails: the numpy path
    runs.append(fast.check_gradient(x, y, w_h, theta, g.w_h, g.theta))
    for field in ("reference", "error", "tolerance", "status"):
        np.testing.assert_array_equal(getattr(runs[0], field), getattr(runs[1], field))
    assert runs[0].comparison == runs[1].comparison and runs[0].passed


def test_a_loss_not_finite_near_an_entry_fails_the_check_by_name(monkeypatch):
    """Both paths poisoned at w_h[0, 3] (the tiles hand a non-finite entry to the generic path): no
    reference there, the check fails naming it, and every other entry keeps its tolerance."""
    from gradcheck.largescale.incremental import Incremental

    ev = _problem(1)
    values, call = StencilTiles.values, Incremental.__call__

    def tile_values(self, rows, cols, h):
        v = values(self, rows, cols, h).copy()
        if rows.start == 0 and cols.start == 0:
            v[:, 3] = np.nan
        return v

    def incremental(self, t, i, s=None):
        out = call(self, t, i, s)
        return np.where(np.reshape(i, (-1,) + (1,) * (np.ndim(out) - 1)) == 3, np.nan, out)

    monkeypatch.setattr(StencilTiles, "values", tile_values)
    monkeypatch.setattr(Incremental, "__call__", incremental)
    rng = np.random.default_rng(0)
    x, w_h, theta = rng.normal(size=7), rng.normal(size=(8, 9)), rng.normal(size=10)
    g = formulas.gradients(x, 0.3, w_h, theta)
    res = fast.check_gradient(x, 0.3, w_h, theta, g.w_h, g.theta)
    assert not res.passed and res.comparison.n_failed == 1 and res.comparison.failed == ("w_h[0, 3]",)
    assert "not finite near w_h[0, 3]" in res.comparison.message
    assert np.isnan(res.reference[3]) and np.all(np.isfinite(np.delete(res.tolerance, 3)))
    assert ev.P == res.reference.size
