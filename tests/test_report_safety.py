"""Reports one student cannot break (issue 10, findings 4 and 5), on results made here.

Student-controlled text (exception messages, printed output, returned keys, file names) is
hostile: it must neither break report writing for the batch nor reach a report or the terminal
as markup or control sequences.  The batch through the sandbox: tests/test_report_safety_batch.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gradcheck.grading.checks import CHECKS, MAX_SCORE, CheckResult
from gradcheck.grading.grade import SubmissionResult
from gradcheck.reports import sanitise
from gradcheck.reports.grading import (
    FORMATS,
    Progress,
    feedback_markdown,
    gradescope_json,
    junit_xml,
    results_json,
    summary_table,
    write_reports,
)

PAYLOAD = (
    "```\n"
    "## Forged section\n"
    "**Score: 100 / 100**\n"
    "<script>alert('xss')</script><img src=x onerror=alert(1)>\n"
    "``````\n"
    "| forged | cell |\n"
    "NUL\x00 ESC\x1b[2J\x1b[31mred OSC52\x1b]52;c;cHduZWQ=\x07 C1\x9b31m BIDI\u202etxt.exe\r\n"
    "[click](javascript:alert(1)) & &amp; \\ lone \ud800 surrogate \udcff"
)
HOSTILE_NAME = "subs/\x1b]52;c;cHduZWQ=\x07\x1b[2J\n# forged \udcff`|<b>.py"
# what no report and no terminal line may contain (newline and tab are content where kept)
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufffe\uffff]")
HEADINGS = {"## What to fix", "## Failed checks", "## Notes", "## What your code printed"}


def hostile_result(path=HOSTILE_NAME, score_override=None) -> SubmissionResult:
    checks = tuple(
        CheckResult(
            name, title, points, 0.0 if i % 2 else points, not i % 2, PAYLOAD if i % 2 else "ok", (PAYLOAD,) * i
        )
        for i, (name, title, points, _) in enumerate(CHECKS)
    )
    score = sum(c.score for c in checks) if score_override is None else score_override
    return SubmissionResult(
        path,
        "graded",
        score,
        MAX_SCORE,
        "sigmoid,sigmoid",
        "detected",
        checks,
        (("unmatched", PAYLOAD),),
        PAYLOAD,
        PAYLOAD,
        "namespaces",
        "theta=flat",
        (PAYLOAD,),
        0,
        0.5,
    )


def correct_result(path="subs/control.py") -> SubmissionResult:
    checks = tuple(CheckResult(n, t, p, p, True, "ok") for n, t, p, _ in CHECKS)
    return SubmissionResult(
        path, "graded", MAX_SCORE, MAX_SCORE, "sigmoid,sigmoid", "detected", checks, (), "", "", "namespaces",
        "theta=flat", (), 0, 0.5,
    )  # fmt: skip


# ------------------------------------------------------------- Markdown checks
def _fences_and_lines(text: str):
    """(line, inside a fence?) per line, fences found as CommonMark does (a closing fence is a
    backtick run at least as long as the opening one, alone on its line)."""
    fence = None
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        run = re.match(r"`{3,}", stripped) if len(line) - len(stripped) < 4 else None
        if fence is None and run and "`" not in stripped[run.end() :]:
            fence = len(run.group())
            yield line, True
        elif fence is not None and run and len(run.group()) >= fence and not stripped[run.end() :].strip():
            fence = None
            yield line, True
        else:
            yield line, fence is not None


def assert_safe_markdown(text: str, *, score: str) -> None:
    assert not FORBIDDEN.search(text), repr(FORBIDDEN.search(text))
    outside = [line for line, fenced in _fences_and_lines(text) if not fenced]
    headings = [line for line in outside if re.match(r" {0,3}#{1,6}(\s|$)", line)]
    assert len(headings) >= 1 and headings[0].startswith("# Feedback: ")
    assert set(headings[1:]) <= HEADINGS, headings
    assert [line for line in outside if line.startswith("**Score")] == [f"**Score: {score}** — graded."]
    assert not any(line.lstrip().startswith(("<", ">")) for line in outside)


def assert_renders_safely(text: str) -> None:
    """Rendered by a CommonMark renderer (tables on, raw HTML allowed, as a Markdown page would be):
    no element the student wrote, one score, the grader's headings only, three cells per row."""
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    headings = re.findall(r"<h(\d)>", html)
    for tag in ("<script", "<img", "<a ", "<b>", "<h3", "<h4", "<h5", "<h6"):
        assert tag not in html, (tag, html)
    assert headings.count("1") == 1 and html.count("<strong>Score:") == 1, html
    assert set(re.findall(r"<h2>(.*?)</h2>", html)) <= {h[3:] for h in HEADINGS}, html
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        assert len(re.findall(r"<t[dh][ >]", row)) == 3, row  # no cell forged in the checks table


