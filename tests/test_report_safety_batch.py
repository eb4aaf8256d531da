"""One student cannot break the batch (issue 10, findings 4 and 5), through the sandbox and the CLI.

A folder holds a correct control, a copy of it under a file name that is not valid UTF-8, a
submission whose messages and keys hold a lone surrogate, and the report-injection submission
under a file name with ESC, OSC 52 and a newline.  ``gradcheck grade`` must exit 0, write every
report (results.json always), give both correct files full marks, and let no control character
or markup reach the reports or the terminal.  Student code runs only in the sandbox.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from test_report_safety import FORBIDDEN, assert_renders_safely, assert_safe_markdown

from gradcheck.cli.main import main

SUBS = Path(__file__).resolve().parent / "submissions"
BAD_UTF8 = os.fsdecode(b"caf\xe9-\xff\xfe.py")  # Latin-1 é and bytes no encoding decodes
HOSTILE_NAME = "\x1b]52;c;cHduZWQ=\x07\x1b[2J\n## forged\x9b.py"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    subs, out, boxes = root / "subs", root / "out", root / "boxes"
    subs.mkdir()
    boxes.mkdir()
    shutil.copyfile(SUBS / "correct" / "sigmoid.py", subs / "control.py")
    shutil.copyfile(SUBS / "correct" / "sigmoid.py", subs / BAD_UTF8)
    shutil.copyfile(SUBS / "hostile" / "surrogate_message.py", subs / "surrogate_message.py")
    shutil.copyfile(SUBS / "hostile" / "report_injection.py", subs / HOSTILE_NAME)
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(stdout), redirect_stderr(stderr):
        mp.setattr(tempfile, "tempdir", str(boxes))
        code = main(["grade", str(subs), "--out", str(out), "--jobs", "2", "--timeout", "20"])
    if code == 3:
        pytest.skip(f"no sandbox on this machine: {stderr.getvalue().strip()}")
    assert os.listdir(boxes) == []
    return code, out, (stdout.getvalue(), stderr.getvalue())


def test_the_batch_completes_and_the_correct_files_get_full_marks(batch):
    code, out, _ = batch
    assert code == 0
    doc = json.loads((out / "results.json").read_bytes().decode("utf-8"))  # strict: valid UTF-8
    by_name = {Path(s["path"]).name: s for s in doc["submissions"]}
    assert len(by_name) == 4, list(by_name)
    assert by_name["control.py"]["score"] == 100 and by_name["control.py"]["status"] == "graded"
    assert by_name["caf\ufffd-\ufffd\ufffd.py"]["score"] == 100  # the non-UTF-8 name, shown replaced
    assert by_name["surrogate_message.py"]["status"] == "graded"
    assert by_name["\ufffd]52;c;cHduZWQ=\ufffd\ufffd[2J\ufffd## forged\ufffd.py"]["status"] == "graded"
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    # results.json, junit.xml, class.csv, class.html; per submission feedback .md and .html, gradescope .json
    assert len(files) == 4 + 3 * 4 and not any(f.endswith(".tmp") for f in files), files
    assert "**Score: 100 / 100**" in (out / "feedback" / "control.md").read_text(encoding="utf-8")


def test_no_control_character_or_markup_reaches_a_report(batch):
    _, out, _ = batch
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8")
            if path.suffix == ".csv":  # CRLF ends a CSV record (RFC 4180): the format's own, one per row
                assert text.count("\r\n") == 1 + 4 == text.count("\n"), text
                text = text.replace("\r\n", "\n")
            assert not FORBIDDEN.search(text), (path.name, repr(FORBIDDEN.search(text)))
    feedback = sorted((out / "feedback").glob("*.md"))
    assert len(feedback) == 4
    for path in feedback:
        text = path.read_text(encoding="utf-8")
        doc = json.loads((out / "gradescope" / f"{path.stem}.json").read_text(encoding="utf-8"))
        score = f"{doc['score']:g} / 100"
        assert_safe_markdown(text, score=score)
        assert_safe_markdown(doc["output"], score=score)
    for path in feedback:  # then rendered, where a CommonMark renderer is installed
        assert_renders_safely(path.read_text(encoding="utf-8"))


def test_nothing_raw_reaches_the_terminal(batch):
    _, _, (out, err) = batch
    for stream in (out, err):
        assert not FORBIDDEN.search(stream), repr(FORBIDDEN.search(stream))
    rows = [line for line in out.splitlines() if re.search(r"\b\d+(\.\d+)?/100\b", line)]
    assert len(rows) == 4, out  # one line per submission: no file name split a row
    assert len([line for line in err.splitlines() if line.startswith("[")]) == 4, err  # the progress bar


def test_a_report_that_cannot_be_rendered_is_said_and_the_rest_written(tmp_path, monkeypatch):
    from gradcheck.reports import grading

    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for name in ("alice.py", "bob.py"):
        shutil.copyfile(SUBS / "correct" / "sigmoid.py", subs / name)
    real = grading.feedback_markdown

    def flaky(r):  # a renderer bug that only bob's result triggers
        if Path(r.path).name == "bob.py":
            raise RuntimeError("renderer bug")
        return real(r)

    monkeypatch.setattr(grading, "feedback_markdown", flaky)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(["grade", str(subs), "--out", str(out), "--jobs", "1", "--quiet"])
    if code == 3:
        pytest.skip("no sandbox on this machine")
    assert code == 0
    assert "a report could not be rendered" in stderr.getvalue() and "feedback/bob.md" in stderr.getvalue()
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [s["score"] for s in doc["submissions"]] == [100, 100]
    assert "**Score: 100 / 100**" in (out / "feedback" / "alice.md").read_text(encoding="utf-8")
    assert "could not be written" in (out / "feedback" / "bob.md").read_text(encoding="utf-8")
    assert json.loads((out / "gradescope" / "bob.json").read_text(encoding="utf-8"))["score"] == 100
