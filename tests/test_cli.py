"""The rough edges a new user hits first: options checked before any work (exit 2, one line, no
traceback), files that are not submissions, two files with the same name, --version, help text
without markup, and a progress bar with a count and the time left."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gradcheck.cli import grade as cli_grade
from gradcheck.cli.main import build_parser, main
from gradcheck.grading.files import collect_paths, display_names, file_stems
from gradcheck.reports.progress import Bar, time_left

HERE = Path(__file__).resolve().parent
SUBS = HERE / "submissions"
CORRECT = SUBS / "correct" / "sigmoid.py"


def usage_error(argv: list[str], capsys) -> str:
    """The command must exit 2 with exactly one line on stderr and no traceback; that line."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    return err.strip().splitlines()[-1]


@pytest.fixture
def no_grading(monkeypatch):
    """Any grading would be a failure: the options must be refused first."""

    def refuse(*args, **kwargs):
        raise AssertionError("graded before the options were checked")

    monkeypatch.setattr("gradcheck.grading.grade.grade_many", refuse)


@pytest.mark.parametrize(
    "out, message",
    [
        ("/dev/null/x", "--out /dev/null/x: cannot create this folder (/dev/null is not a folder)"),
        (str(CORRECT), f"--out {CORRECT}: expected a folder, got a file"),
    ],
)
def test_out_is_checked_before_grading(capsys, no_grading, out, message):
    err = usage_error(["grade", str(CORRECT), "--out", out], capsys)
    assert err == f"gradcheck grade: error: {message}"


def test_a_usage_error_leaves_no_out_folder_behind(tmp_path, capsys, no_grading):
    usage_error(["grade", str(tmp_path / "missing.py"), "--out", str(tmp_path / "a" / "b")], capsys)
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("command", [["verify"], ["mutants"], ["sensitivity"], ["accuracy"]])
def test_out_is_checked_before_the_long_commands(capsys, monkeypatch, command):
    monkeypatch.setattr("gradcheck.checking.verify.verify", lambda **kw: pytest.fail("ran"))
    err = usage_error([*command, "--out", "/dev/null/x"], capsys)
    assert err.startswith(f"gradcheck {command[0]}: error: --out /dev/null/x: cannot create this folder")


def test_a_file_that_is_not_a_submission_is_refused(tmp_path, capsys, no_grading):
    notes = tmp_path / "notes.txt"
    notes.write_text("def forward_pass(): pass\n")
    err = usage_error(["grade", str(notes), "--out", str(tmp_path / "out")], capsys)
    assert "expected a Python file (.py) or a Jupyter notebook (.ipynb)" in err and "notes.txt" in err
    (tmp_path / "empty").mkdir()
    err = usage_error(["grade", str(tmp_path / "empty"), "--out", str(tmp_path / "out")], capsys)
    assert "no .py or .ipynb files found in" in err


def test_a_missing_contract_file_is_said_to_be_missing(tmp_path, capsys, no_grading):
    err = usage_error(["grade", str(CORRECT), "--contract", "nope.py", "--out", str(tmp_path)], capsys)
    assert err == "gradcheck grade: error: --contract nope.py: no such file (expected ftml or an adapter .py file)"
    err = usage_error(["grade", str(CORRECT), "--contract", str(tmp_path), "--out", str(tmp_path)], capsys)
    assert "not a file" in err


