"""benchmarks/general.py's own claims for gradcheck's columns (no timing, no torch/jax), and its
section replacement in a report."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import general

SCALAR, VECTORIZED = "gradcheck.check", "gradcheck.check (vectorized, per-sample)"


def test_gradcheck_columns_catch_every_bug_and_pass_right_gradients_at_sample_kinks():
    rows = general.rows(lambda s: None, repeats=1, names=[SCALAR], only=3)
    rows += general.rows(lambda s: None, repeats=1, names=[VECTORIZED], only=2)
    assert len(rows) == 3 + 3 + 2 + 3 + 3
    assert {r["case"] for r in rows} >= {"right", "missing 1/n"} and any("×1.01" in r["case"] for r in rows)
    assert any(r["problem"].startswith("MLP relu") and r["expect"] == "pass" for r in rows)
    for r in rows:
        for name, c in r["results"].items():
            assert c["right"], (r["problem"], r["case"], name, c)
            assert c["calls"] > 6 * 21
    md = general.markdown(rows[:8], names=[SCALAR])
    assert md.startswith("\n" + general.HEADING)
    assert "| gradcheck.check | 0 of 5 | 0 of 3 (0) |" in md


def test_replace_section_keeps_the_rest_of_the_report(tmp_path):
    report = tmp_path / "bench.md"
    report.write_text("# Benchmark\n\n## Speed\n\nfast\n", encoding="utf-8")
    general.replace_section(report, "\n## The general API (x)\n\nfirst\n")
    general.replace_section(report, "\n## The general API (x)\n\nsecond\n")
    text = report.read_text(encoding="utf-8")
    assert text == "# Benchmark\n\n## Speed\n\nfast\n\n## The general API (x)\n\nsecond\n"
    report.write_text(text + "\n## Later\n\nkept\n", encoding="utf-8")
    general.replace_section(report, "\n## The general API (x)\n\nthird\n")
    assert report.read_text(encoding="utf-8").endswith("\n## The general API (x)\n\nthird\n\n## Later\n\nkept\n")
