"""gradcheck: prove the gradient formulas of a one-hidden-layer network right or wrong.

The package is its data flow, one subpackage per stage:

    model → oracles → checking → largescale → general → mistakes → diagnosis → grading → reports → cli

``model`` (shapes, activations, the network, the spec's formulas, SGD); ``oracles``
(reverse-mode autodiff, finite differences, Jacobians); ``checking`` (the tolerance
model, entry scales, hypothesis strategies, the property table, ``verify``);
``largescale`` (every entry of a large gradient, and the directional fast mode);
``general`` (any scalar function's gradient: :func:`check`, :func:`assert_gradient`);
``mistakes`` (the catalogue of wrong formulas, mutants, sensitivity); ``diagnosis``
(naming a wrong gradient's mistake); ``grading`` (untrusted submissions in a sandbox);
``reports`` (results → text); ``cli`` (the ``gradcheck`` command).

The names below are the public API; everything else may change between releases.
"""

from gradcheck.checking.scale import gradient_scale
from gradcheck.checking.tolerance import Comparison, compare, compare_gradients
from gradcheck.checking.verify import VerifyReport, verify
from gradcheck.diagnosis.diagnose import Diagnosis, diagnose
from gradcheck.general.check import assert_gradient, check
from gradcheck.general.report import GradientReport
from gradcheck.largescale.directional import FastCheck, fast_check, network_fast_check
from gradcheck.largescale.full import FullCheck, check_gradient, check_gradient_blackbox
from gradcheck.model.activations import ACTIVATIONS, Activation
from gradcheck.model.formulas import Gradients, batch_gradients, gradients
from gradcheck.model.network import Forward, forward, loss
from gradcheck.model.shapes import Problem, validate

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "Comparison",
    "Diagnosis",
    "FastCheck",
    "Forward",
    "FullCheck",
    "GradientReport",
    "Gradients",
    "Problem",
    "VerifyReport",
    "__version__",
    "assert_gradient",
    "batch_gradients",
    "check",
    "check_gradient",
    "check_gradient_blackbox",
    "compare",
    "compare_gradients",
    "diagnose",
    "fast_check",
    "forward",
    "gradient_scale",
    "gradients",
    "loss",
    "network_fast_check",
    "validate",
    "verify",
]
