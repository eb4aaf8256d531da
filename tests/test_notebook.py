"""Notebook submissions: an .ipynb is graded like a .py made of its code cells, in order, with
IPython syntax (magics, shell escapes, help lines) dropped and said in the feedback.  Reading a
notebook is data only: nothing in it runs outside the sandbox."""

from __future__ import annotations

import ast
import json
import os
import stat
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")  # the `notebook` extra

from gradcheck.cli.main import main  # noqa: E402
from gradcheck.grading import notebook  # noqa: E402
from gradcheck.grading.grade import grade_many  # noqa: E402

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE / "submissions" / "notebook"


def write_notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(nb, str(path))
    return path


# ------------------------------------------------------------------ conversion
def test_a_cell_that_is_python_is_kept_verbatim():
    cell = 'TEMPLATE = """\n%d items\n!important\n"""\nx = 10 % 3'
    script = notebook.convert([cell])
    assert cell in script.source and script.notes == ()


def test_magics_and_shell_escapes_become_pass_at_their_indentation():
    cell = "%matplotlib inline\nfor z in range(2):\n    %time f(z)\nfiles = !ls\nx = %timeit -o f(1)\nnp.dot?\ny = 1"
    script = notebook.convert([cell])
    body = script.source.split("\n", 1)[1].rstrip("\n").split("\n")
    assert body == ["pass", "for z in range(2):", "    pass", "pass", "pass", "pass", "y = 1"]
    ast.parse(script.source)
    assert "cell 1: 3 IPython magics dropped (%matplotlib, %time, %timeit)" in script.notes
    assert "cell 1: 1 shell command dropped (!ls)" in script.notes and "cell 1: 1 help line dropped" in script.notes


def test_a_shell_escape_continued_over_lines_is_dropped_whole():
    script = notebook.convert(["!pip install \\\n    numpy \\\n    scipy\nimport numpy as np"])
    assert script.source.split("\n")[1:5] == ["pass", "", "", "import numpy as np"]
    ast.parse(script.source)


def test_cell_magics():
    script = notebook.convert(["%%capture\nx = 1", "%%writefile helper.py\ndef f(): pass", "%%time\ny = x + 1"])
    ast.parse(script.source)
    assert "x = 1" in script.source and "y = x + 1" in script.source and "helper" not in script.source
    assert script.notes[1:] == (
        "cell 1: the cell magic %%capture was dropped; its body was kept",
        "cell 2: a %%writefile cell is not Python and was skipped",
        "cell 3: the cell magic %%time was dropped; its body was kept",
    )


def test_the_notes_carry_no_text_the_student_chose():
    hostile = ["%$(curl evil)\n!`rm -rf ~`\n%%%%\n%\u202emagic", "%%<script>alert(1)</script>\nx"]
    script = notebook.convert(hostile)
    for note in script.notes:
        assert all(ch.isalnum() or ch in " _%!.,:;()'…" for ch in note.replace("IPython", "")), note
    assert any("…" in note for note in script.notes)


def test_a_cell_still_broken_after_dropping_is_kept_for_the_sandbox_to_report():
    script = notebook.convert(["%time x = \ndef broken(:\n    pass"])
    assert "def broken(:" in script.source  # the SyntaxError is the student's, reported like a .py's


# ---------------------------------------------------------------------- reading
def test_reading_executes_nothing(tmp_path):
    canary = tmp_path / "ran"
    path = write_notebook(tmp_path / "nb.ipynb", f"open({str(canary)!r}, 'w').write('executed')", "!touch {canary}")
    script = notebook.read(path)
    assert not canary.exists() and str(canary) in script.source


def test_markdown_cells_count_in_the_cell_numbers():
    script = notebook.read(NOTEBOOKS / "sigmoid.ipynb")
    assert script.cells == 8 and "# --- cell 2 ---" in script.source and "# --- cell 1 ---" not in script.source
    assert "cell 3: 2 shell commands dropped (!pip, !ls)" in script.notes


def test_not_a_notebook_is_refused_with_a_message(tmp_path):
    with pytest.raises(notebook.NotebookError, match="could not be read as a Jupyter notebook"):
        notebook.read(NOTEBOOKS / "not_a_notebook.ipynb")
    for name, text in (("list", json.dumps([1, 2])), ("deep", "[" * 200_000), ("binary", "\x00\xff" * 100)):
        (tmp_path / f"{name}.ipynb").write_text(text)
        with pytest.raises(notebook.NotebookError):
            notebook.read(tmp_path / f"{name}.ipynb")


def test_hostile_cells_convert_without_raising():
    for cell in ("(" * 100_000, "\x00%x\n!y", "def f():\n" + "    " * 5000 + "%m", "\\\n" * 1000):
        notebook.convert([cell])  # whatever is left is the sandbox's SyntaxError to report


def test_the_temporary_script_is_private_and_removed():
    with notebook.as_script(NOTEBOOKS / "sigmoid.ipynb") as (script, notes):
        assert stat.S_IMODE(os.stat(script).st_mode) == 0o600 and notes
        folder = script.parent
    assert not folder.exists()
    with notebook.as_script(HERE / "submissions" / "correct" / "sigmoid.py") as (script, notes):
        assert script == HERE / "submissions" / "correct" / "sigmoid.py" and notes == ()


# ---------------------------------------------------------------------- grading
@pytest.fixture(scope="module")
def graded():
    files = [NOTEBOOKS / f"{n}.ipynb" for n in ("sigmoid", "sign_flip", "not_a_notebook")]
    return {Path(r.path).stem: r for r in grade_many(files, jobs=2)}


def test_a_correct_notebook_with_magics_and_a_plot_gets_full_marks(graded):
    """Its cells import matplotlib and plot (headless in the sandbox), pip install and time things."""
    pytest.importorskip("matplotlib")  # the plot cell imports it (the `test` extra installs it)
    r = graded["sigmoid"]
    assert (r.status, r.score) == ("graded", r.max_score), [(c.name, c.message) for c in r.checks if not c.passed]
    assert r.notes[0].startswith("graded the notebook's code cells in order")
    assert "cell 2: 2 IPython magics dropped (%matplotlib, %load_ext)" in r.notes
    assert "cell 7: a %%bash cell is not Python and was skipped" in r.notes
    assert "2 cells" not in r.output and "9 cells" in r.output  # its last cell ran, in the sandbox


def test_a_buggy_notebook_is_diagnosed_like_a_py(graded):
    r = graded["sign_flip"]
    assert r.status == "graded" and 0 < r.score < r.max_score
    assert "sign_flipped" in {m for m, _ in r.diagnosis}


def test_an_unreadable_notebook_scores_nothing_and_says_why(graded):
    r = graded["not_a_notebook"]
    assert (r.status, r.score) == ("invalid", 0) and "could not be read as a Jupyter notebook" in r.message
    assert all(c.message.startswith("not run") for c in r.checks)


def test_without_nbformat_the_message_says_how_to_get_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "nbformat", None)  # import nbformat → ImportError
    assert not notebook.available()
    with pytest.raises(ImportError, match=r"pip install 'gradcheck\[notebook\]'"):
        notebook.read(NOTEBOOKS / "sigmoid.ipynb")
    code = main(["grade", str(NOTEBOOKS / "sigmoid.ipynb"), "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "needs nbformat: pip install 'gradcheck[notebook]'" in err and "Traceback" not in err