def test_folders_expand_to_py_and_ipynb_skipping_copies(tmp_path):
    for name in ("b.py", "a.ipynb", "sub/c.py", ".ipynb_checkpoints/a-checkpoint.ipynb", "__pycache__/x.py", "d.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert [p.relative_to(tmp_path).as_posix() for p in collect_paths([tmp_path])] == ["a.ipynb", "b.py", "sub/c.py"]


def test_identical_basenames_are_named_by_their_relative_paths():
    assert display_names(["x/a/hw.py", "x/b/hw.py", "x/b/other.py"]) == ["a/hw.py", "b/hw.py", "other.py"]
    assert display_names(["one.py", "two.ipynb"]) == ["one.py", "two.ipynb"]
    assert file_stems(["x/a/hw.py", "x/b/hw.py", "x/a b$.py"]) == ["a_hw", "b_hw", "a_b"]
    assert file_stems(["x/a/hw.py", "x/b/hw.py", "hw.ipynb"]) == ["x_a_hw", "x_b_hw", "hw"]  # relative to ./
    assert file_stems(["x/hw.py", "y/hw.py", "x_hw.py"])[2] == "x_hw-2"  # still distinct


def test_two_hw_py_are_two_distinct_rows_and_files(tmp_path, capsys):
    for folder in ("alice", "bob"):
        (tmp_path / "subs" / folder).mkdir(parents=True)
        shutil.copy(CORRECT, tmp_path / "subs" / folder / "hw.py")
    assert main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--quiet", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.splitlines() if "graded" in line and "/100" in line]
    assert rows == ["alice/hw.py", "bob/hw.py"]
    feedback = sorted(p.name for p in (tmp_path / "out" / "feedback").iterdir())
    assert feedback == ["alice_hw.html", "alice_hw.md", "bob_hw.html", "bob_hw.md"]


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and re.fullmatch(r"gradcheck \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def _help(parser) -> str:
    return parser.format_help()


def test_help_has_no_markup_and_every_command_a_line_with_its_time():
    parser = build_parser()
    top = _help(parser)
    sub = next(a for a in parser._subparsers._group_actions if a.choices)  # argparse keeps them here
    texts = [top] + [_help(p) for p in sub.choices.values()]
    for text in texts:
        for markup in ("``", ":func:", ":class:", ":mod:", ".. "):
            assert markup not in text, (markup, text[:300])
    for name, action in ((a.dest, a) for a in sub._choices_actions):
        assert action.help and "\n" not in action.help, name
        assert re.search(r"~\d", action.help), f"{name}: no usual run time in {action.help!r}"
        assert name in top
    assert set(sub.choices) >= {"verify", "mutants", "sensitivity", "accuracy", "grade", "autograder", "bench"}


def test_the_installed_command_runs():
    proc = subprocess.run([sys.executable, "-m", "gradcheck", "--help"], capture_output=True, text=True, cwd=HERE)
    assert proc.returncode == 0 and "autograder" in proc.stdout and "``" not in proc.stdout


# ----------------------------------------------------------------- progress
def test_time_left():
    assert time_left(0, 10, 5.0) == "" and time_left(10, 10, 5.0) == ""
    assert time_left(5, 10, 5.0) == "~5 s left"
    assert time_left(1, 100, 60.0) == "~99 min left"


def test_bar_in_a_log_writes_a_line_each_tenth():
    stream = io.StringIO()
    bar = Bar(50, stream=stream, width=10)
    for i in range(50):
        bar.step(f"item {i}")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11 and lines[0].startswith("[..........] 1/50")
    assert lines[-1].startswith("[##########] 50/50") and lines[-1].endswith("item 49") and "left" not in lines[-1]
    assert all("s left" in line for line in lines[1:-1])


def test_bar_on_a_terminal_rewrites_its_line():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    bar = Bar(3, stream=stream, width=3)
    for _ in range(3):
        bar.step()
    text = stream.getvalue()
    assert text.count("\r\x1b[K") == 3 and text.endswith("\n") and text.count("\n") == 1 and "3/3" in text


def test_verify_shows_count_and_time_left(tmp_path, capsys):
    assert main(["verify", "--activations", "sigmoid", "--examples", "1", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("[") and re.search(r"\] 1/\d+ ", err[0]) and "s left" in err[1]
    total = int(re.search(r"/(\d+)", err[0]).group(1))
    assert re.search(rf"\] {total}/{total} ", err[-1])


def test_grade_parser_and_autograder_share_the_grading_options():
    parser = build_parser()
    grade = parser.parse_args(["grade", "x.py", "--timeout", "3", "--activation", "relu"])
    auto = parser.parse_args(["autograder", "gradescope", "--timeout", "3", "--activation", "relu"])
    for field in ("timeout", "memory_mb", "activation", "contract", "seed", "isolation"):
        assert getattr(grade, field) == getattr(auto, field), field
    assert cli_grade.check_contract("ftml") is None


def test_folders_skip_symlinks(tmp_path):
    """Inside a folder of submissions a symlink is the student's: never followed out of it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("KEY = 1\n")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "hw.py").write_text("")
    (subs / "link.py").symlink_to(outside / "secret.py")
    (subs / "dir").symlink_to(outside, target_is_directory=True)
    assert collect_paths([subs]) == [subs / "hw.py"]
    assert collect_paths([subs / "link.py"]) == [subs / "link.py"]  # named by the instructor: taken as given
