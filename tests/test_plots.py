"""The reports' pictures: the V curve's numbers, drawing from the committed JSON, the link lines
in the Markdown (added once, only for a PNG that exists), and ``gradcheck plots``."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from gradcheck.cli.main import main
from gradcheck.reports import figures, plots
from gradcheck.reports.plots import PICTURES, fd_step_errors, with_picture, write_plots

REPORTS = Path(__file__).resolve().parent.parent / "reports"
sys.path.insert(0, str(REPORTS.parent / "benchmarks"))


def test_the_v_curve_has_its_bottom_near_the_chosen_step():
    steps = np.logspace(-15, -0.5, 88)
    rel, chosen, at_chosen, complex_step = fd_step_errors(steps)
    assert chosen >= np.finfo(float).eps ** (1 / 3)  # ∛eps·max(1, |p_j|)
    assert rel[0] > 1e-3 and rel[-1] > 1e-6  # rounding on the left, truncation on the right
    bottom = steps[np.argmin(rel)]
    assert 1e-7 < bottom < 1e-3 and rel.min() < 1e-9
    assert at_chosen < 1e-8 and complex_step < 1e-14
    left, right = rel[steps < 1e-10], rel[steps > 1e-2]
    assert np.median(left) > 100 * rel.min() and np.all(np.diff(right) > 0)  # the V: down, then up as h²
    assert fd_step_errors(steps)[0].tolist() == rel.tolist()  # deterministic


def test_with_picture_adds_one_line_after_the_first_paragraph():
    md = "# Title\n\nFirst paragraph\nstill first.\n\n| a |\n|---|\n"
    out = with_picture(md, "verify", "fd_step.png")
    assert out.split("\n")[:6] == ["# Title", "", "First paragraph", "still first.", "", f"![{PICTURES['verify'][1]}]"
                                   "(fd_step.png)"]  # fmt: skip
    assert with_picture(out, "verify", "fd_step.png") == out and with_picture(md, "verify", None) == md
    assert with_picture(md, "bench", Path("/x/y/bench.png")).count("](bench.png)") == 1


def test_the_markdown_writers_link_only_a_picture_they_are_given():
    import run

    doc = json.loads((REPORTS / "bench.json").read_text(encoding="utf-8"))
    assert "](bench.png)" not in run.markdown(doc)
    assert run.markdown(doc, picture=REPORTS / "bench.png").count("](bench.png)") == 1


@pytest.fixture
def copied(tmp_path):
    for stem in PICTURES:
        for ext in (".json", ".md"):
            shutil.copy(REPORTS / f"{stem}{ext}", tmp_path / f"{stem}{ext}")
            text = (tmp_path / f"{stem}{ext}").read_text(encoding="utf-8")
            if ext == ".md":  # the committed reports are linked: start from unlinked ones
                lines = [t for t in text.split("\n") if f"]({PICTURES[stem][0]})" not in t]
                (tmp_path / f"{stem}{ext}").write_text("\n".join(lines).replace("\n\n\n", "\n\n"), encoding="utf-8")
    return tmp_path


def test_write_plots_draws_from_the_json_and_links_once(copied):
    pytest.importorskip("matplotlib")
    written = write_plots(copied)
    assert sorted(p.name for p in written) == sorted(
        [*(f"{s}.md" for s in PICTURES), *(p for p, _ in PICTURES.values())]
    )
    for stem, (png, _) in PICTURES.items():
        image = (copied / png).read_bytes()
        assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 20_000
        assert (copied / f"{stem}.md").read_text(encoding="utf-8").count(f"]({png})") == 1
    again = write_plots(copied)
    assert sorted(p.name for p in again) == sorted(p for p, _ in PICTURES.values())  # reports already linked
    assert (copied / "bench.png").read_bytes() == plots.bench_png(json.loads((copied / "bench.json").read_text()))


def test_nothing_is_drawn_or_linked_without_matplotlib(copied, monkeypatch, capsys):
    monkeypatch.setattr(figures, "available", lambda: False)
    before = {p.name: p.read_bytes() for p in copied.iterdir()}
    assert write_plots(copied) == [] and plots.save(copied, "verify") is None
    assert {p.name: p.read_bytes() for p in copied.iterdir()} == before
    assert main(["plots", "--dir", str(copied)]) == 2
    assert 'pip install "gradcheck[report]"' in capsys.readouterr().err


def test_gradcheck_plots_command(copied, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["plots", "--dir", str(copied), "--only", "sensitivity"]) == 0
    assert "sensitivity.png" in capsys.readouterr().out and not (copied / "bench.png").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["plots", "--dir", str(empty)]) == 2


def test_the_committed_pictures_are_there_and_linked():
    for stem, (png, _) in PICTURES.items():
        assert (REPORTS / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (REPORTS / f"{stem}.md").read_text(encoding="utf-8").count(f"]({png})") == 1
