"""Hypothesis profiles and a printed, honoured seed.

Profiles set examples per test; the property suite runs every property once per
(hidden, output) pair, 25 tests per property: ``dev`` (default) 4 examples, 100
per property; ``ci`` (chosen when the environment has CI=true) 40, 1000 per
property; ``thorough`` 200, 5000 per property.  Pick one with
``--hypothesis-profile=NAME``.  The seed is fixed in CI (0), random elsewhere,
overridable with ``--hypothesis-seed=N`` or GRADCHECK_SEED=N, and always printed
in the report header so any failure can be replayed.
"""

import os
import random

import pytest
from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", max_examples=4, **_COMMON)
settings.register_profile("ci", max_examples=40, **_COMMON)
settings.register_profile("thorough", max_examples=200, **_COMMON)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if hasattr(config, "workerinput"):  # a pytest-xdist worker draws with the controller's seed
        config.option.hypothesis_seed = config.workerinput["gradcheck_seed"]
        return
    if config.getoption("hypothesis_seed", None) is None:
        env = os.environ.get("GRADCHECK_SEED")
        in_ci = os.environ.get("CI", "").lower() == "true"
        config.option.hypothesis_seed = int(env) if env else 0 if in_ci else random.randrange(2**32)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):  # pytest-xdist: hand the seed to every worker
    node.workerinput["gradcheck_seed"] = node.config.option.hypothesis_seed


def pytest_report_header(config):
    seed = config.getoption("hypothesis_seed")
    profile = settings.get_current_profile_name()
    return f"gradcheck: hypothesis profile {profile!r}, seed {seed} (replay: --hypothesis-seed={seed})"
