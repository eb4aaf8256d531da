"""A catalogue of wrong formula sets: the mistakes the property tests must all kill.

Each :class:`Mistake` is a documented wrong variant of :mod:`gradcheck.model.formulas`,
written in the spec's notation, with the equation and the Jacobian factor of eq.
(3)/(7) it corrupts.  Its ``overrides`` are small functions with the signatures
of the right ones (defined in :mod:`gradcheck.mistakes.wrong_formulas`); :func:`formula_set`
clones the formulas module and swaps them in, so that a wrong ``u`` also changes
``grad_w_h``, ``jacobian_w_h``, ``gradients`` and ``batch_gradients`` — exactly
what a student's code that gets u wrong would do.

``equivalent_when(hidden, output)`` names the activation pairs on which a mistake
is *the same function* as the right formulas (e.g. σ'(pre_y) dropped when σ_y is
the identity): there no test can kill it, and ``tests/test_mistakes.py`` proves
the claim by comparing every public function.  Some mistakes also coincide on
particular examples only (``entries_scrambled`` when m = 1, a batch sum when
n = 1); ``equivalent_note`` says so.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import NamedTuple

from gradcheck.mistakes import wrong_formulas as W
from gradcheck.model import formulas

__all__ = ["CATALOGUE", "LOGISTIC_ROUNDING", "REQUIRED", "Mistake", "changes", "formula_set", "get", "ids"]


class Mistake(NamedTuple):
    id: str
    description: str  # the wrong formula, in the spec's notation
    equation: str  # the equation(s) it corrupts
    factor: str  # the Jacobian factor of eq. (3)/(7) it implicates
    hint: str  # student-facing: "x was used instead of x̄"
    overrides: Mapping[str, Callable]
    equivalent_when: Callable[[str, str], bool] | None = None  # (hidden, output) → same function
    equivalent_note: str = ""


def _never(hidden, output):
    return False


def _layers(hidden=None, output=None, both=False):
    """A predicate: hidden ∈ ``hidden`` and/or output ∈ ``output``."""

    def when(h, o):
        hit_h, hit_o = hidden is not None and h in hidden, output is not None and o in output
        return (hit_h and hit_o) if both else (hit_h or hit_o)

    return when


_ID_RELU = ("identity", "relu")  # σ'(σ(z)) = σ'(z) and σ'(z)² = σ'(z) for these (away from the kink)
_SIGMA_PRIME_1 = "σ' = 1 for the identity"
_SIGMA_OF_SIGMA = "σ'(σ(z)) = σ'(z) for identity and relu"

# fmt: off
CATALOGUE: tuple[Mistake, ...] = (
    # ---- the first catalogue: the mistakes students make most --------------
    Mistake("missing_output_derivative", "∂ŷ/∂pre_y = 1: σ'(pre_y) dropped from eq. (3)/(7)", "(5), (6), (11)",
            "∂ŷ/∂pre_y = σ'(pre_y)", "σ'(pre_y) was left out", dict(dy_hat_dpre_y=W.dy_hat_dpre_y_one),
            _layers(output=("identity",)), _SIGMA_PRIME_1),
    Mistake("missing_hidden_derivative", "∂h/∂pre_h = I: D dropped, u = θ̃", "(8)-(11)",
            "∂h/∂pre_h = D", "D = diag(σ'(pre_h)) was left out (u = θ̃ instead of θ̃ D)",
            dict(dh_dpre_h=W.dh_dpre_h_identity, u=W.u_without_D), _layers(hidden=("identity",)), _SIGMA_PRIME_1),
    Mistake("derivative_at_activation", "σ' evaluated at the activations: σ'(ŷ) for σ'(pre_y), σ'(h) for σ'(pre_h)",
            "(5), (8)-(11)", "∂ŷ/∂pre_y = σ'(pre_y) and ∂h/∂pre_h = D",
            "σ' was evaluated at h and ŷ instead of pre_h and pre_y",
            dict(dy_hat_dpre_y=W.dy_hat_dpre_y_at_y_hat, dh_dpre_h=W.dh_dpre_h_at_h, u=W.u_at_h),
            _layers(_ID_RELU, _ID_RELU, both=True), _SIGMA_OF_SIGMA),
    Mistake("theta_tilde_wrong_slice", "θ̃ = θ[1:] instead of θ[:-1] (drops the first entry, keeps the bias)",
            "(7)-(11)", "∂pre_y/∂h = θ̃", "θ̃ was taken as θ[1:] instead of θ[:-1] (the bias is last)",
            dict(theta_tilde=W.theta_tilde_from_second), _never),
    Mistake("jacobian_not_transposed", "∇w_h returned as eq. (10), (ŷ − y) σ'(pre_y) uᵀ x̄ ∈ R^{m×(d+1)}",
            "(11)", "— (∇ = Jacobianᵀ, eq. 10 → 11)", "the Jacobian of eq. (10) was returned, not its transpose",
            dict(grad_w_h=W.grad_w_h_untransposed), _never),
    Mistake("entries_scrambled", "∇w_h = reshape(uᵀ x̄, (d+1, m)): right shape, entries in the wrong places",
            "(11)", "— (∇ = Jacobianᵀ, eq. 10 → 11)", "eq. (10) was reshaped instead of transposed",
            dict(grad_w_h=W.grad_w_h_reshaped), _never, "equal to the right ∇w_h when m = 1"),
    Mistake("sign_flipped", "∂l/∂ŷ = y − ŷ (both blocks ×−1)", "(4)", "∂l/∂ŷ = ŷ − y",
            "the residual was written y − ŷ instead of ŷ − y", dict(dl_dy_hat=W.dl_dy_hat_flipped), _never),
    Mistake("loss_factor_two", "∂l/∂ŷ = 2(ŷ − y): the ½ of eq. (1) forgotten (both blocks ×2)", "(4)",
            "∂l/∂ŷ = ŷ − y", "the ½ in l = ½(ŷ − y)² was forgotten", dict(dl_dy_hat=W.dl_dy_hat_doubled), _never),
    Mistake("bias_dropped_theta", "∇θ = (ŷ − y) σ'(pre_y) hᵀ ∈ R^m: h instead of h̄", "(6)", "∂pre_y/∂θ = h̄",
            "h was used instead of h̄ = (h, 1)", dict(dpre_y_dtheta=W.dpre_y_dtheta_no_bias), _never),
    Mistake("bias_dropped_w_h", "∇w_h = (ŷ − y) σ'(pre_y) xᵀ u ∈ R^{d×m}: x instead of x̄", "(11)",
            "∂pre_h/∂c = M_{n_c}", "x was used instead of x̄ = (x, 1)", dict(grad_w_h=W.grad_w_h_no_bias), _never),
    Mistake("bias_prepended", "x̄ = (1, x) and h̄ = (1, h) in the backward formulas, while the spec appends the 1",
            "(6), (8)-(11)", "∂pre_y/∂θ = h̄ and ∂pre_h/∂c = M_{n_c}",
            "the 1 was put first (x̄ = (1, x), h̄ = (1, h)); the spec puts it last",
            dict(dpre_y_dtheta=W.dpre_y_dtheta_prepended, dpre_h_dc=W.dpre_h_dc_prepended,
                 jacobian_column_u=W.jacobian_column_u_prepended, jacobian_w_h=W.jacobian_w_h_prepended,
                 grad_w_h=W.grad_w_h_prepended), _never),
    # ---- more mistakes students make ----------------------------------------
    Mistake("bias_first_convention", "the whole backward pass with the bias first: x̄ = (1, x), h̄ = (1, h), θ̃ = θ[1:]",
            "(6)-(11)", "∂pre_y/∂θ = h̄, ∂pre_y/∂h = θ̃ and ∂pre_h/∂c = M_{n_c}",
            "the bias was taken to be first (x̄ = (1, x), h̄ = (1, h), θ̃ = θ[1:]); the spec puts it last",
            dict(dpre_y_dtheta=W.dpre_y_dtheta_prepended, dpre_h_dc=W.dpre_h_dc_prepended,
                 jacobian_column_u=W.jacobian_column_u_prepended, jacobian_w_h=W.jacobian_w_h_prepended,
                 grad_w_h=W.grad_w_h_prepended, theta_tilde=W.theta_tilde_from_second), _never),
    Mistake("derivative_at_activation_hidden", "D = diag(σ'(h)) instead of diag(σ'(pre_h))", "(8)-(11)",
            "∂h/∂pre_h = D", "σ' was evaluated at h instead of pre_h",
            dict(dh_dpre_h=W.dh_dpre_h_at_h, u=W.u_at_h), _layers(hidden=_ID_RELU), _SIGMA_OF_SIGMA),
    Mistake("derivative_at_activation_output", "∂ŷ/∂pre_y = σ'(ŷ) instead of σ'(pre_y)", "(5)",
            "∂ŷ/∂pre_y = σ'(pre_y)", "σ' was evaluated at ŷ instead of pre_y",
            dict(dy_hat_dpre_y=W.dy_hat_dpre_y_at_y_hat), _layers(output=_ID_RELU), _SIGMA_OF_SIGMA),
    Mistake("sign_flipped_theta_only", "∇θ = (y − ŷ) σ'(pre_y) h̄ᵀ; ∇w_h right", "(3), (6)", "∂l/∂ŷ = ŷ − y",
            "∇θ uses y − ŷ (∇w_h uses ŷ − y)", dict(jacobian_theta=W.jacobian_theta_flipped), _never),
    Mistake("sign_flipped_w_h_only", "∇w_h = (y − ŷ) σ'(pre_y) x̄ᵀ u (and eq. 10); ∇θ right", "(10), (11)",
            "∂l/∂ŷ = ŷ − y", "∇w_h uses y − ŷ (∇θ uses ŷ − y)",
            dict(jacobian_w_h=W.jacobian_w_h_flipped, grad_w_h=W.grad_w_h_flipped), _never),
    Mistake("missing_residual", "∂l/∂ŷ = 1: the factor (ŷ − y) left out", "(4)", "∂l/∂ŷ = ŷ − y",
            "the factor (ŷ − y) was left out", dict(dl_dy_hat=W.dl_dy_hat_one), _never, "equal when ŷ − y = 1"),
    Mistake("loss_derivative_halved", "∂l/∂ŷ = ½(ŷ − y): the ½ kept, the exponent's 2 not brought down", "(4)",
            "∂l/∂ŷ = ŷ − y", "d/dŷ ½(ŷ − y)² was taken as ½(ŷ − y)", dict(dl_dy_hat=W.dl_dy_hat_halved), _never),
    Mistake("sigmoid_derivative_formula", "σ'(z) = σ(z)(1 − σ(z)) for every σ (the sigmoid's identity)",
            "(5), (8)-(11)", "∂ŷ/∂pre_y = σ'(pre_y) and ∂h/∂pre_h = D",
            "σ'(z) was computed as σ(z)(1 − σ(z)), which holds only for the sigmoid",
            dict(dy_hat_dpre_y=W.dy_hat_dpre_y_logistic_form, dh_dpre_h=W.dh_dpre_h_logistic_form,
                 u=W.u_logistic_form), _layers(("sigmoid",), ("sigmoid",), both=True),
            "right for sigmoid layers (modelled with the accurate σ' there: σ(1 − σ) itself loses precision "
            "for |pre| ≳ 10, which the strict tolerance flags; gradcheck.diagnosis recognises that pattern)"),
    Mistake("sigmoid_derivative_hardcoded", "σ' = sigmoid' whatever the layer's σ", "(5), (8)-(11)",
            "∂ŷ/∂pre_y = σ'(pre_y) and ∂h/∂pre_h = D", "the sigmoid's derivative was used for a non-sigmoid layer",
            dict(dy_hat_dpre_y=W.dy_hat_dpre_y_sigmoid, dh_dpre_h=W.dh_dpre_h_sigmoid, u=W.u_sigmoid),
            _layers(("sigmoid",), ("sigmoid",), both=True), "right for sigmoid layers"),
    Mistake("hidden_derivative_of_output_layer", "u = θ̃ ⊙ σ_y'(pre_h): the output layer's σ' in D", "(10), (11)",
            "∂h/∂pre_h = D", "D was built with the output activation's σ', not the hidden one's",
            dict(jacobian_w_h=W.jacobian_w_h_output_sigma, grad_w_h=W.grad_w_h_output_sigma),
            lambda h, o: h == o, "the same function when σ_h = σ_y"),
    Mistake("hidden_derivative_twice", "u = θ̃ ⊙ σ'(pre_h)² (D applied twice)", "(8)-(11)", "∂h/∂pre_h = D",
            "σ'(pre_h) was applied twice", dict(dh_dpre_h=W.dh_dpre_h_squared, u=W.u_D_squared),
            _layers(hidden=_ID_RELU), "σ' ∈ {0, 1} for identity and relu"),
    Mistake("missing_theta_factor", "u = σ'(pre_h): ∂pre_y/∂h = θ̃ dropped", "(7)-(11)", "∂pre_y/∂h = θ̃",
            "the factor θ̃ (∂pre_y/∂h) was left out", dict(dpre_y_dh=W.dpre_y_dh_ones, u=W.u_without_theta), _never),
    Mistake("u_dot_product", "u = θ̃ · σ'(pre_h) (a scalar, dot product) instead of θ̃ ⊙ σ'(pre_h)", "(9)-(11)",
            "∂h/∂pre_h = D", "u was computed as a dot product θ̃·σ'(pre_h) instead of an elementwise product",
            dict(u=W.u_dot), _never, "equal when m = 1"),
    Mistake("pre_activation_for_theta", "∇θ = (ŷ − y) σ'(pre_y) (pre_h, 1)ᵀ: σ_h not applied in h̄", "(3), (6)",
            "∂pre_y/∂θ = h̄", "pre_h was used where h̄ = (σ(pre_h), 1) belongs",
            dict(jacobian_theta=W.jacobian_theta_pre_h), _layers(hidden=("identity",)), "h = pre_h for the identity"),
    Mistake("x_bar_for_theta", "∇θ = (ŷ − y) σ'(pre_y) x̄ᵀ: x̄ instead of h̄", "(3), (6)", "∂pre_y/∂θ = h̄",
            "x̄ was used instead of h̄", dict(jacobian_theta=W.jacobian_theta_x_bar), _never),
    Mistake("bias_zeroed_theta", "h̄ = (h, 0) in eq. (6): ∇θ's bias entry is 0", "(6)", "∂pre_y/∂θ = h̄",
            "h̄ was padded with 0 instead of 1", dict(dpre_y_dtheta=W.dpre_y_dtheta_zero_bias), _never),
    Mistake("bias_zeroed_w_h", "x̄ = (x, 0) in eq. (11): ∇w_h's bias row is 0", "(11)", "∂pre_h/∂c = M_{n_c}",
            "x̄ was padded with 0 instead of 1", dict(grad_w_h=W.grad_w_h_zero_bias), _never),
    Mistake("off_by_one_column", "eq. (9) with u_{n_c − 1} for column n_c (a 1-based index)", "(9)", "∂h/∂pre_h = D",
            "eq. (9) uses u of the previous column", dict(jacobian_column_u=W.jacobian_column_u_shifted), _never,
            "equal when m = 1; ∇w_h itself is right"),
    Mistake("batch_sum", "batch gradient = Σ of per-sample gradients, not their mean", "(1)", "— (mean loss)",
            "the per-sample gradients were summed, not averaged", dict(batch_gradients=W.batch_gradients_sum), _never,
            "equal when n = 1; single-sample gradients are right"),
    Mistake("batch_mean_twice", "batch gradient = mean / n (averaged twice)", "(1)", "— (mean loss)",
            "the batch gradient was divided by n twice", dict(batch_gradients=W.batch_gradients_mean_twice), _never,
            "equal when n = 1; single-sample gradients are right"),
)
# fmt: on

REQUIRED = (
    "missing_output_derivative",
    "missing_hidden_derivative",
    "derivative_at_activation",
    "theta_tilde_wrong_slice",
    "jacobian_not_transposed",
    "entries_scrambled",
    "sign_flipped",
    "loss_factor_two",
    "bias_dropped_theta",
    "bias_dropped_w_h",
    "bias_prepended",
)

# Not a wrong formula: σ'(z) = σ(z)(1 − σ(z)) is right, but loses digits for large |z|.  The tests
# cannot (and must not) kill it; the diagnosis uses it to tell rounding from a mistake.
LOGISTIC_ROUNDING = Mistake(
    "logistic_rounding",
    "σ'(z) = σ(z)(1 − σ(z)) evaluated literally for sigmoid layers",
    "(5), (8)-(11)",
    "∂ŷ/∂pre_y = σ'(pre_y) and ∂h/∂pre_h = D",
    "1 − σ(z) cancels for large |z|",
    dict(dy_hat_dpre_y=W.dy_hat_dpre_y_literal, dh_dpre_h=W.dh_dpre_h_literal, u=W.u_literal),
)

_BY_ID = {m.id: m for m in CATALOGUE}


def ids() -> tuple[str, ...]:
    return tuple(_BY_ID)


def get(mistake: str | Mistake) -> Mistake:
    """Look a mistake up by id; a :class:`Mistake` passes through."""
    if isinstance(mistake, Mistake):
        return mistake
    try:
        return _BY_ID[mistake]
    except (KeyError, TypeError):
        raise ValueError(f"mistake: expected one of {', '.join(_BY_ID)}, got {mistake!r}") from None


def _rebind(fn: types.FunctionType, namespace: dict, name: str) -> types.FunctionType:
    """``fn`` with its global names looked up in ``namespace``; the helpers it needs from
    its own module are copied in and rebound too, so they call the formula set's functions."""

    def names(code):
        yield from code.co_names
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                yield from names(const)

    for n in names(fn.__code__):
        if n not in namespace and n in fn.__globals__:
            helper = fn.__globals__[n]
            namespace[n] = helper  # set first: a recursive helper must not loop
            if isinstance(helper, types.FunctionType) and helper.__globals__ is fn.__globals__:
                namespace[n] = _rebind(helper, namespace, n)
    new = types.FunctionType(fn.__code__, namespace, name, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__, new.__doc__ = fn.__kwdefaults__, fn.__doc__
    new.__module__, new.__qualname__ = namespace["__name__"], name
    return new


def formula_set(mistake: str | Mistake | None, *, base=formulas) -> types.ModuleType:
    """A module-like clone of ``base`` (default :mod:`gradcheck.model.formulas`) with the mistake's overrides.

    Every function of ``base`` is re-created with the clone's namespace as its
    globals, so an override of one function changes every function that calls
    it.  ``None`` gives an unmodified clone (the right formulas).
    """
    m = None if mistake is None else get(mistake)
    module = types.ModuleType(f"{base.__name__}[{m.id if m else 'right'}]", base.__doc__)
    ns = module.__dict__
    ns.update({k: v for k, v in vars(base).items() if k not in ("__name__", "__doc__", "__spec__", "__loader__")})
    for name, value in list(ns.items()):
        if isinstance(value, types.FunctionType) and value.__globals__ is vars(base):
            ns[name] = _rebind(value, ns, name)
    for name, fn in m.overrides.items() if m else ():
        if not callable(getattr(base, name, None)):
            raise ValueError(f"overrides: {m.id} overrides {name!r}, which {base.__name__} does not define")
        ns[name] = _rebind(fn, ns, name)
    return module


def changes(mistake: str | Mistake, function: str = "gradients") -> bool:
    """Whether the mistake reaches ``function`` (it calls an overridden function, directly or not)."""
    m, F = get(mistake), formula_set(mistake)
    seen, todo = set(), [function]
    while todo:
        name = todo.pop()
        if name in m.overrides:
            return True
        fn = getattr(F, name, None)
        if name in seen or not isinstance(fn, types.FunctionType):
            continue
        seen.add(name)
        stack = [fn.__code__]
        while stack:
            code = stack.pop()
            todo += [n for n in code.co_names if n not in seen]
            stack += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    return False
