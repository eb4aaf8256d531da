"""A generator of structural gradient mistakes, independent of the catalogue (gradcheck.mistakes) and
of gradcheck.model.formulas: its own network, its own σ and σ', its own finite differences.

Each mistake is a function of one sample's pieces (x̄, u, δ = (ŷ − y)σ'(pre_y), h̄, …) returning
(∇w_h, ∇θ) — or raising, as size-dependent student code does — and the pattern id that
:func:`gradcheck.diagnosis.structure.structural_patterns` should name first.  One generated case
is a mistake, an activation pair and one random problem per graded shape (d, m) with two samples
each, as grading sees them.  The observed gradients carry a relative jitter of ``NOISE``·eps.

Run ``python tests/structural_mistakes.py [CASES]`` to rewrite the "Structural mistakes" section
of reports/diagnosis.md (the catalogue section above it, written by ``gradcheck accuracy``, is kept).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from gradcheck.checking.scale import gradient_scale
from gradcheck.diagnosis.observations import Observation
from gradcheck.diagnosis.patterns import bad_entries
from gradcheck.diagnosis.structure import structural_patterns
from gradcheck.model import formulas

SHAPES = ((1, 1), (1, 3), (1, 6), (2, 1), (3, 2), (3, 4), (4, 3), (5, 2))  # as graded
SAMPLES, NOISE, EPS = 2, 8.0, np.finfo(np.float64).eps
HEADING = "## Structural mistakes outside the catalogue"


def _sig(z):
    e = np.exp(-np.abs(z))  # no cancellation on either side
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


ACT = {
    "sigmoid": (_sig, lambda z: _sig(z) * _sig(-z)),
    "tanh": (np.tanh, lambda z: 1.0 / np.cosh(z) ** 2),
    "relu": (lambda z: np.where(z > 0, z, 0.0), lambda z: np.where(z > 0, 1.0, 0.0)),
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
    "softplus": (lambda z: np.logaddexp(0.0, z), _sig),
}


class Pieces(NamedTuple):
    x: np.ndarray
    y: float
    w_h: np.ndarray
    theta: np.ndarray
    x_bar: np.ndarray
    pre_h: np.ndarray
    h_bar: np.ndarray
    delta: float  # (ŷ − y) σ'(pre_y)
    u: np.ndarray  # θ̃ ⊙ σ'(pre_h)
    dsh: np.ndarray  # σ'(pre_h)
    hidden: str
    output: str


def pieces(x, y, w_h, theta, hidden, output) -> Pieces:
    (sh, dsh), (sy, dsy) = ACT[hidden], ACT[output]
    x_bar = np.append(x, 1.0)
    pre_h = x_bar @ w_h
    h_bar = np.append(sh(pre_h), 1.0)
    pre_y = h_bar @ theta
    delta = (sy(pre_y) - y) * dsy(pre_y)
    return Pieces(x, y, w_h, theta, x_bar, pre_h, h_bar, delta, theta[:-1] * dsh(pre_h), dsh(pre_h), hidden, output)


def right(p: Pieces):
    return p.delta * np.outer(p.x_bar, p.u), p.delta * p.h_bar


def _loss(p: Pieces, w_h, theta) -> float:
    (sh, _), (sy, _) = ACT[p.hidden], ACT[p.output]
    return 0.5 * (sy(np.append(sh(p.x_bar @ w_h), 1.0) @ theta) - p.y) ** 2


def _fd(p: Pieces, block: str, step: float, central: bool):
    base = p.w_h if block == "w_h" else p.theta
    g = np.zeros(base.shape)
    for i in np.ndindex(base.shape):
        e = np.zeros(base.shape)
        e[i] = step
        at = lambda s, e=e: _loss(p, p.w_h + s * e, p.theta) if block == "w_h" else _loss(p, p.w_h, p.theta + s * e)
        g[i] = (at(1) - at(-1)) / (2 * step) if central else (at(1) - at(0)) / step
    return g


def _zero_row(k):
    def f(p):
        gw, gt = right(p)
        gw[k(p)] = 0.0
        return gw, gt

    return f


def _scaled(cw, ct):
    return lambda p: (right(p)[0] * cw(p), right(p)[1] * ct(p))


one = lambda p: 1.0
d_of, m_of = (lambda p: len(p.x)), (lambda p: len(p.theta) - 1)


def _last_unit_column(p):
    gw, gt = right(p)
    gw[:, -1] = 0.0
    return gw, gt


def _last_unit_theta(p):
    gw, gt = right(p)
    gt[-2] = 0.0
    return gw, gt


def _bias_row_doubled(p):
    gw, gt = right(p)
    gw[-1] *= 2.0
    return gw, gt


MISTAKES = {  # name: (function of Pieces → (∇w_h, ∇θ), the pattern id expected first)
    "∇w_h ×2": (_scaled(lambda p: 2.0, one), "w_h:ratio:2"),
    "∇w_h ×½": (_scaled(lambda p: 0.5, one), "w_h:ratio:½"),
    "∇w_h ×−1": (_scaled(lambda p: -1.0, one), "w_h:ratio:−1"),
    "∇θ ×2": (_scaled(one, lambda p: 2.0), "theta:ratio:2"),
    "∇θ ×−1": (_scaled(one, lambda p: -1.0), "theta:ratio:−1"),
    "both ×½": (_scaled(lambda p: 0.5, lambda p: 0.5), "both:ratio:½"),
    "∇w_h / m": (_scaled(lambda p: 1 / m_of(p), one), "w_h:ratio:1/m"),
    "∇w_h / d": (_scaled(lambda p: 1 / d_of(p), one), "w_h:ratio:1/d"),
    "∇w_h × m": (_scaled(lambda p: float(m_of(p)), one), "w_h:ratio:m"),
    "∇θ / (m+1)": (_scaled(one, lambda p: 1 / (m_of(p) + 1)), "theta:ratio:1/(m+1)"),
    "∇w_h ×2 and ∇θ ×½": (_scaled(lambda p: 2.0, lambda p: 0.5), "w_h:ratio:2&theta:ratio:½"),
    "u from θ[1:] (shifted slice)": (
        lambda p: (p.delta * np.outer(p.x_bar, (p.theta * np.append(p.dsh, 1.0))[1:]), right(p)[1]),
        "w_h:columns_shifted:+1",
    ),
    "u rolled by one unit": (
        lambda p: (p.delta * np.outer(p.x_bar, np.roll(p.u, 1)), right(p)[1]),
        "w_h:columns_shifted:-1",
    ),
    "x̄ shifted down a row": (
        lambda p: (p.delta * np.outer(np.roll(p.x_bar, 1), p.u), right(p)[1]),
        "w_h:rows_shifted:-1",
    ),
    "u summed over units (wrong axis)": (
        lambda p: (p.delta * np.outer(p.x_bar, np.full(p.u.shape, p.u.sum())), right(p)[1]),
        "w_h:columns_equal",
    ),
    "u averaged over units (wrong axis)": (
        lambda p: (p.delta * np.outer(p.x_bar, np.full(p.u.shape, p.u.mean())), right(p)[1]),
        "w_h:columns_equal",
    ),
    "last feature's row left 0": (
        _zero_row(lambda p: len(p.x) - 1),
        "w_h:line:the last feature's row (row d − 1):zero",
    ),
    "first feature's row left 0": (_zero_row(lambda p: 0), "w_h:line:the first feature's row (row 0):zero"),
    "last hidden unit's column left 0": (_last_unit_column, "w_h:line:the last hidden unit (m − 1):zero"),
    "∇θ's last hidden unit left 0": (_last_unit_theta, "theta:line:the last hidden unit (m − 1):zero"),
    "bias row doubled": (_bias_row_doubled, "w_h:line:the bias row (row d):wrong"),
    "θ̃ = θ[:3] (m hard-coded)": (
        lambda p: (p.delta * np.outer(p.x_bar, p.theta[:3] * np.resize(p.dsh, 3)), right(p)[1]),
        "w_h:size:m=3",
    ),
    "x̄ = (x[0], x[1], 1) (d hard-coded)": (
        lambda p: (p.delta * np.outer(np.array([p.x[0], p.x[1], 1.0]), p.u), right(p)[1]),
        "w_h:size:d=2",
    ),
    "h̄ = (h[0], h[1], 1) (m hard-coded)": (
        lambda p: (right(p)[0], p.delta * np.array([p.h_bar[0], p.h_bar[1], 1.0])),
        "theta:size:m=2",
    ),
    "∇θ by forward differences, step 1e-3": (
        lambda p: (right(p)[0], _fd(p, "theta", 1e-3, False)),
        "theta:approximation",
    ),
    "∇θ by forward differences, step 1e-2": (
        lambda p: (right(p)[0], _fd(p, "theta", 1e-2, False)),
        "theta:approximation",
    ),
    "∇w_h by forward differences, step 1e-4": (
        lambda p: (_fd(p, "w_h", 1e-4, False), right(p)[1]),
        "w_h:approximation",
    ),
    "both by central differences, step 1e-3": (
        lambda p: (_fd(p, "w_h", 1e-3, True), _fd(p, "theta", 1e-3, True)),
        "both:approximation",
    ),
}


def problem(rng, d, m, hidden, output):
    """One (x, y, w_h, θ) per sample, pre-activations at least 1e-2 from relu's kink and |pre_y| ≤ 3
    (as graded: grading.problems keeps pre_h and pre_y out of saturation)."""
    while True:
        w_h, theta = rng.normal(0.0, 1.2 / np.sqrt(d + 1), (d + 1, m)), rng.normal(0.0, 1.0, m + 1)
        xs = rng.uniform(-1.5, 1.5, (SAMPLES, d))
        ok = True
        for x in xs:
            p = pieces(x, 0.0, w_h, theta, hidden, output)
            if np.min(np.abs(p.pre_h)) < 1e-2 or not 1e-2 <= abs(p.h_bar @ theta) <= 3.0:
                ok = False
        if ok:
            return [(x, float(rng.uniform(-0.5, 1.2)), w_h, theta) for x in xs]


def _jitter(rng, a):
    return None if a is None else np.asarray(a, float) * (1 + NOISE * EPS * rng.normal(size=np.shape(a)))


def observations(rng, mistake, hidden, output) -> list[Observation]:
    kw = dict(hidden=hidden, output=output)
    out = []
    for d, m in SHAPES:
        for x, y, w_h, theta in problem(rng, d, m, hidden, output):
            try:
                g = mistake(pieces(x, y, w_h, theta, hidden, output))
            except (ValueError, IndexError):  # size-dependent code that raises: no result
                g = (None, None)
            ref = formulas.gradients(x, y, w_h, theta, **kw)
            scale = gradient_scale(x, y, w_h, theta, **kw)
            observed = tuple(_jitter(rng, b) for b in g)
            out.append(Observation(d, m, observed, (ref.w_h, ref.theta), tuple(scale), (x, y, w_h, theta), kw))
    return out


def _right_everywhere(ob: Observation) -> bool:
    return all(
        o is not None and np.shape(o) == np.shape(r) and not bad_entries(o, r, s).any()
        for o, r, s in zip(ob.observed, ob.reference, ob.scale)
    )


def expected(pattern: str, obs) -> str:
    """The pattern to name: a two-block mistake whose one block is right on every problem (e.g. central
    differences of θ, exact when the loss is quadratic in θ: an identity or relu output) is a one-block
    mistake — as a catalogue mistake equal to the right gradient on its problem is 'equivalent'."""
    blocks = {b: all(_block_right(ob, i) for ob in obs) for i, b in enumerate(("w_h", "theta"))}
    if pattern.startswith("both:"):
        rest = pattern.split(":", 1)[1]
        return f"theta:{rest}" if blocks["w_h"] else f"w_h:{rest}" if blocks["theta"] else pattern
    if "&" in pattern:
        w, t = pattern.split("&")
        return t if blocks["w_h"] else w if blocks["theta"] else pattern
    return pattern


def _block_right(ob: Observation, i: int) -> bool:
    o, r, s = ob.observed[i], ob.reference[i], ob.scale[i]
    return o is not None and np.shape(o) == np.shape(r) and not bad_entries(o, r, s).any()


class Power(NamedTuple):
    cases: int
    scored: int
    top1: int
    equivalent: int  # the mistake was right on every problem of its case: nothing to name
    controls: int
    false_patterns: int  # right gradients on which a pattern was named
    per_mistake: dict  # name → [scored, top1]
    misses: tuple  # (mistake, hidden, output, named first)
    seconds: float

    @property
    def rate(self) -> float:
        return self.top1 / self.scored if self.scored else 1.0


def measure(cases: int = 280, seed: int = 0) -> Power:
    rng, start = np.random.default_rng(seed), time.perf_counter()
    names, acts = list(MISTAKES), list(ACT)
    per = {n: [0, 0] for n in names}
    scored = top1 = equivalent = false = 0
    misses = []
    for k in range(cases):
        name = names[k % len(names)]  # every mistake equally often
        hidden, output = acts[rng.integers(len(acts))], acts[rng.integers(len(acts))]
        false += bool(structural_patterns(observations(rng, right, hidden, output)))
        obs = observations(rng, MISTAKES[name][0], hidden, output)
        if all(_right_everywhere(ob) for ob in obs):
            equivalent += 1
            continue
        found = structural_patterns(obs)
        want = expected(MISTAKES[name][1], obs)
        scored += 1
        per[name][0] += 1
        hit = bool(found) and found[0].id == want
        top1 += hit
        per[name][1] += hit
        if not hit and len(misses) < 20:
            misses.append((name, hidden, output, want, found[0].id if found else "nothing"))
    return Power(cases, scored, top1, equivalent, cases, false, per, tuple(misses), time.perf_counter() - start)


def markdown(p: Power, seed: int = 0) -> str:
    out = [
        HEADING,
        "",
        f"{p.cases} generated cases (seed {seed}; tests/structural_mistakes.py, independent of the catalogue and of "
        f"gradcheck.model.formulas): a structural mistake, an activation pair drawn per layer, and one random problem "
        f"per graded shape (d, m) ∈ {{{', '.join(f'({d}, {m})' for d, m in SHAPES)}}} with {SAMPLES} samples each; "
        f"observed gradients jittered by {NOISE:g}·eps ({p.seconds:.1f} s).",
        "",
        f"- **top-1 (the first pattern named is the generated one): {p.top1}/{p.scored} = {100 * p.rate:.1f} %**; "
        f"equivalent (right on every problem of the case, nothing to name): {p.equivalent}; a two-block mistake "
        "whose one block is right on every problem is expected as a one-block one",
        f"- controls (right gradients, the same jitter, one per case): {p.controls - p.false_patterns}/{p.controls} "
        f"with no pattern named ({p.false_patterns} false patterns)",
        "",
        "| mistake | expected pattern | scored | top-1 |",
        "|---|---|---|---|",
    ]
    out += [f"| {n} | `{MISTAKES[n][1]}` | {s} | {t} |" for n, (s, t) in p.per_mistake.items()]
    if p.misses:
        out += ["", "Misses (mistake, hidden, output, expected, named first):", ""] + [f"- {m}" for m in p.misses]
    return "\n".join(out) + "\n"


def update_report(path: Path, section: str) -> None:
    """Replace (or append) the section in ``path``, keeping everything before it."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    head = text.split(HEADING)[0].rstrip("\n")
    path.write_text((head + "\n\n" if head else "") + section, encoding="utf-8")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 560
    power = measure(n)
    update_report(Path(__file__).resolve().parents[1] / "reports" / "diagnosis.md", markdown(power))
    print(markdown(power))
