"""Every catalogue mutant is killed by the properties within ``gradcheck mutants``' default
examples, and the properties that kill them pass the right formulas on the same examples
(same seed: hypothesis draws the same problems).  CI fails the day a property weakens.

The seed is the session's hypothesis seed (fixed in CI, random in dev, printed in the header)."""

import json

import pytest

from gradcheck.mistakes import catalogue as mistakes
from gradcheck.mistakes.mutants import mutants, run_control, run_mutant
from gradcheck.reports.mistakes import mutants_json, mutants_markdown, mutants_table

EXAMPLES = 10  # the default of `gradcheck mutants`
# Every activation in each layer, every mutant non-equivalent on some pair; `gradcheck mutants` runs all 25.
NAMES = ("sigmoid", "tanh", "relu", "identity", "softplus")
PAIRS = [(a, a) for a in NAMES] + [(a, NAMES[(i + 1) % 5]) for i, a in enumerate(NAMES)]
LIKELY_KILLERS = (
    "grad_theta vs autodiff",
    "grad_w_h vs autodiff",
    "gradients on both sides of the kinks vs autodiff",
    "jacobian_column_u vs autodiff",
    "batch gradient = mean of per-sample gradients",
)


@pytest.fixture(scope="module")
def report(request):
    seed = int(request.config.getoption("hypothesis_seed", None) or 0)
    return mutants(examples=EXAMPLES, seed=seed, control=LIKELY_KILLERS, shrink=False, pairs=PAIRS)


@pytest.mark.parametrize("mistake_id", mistakes.ids())
def test_every_mutant_is_killed(report, mistake_id):
    r = next(r for r in report.mutants if r.id == mistake_id)
    bad = [(p.hidden, p.output, p.status) for p in r.pairs if p.status not in ("killed", "equivalent")]
    assert r.killed, f"{mistake_id} (seed {report.seed}): {r.status}; {bad}"
    assert any(p.status == "killed" for p in r.pairs)
    assert r.max_examples <= EXAMPLES


def test_the_right_formulas_pass_every_killing_property_on_the_same_examples(report):
    killers = {k for r in report.mutants for k in r.killers}
    checked = {c.name: c for c in report.control.checks}
    for name in killers - set(checked):  # a killer this test did not foresee: check it too
        checked[name] = run_control(name, examples=EXAMPLES, seed=report.seed, pairs=PAIRS)
    failed = [
        (c.name, [(r.hidden, r.output, r.failure.message) for r in c.runs if r.failure])
        for c in checked.values()
        if not c.passed
    ]
    assert not failed, failed


def test_the_reports_name_every_mutant(report):
    data = json.loads(mutants_json(report))
    assert [m["id"] for m in data["mutants"]] == list(mistakes.ids())
    md, table = mutants_markdown(report).splitlines(), mutants_table(report).splitlines()
    for r, m in zip(report.mutants, data["mutants"]):
        killed = sum(p.status == "killed" for p in r.pairs)
        assert (m["status"], m["killers"], m["pairs_by_status"].get("killed", 0)) == (r.status, list(r.killers), killed)
        first = r.killers[0] if r.killers else "—"
        assert any(line.startswith(f"| {r.id} | {r.status} | ") and f"| {first} |" in line for line in md), r.id
        assert any(line.split()[:2] == [r.id, r.status] for line in table), r.id
        assert f"### {r.id}" in md


def test_a_killed_mutant_comes_with_its_shrunk_example():
    r = run_mutant("bias_dropped_w_h", activation_names=["tanh"], examples=EXAMPLES, seed=0)
    assert r.killed and r.shrunk is not None
    assert r.shrunk.problem["d"] == 1 and r.shrunk.problem["m"] == 1  # shrunk to the smallest network
    assert "expected shape (2, 1), got (1, 1)" in r.shrunk.message


def test_a_mutant_equivalent_on_every_pair_is_not_a_survivor():
    r = run_mutant("missing_output_derivative", activation_names=["identity"], examples=3, seed=0)
    assert r.status == "equivalent" and r.ok and not r.killed


def test_arguments_are_validated_by_name():
    with pytest.raises(ValueError, match="examples"):
        run_mutant("sign_flipped", examples=0)
    with pytest.raises(ValueError, match="activation_names"):
        run_mutant("sign_flipped", activation_names=["softmax"])
    with pytest.raises(ValueError, match="jobs"):
        mutants(jobs=0)