def test_feedback_is_safe_markdown():
    text = feedback_markdown(hostile_result())
    assert_safe_markdown(text, score=f"{hostile_result().score:g} / 100")
    assert "Forged section" in text and "<script>" in text  # the student sees what they wrote, inert
    assert "onerror=alert(1)" in text and "cHduZWQ=" in text


def test_feedback_renders_safely():
    assert_renders_safely(feedback_markdown(hostile_result()))


def test_printed_output_keeps_its_lines_in_a_fence_longer_than_any_run_inside():
    text = feedback_markdown(hostile_result())
    fenced = [line for line, inside in _fences_and_lines(text) if inside]
    assert "## Forged section" in fenced and "``````" in fenced and fenced[0] == "`" * 7


def test_gradescope_outputs_are_safe_markdown():
    raw = gradescope_json(hostile_result())
    raw.encode("utf-8")  # no lone surrogate survives
    doc = json.loads(raw)
    assert_safe_markdown(doc["output"], score=f"{hostile_result().score:g} / 100")
    for test in doc["tests"]:
        assert test["output_format"] == "md" and not FORBIDDEN.search(test["output"]) and "\n#" not in test["output"]
    assert_renders_safely(doc["output"])
    markdown_it = pytest.importorskip("markdown_it")
    for test in doc["tests"]:
        html = markdown_it.MarkdownIt("commonmark", {"html": True}).render(test["output"])
        assert not re.search(r"<(script|img|a |h\d|strong|table)", html), html


def test_results_json_and_junit_are_valid_utf8_without_control_characters():
    raw = results_json([hostile_result(), correct_result()], seed=0)
    doc = json.loads(raw.encode("utf-8").decode("utf-8"))
    flat = json.dumps(doc, ensure_ascii=False)
    assert not FORBIDDEN.search(flat.replace("\\n", "").replace("\\t", ""))
    hostile = doc["submissions"][0]
    assert "\n" in hostile["output"] and "## Forged section" in hostile["output"]  # data stays data
    assert "\n" not in hostile["path"] and "\x1b" not in hostile["path"]
    xml = junit_xml([hostile_result(), correct_result()])
    xml.encode("utf-8")
    assert not FORBIDDEN.search(xml) and ET.fromstring(xml.encode()).find("testsuite") is not None


def test_terminal_output_is_one_line_per_row_without_control_characters():
    table = summary_table([hostile_result(), correct_result()])
    assert not FORBIDDEN.search(table)
    lines = table.split("\n")
    assert len(lines) == 2 + 2 + 2 and lines[4] == "" and "control.py" in lines[3]
    stream = io.StringIO()
    bar = Progress(stream, width=10)
    bar(1, 2, hostile_result())
    bar(2, 2, correct_result())
    out = stream.getvalue()
    assert not FORBIDDEN.search(out) and len(out.splitlines()) == 2


def test_a_report_that_fails_to_render_touches_no_other(tmp_path):
    broken = hostile_result("subs/broken.py", score_override="not a number")  # a renderer bug's stand-in
    results = [correct_result("subs/alice.py"), broken, hostile_result()]
    written = write_reports(results, tmp_path, formats=FORMATS, seed=0)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in written)
    assert "results.json" in names and "feedback/alice.md" in names and "gradescope/alice.json" in names
    assert "**Score: 100 / 100**" in (tmp_path / "feedback" / "alice.md").read_text()
    doc = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert [s["score"] for s in doc["submissions"]][0] == MAX_SCORE and len(doc["submissions"]) == 3
    broken_md = (tmp_path / "feedback" / "broken.md").read_text()
    assert "could not be written" in broken_md and "Score: 100" not in broken_md
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))


def test_results_json_is_written_even_when_one_entry_cannot_be(tmp_path):
    broken = correct_result("subs/broken.py")._replace(notes=(object(),))  # not JSON-serialisable
    write_reports([correct_result("subs/alice.py"), broken], tmp_path, formats=("json",))
    doc = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    alice, bad = doc["submissions"]
    assert alice["score"] == MAX_SCORE and alice["path"] == "subs/alice.py"
    assert bad["path"] == "subs/broken.py" and bad["status"] == "error" and "report" in bad["message"]


# ------------------------------------------------------------------ the sanitiser
def test_clean_replaces_what_cannot_be_shown_and_keeps_content_whitespace():
    assert sanitise.clean("a\tb\nc\r\nd\re") == "a\tb\nc\nd\ne"
    hostile = "x\x00\x1b[31m\x7f\x85\x9b\u202e\u2066\ud800\udcff\ufffey"
    assert sanitise.clean(hostile) == "x\ufffd\ufffd[31m" + "\ufffd" * 8 + "y"
    assert sanitise.clean(b"caf\xc3\xa9 \xff") == "café \ufffd"
    assert sanitise.clean("line\u2028next") == "line\nnext"
    assert sanitise.clean(None) == "" and sanitise.clean(3.5) == "3.5"
    text = "all fine: ∇w_h, x̄ = (x, 1), ŷ − y, 日本語, emoji 🙂"
    assert sanitise.clean(text) == text


def test_paths_go_through_fsdecode_and_lose_every_control_character():
    assert sanitise.clean_path(os.fsdecode(b"caf\xe9.py")) == "caf\ufffd.py"
    assert sanitise.clean_path(b"dir/caf\xc3\xa9.py") == "dir/café.py"
    assert sanitise.clean_path(Path("a\nb\tc\x1b.py")) == "a\ufffdb\ufffdc\ufffd.py"


def test_one_line_flattens_and_caps():
    assert sanitise.one_line("a\n\n  b\tc\x1b") == "a b c\ufffd"
    assert sanitise.one_line("x" * 50, limit=10) == "x" * 9 + "…"


def test_markdown_escapes():
    assert sanitise.md_block("a\n````\nb") == "`````\na\n````\nb\n`````"
    assert sanitise.md_block("plain") == "```\nplain\n```"
    assert sanitise.md_code("a `b` c") == "``a `b` c``" and sanitise.md_code("x\ny") == "`x y`"
    assert sanitise.md_code("`") == "`` ` ``" and sanitise.md_code("") == "` `"
    assert sanitise.md_cell("a|b") == "`a\\|b`"
    assert sanitise.md_text("<b>*x*</b> [l](u) a_b _c_ \\ | & `") == (
        "&lt;b&gt;\\*x\\*&lt;/b&gt; \\[l\\](u) a_b \\_c\\_ \\\\ \\| &amp; \\`"
    )
    assert sanitise.html("<a href='x'>&</a>") == "&lt;a href=&#x27;x&#x27;&gt;&amp;&lt;/a&gt;"


def test_clean_result_reaches_every_text_field():
    r = sanitise.clean_result(hostile_result())
    assert not FORBIDDEN.search(r.path) and "\n" not in r.path
    for text in (r.output, r.message, *r.notes, *(m for _, m in r.diagnosis)):
        assert not FORBIDDEN.search(text) and "\n" in text
    for c in r.checks:
        assert not any(FORBIDDEN.search(t) for t in (c.message, *c.notes))
    assert r.score == hostile_result().score and r.checks[0].points == CHECKS[0][2]


def test_text_for_each_gradescope_output_format():
    assert sanitise.for_format("a\n```\x1b", "md") == "````\na\n```\ufffd\n````"
    assert sanitise.for_format("<b>\x00", "html") == "<pre>&lt;b&gt;\ufffd</pre>"
    assert sanitise.for_format("<b>\n\x07", "text") == "<b>\n\ufffd"
    with pytest.raises(ValueError, match="output_format: expected one of md, html, text, got 'pdf'"):
        sanitise.for_format("x", "pdf")


def test_on_a_terminal_the_progress_bar_writes_only_its_own_control_sequence():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    bar = Progress(stream, width=10)
    bar(1, 2, hostile_result())
    bar(2, 2, correct_result())
    frames = stream.getvalue().split("\r\x1b[K")
    assert frames[0] == "" and len(frames) == 3
    assert not any(FORBIDDEN.search(f) for f in frames) and frames[1].count("\n") == 0 and frames[2].endswith("\n")
    assert all(len(f.rstrip("\n")) < 120 for f in frames)  # one terminal line: the \r rewrite stays in place
