"""The class report from synthetic SubmissionResults: class.csv (gradebook, CSV-injection safe),
class.html and feedback/<name>.html (self-contained, every student-controlled text escaped),
the summary's numbers, and the pages without matplotlib."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re

import pytest

from gradcheck.grading.checks import CHECKS, MAX_SCORE, CheckResult
from gradcheck.grading.entries import EntryErrors
from gradcheck.grading.grade import SubmissionResult
from gradcheck.mistakes import catalogue
from gradcheck.reports import classpage, figures
from gradcheck.reports.classpage import class_html, class_report, feedback_html
from gradcheck.reports.classreport import CSV_COLUMNS, class_csv, csv_cell, summarise
from gradcheck.reports.grading import write_reports

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
BIAS_ROW = EntryErrors(  # d=2, m=3: only the bias row of ∇w_h is wrong
    "d=2, m=3, sample 0", 2, 3, ((0.0, 0.1, 0.0), (0.2, 0.0, 0.0), (5e3, 1e8, float("inf"))), (0.0, 0.5, 0.0, 0.0)
)


def make(path, score_failed=(), diagnosis=(), status="graded", output="", entries=None, message=""):
    checks = tuple(
        CheckResult(name, title, points, 0.0 if name in score_failed else points, name not in score_failed, message)
        for name, title, points, _ in CHECKS
    )
    return SubmissionResult(
        path,
        status,
        sum(c.score for c in checks),
        MAX_SCORE,
        "sigmoid,sigmoid",
        "detected",
        checks,
        tuple(diagnosis),
        output,
        "",
        "namespaces",
        "theta=flat",
        (),
        0,
        0.5,
        entries,
    )


@pytest.fixture
def klass():
    return [
        make("subs/alice.py"),
        make(
            "subs/bob.py",
            {"grad_w_h_values"},
            [("bias_zeroed_w_h", "the bias row is 0"), ("bug_in_gradients", "…")],
            entries=BIAS_ROW,
        ),
        make("subs/carol.py", {"grad_w_h_values", "sgd_lowers_loss"}, [("bias_zeroed_w_h", "again")]),
        make(f"subs/=cmd|' /C calc'!A0{HOSTILE}.py", {"imports"}, [("made_up_id", "@SUM(1+1)*cmd|' /C calc'!A0")]),
    ]


def test_the_summary_counts_mistakes_and_checks(klass):
    s = summarise(klass)
    assert s.submissions == 4 and s.graded == 4 and s.max_score == MAX_SCORE
    shares = {m.id: (m.count, m.share) for m in s.mistakes}
    assert shares == {"bias_zeroed_w_h": (2, 0.5), "bug_in_gradients": (1, 0.25)}  # the unknown id is not described
    assert s.mistakes[0].description == catalogue.get("bias_zeroed_w_h").description
    rate = {c.name: (c.passed, c.total) for c in s.checks}
    assert rate["grad_w_h_values"] == (2, 4) and rate["sgd_lowers_loss"] == (3, 4) and rate["deterministic"] == (4, 4)
    assert [c.name for c in s.checks] == [name for name, *_ in CHECKS]
    assert [k for _, _, k in s.bands] == [0] * 7 + [1, 1, 2]  # 75, 80; 95 and a full score in the last band
    assert [r.score for r in klass] == [100, 80, 75, 95] and s.median == 87.5 and s.mean == 87.5


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_would_start_a_formula_gets_an_apostrophe(start):
    assert csv_cell(start + "1+1") == "'" + (start + "1+1").replace("\r", " ")
    assert csv_cell("a=1") == "a=1" and csv_cell(65.0) == "65" and csv_cell("x\ny") == "x y"


def test_class_csv_is_one_row_per_submission_and_injection_safe(klass):
    names = ["alice", "bob", "carol", "evil"]
    rows = list(csv.reader(io.StringIO(class_csv(klass, names))))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 1 + len(klass)
    alice, bob, _, evil = rows[1:]
    assert alice[:5] == ["subs/alice.py", "100", "100", "graded", "sigmoid,sigmoid"] and alice[5] == ""
    assert bob[1] == "80" and bob[5] == "bias_zeroed_w_h: the bias row is 0" and bob[7] == "feedback/bob.md"
    assert float(bob[6]) == 0.5
    assert evil[0] == "subs/=cmd|' /C calc'!A0" + HOSTILE + ".py"  # does not start a formula: unchanged
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)
    hostile = make('=HYPERLINK("http://x")', diagnosis=[("-2+3", "x")])
    row = list(csv.reader(io.StringIO(class_csv([hostile], ["h"]))))[1]
    assert row[0] == '\'=HYPERLINK("http://x")' and row[5] == "'-2+3: x"


def _no_raw(page: str):
    assert HOSTILE not in page and "<script>alert" not in page
    assert re.search(r"<img[^>]*onerror", page) is None
    assert len(re.findall(r"<script>", page)) <= 1  # the page's own sorting script only


def test_student_text_is_escaped_everywhere(klass):
    evil = make(
        f"subs/{HOSTILE}.py",
        {"grad_theta_values"},
        [("sign_flipped", HOSTILE)],
        status="timeout",
        output=HOSTILE + "\x00\x1b[31m",
        message=HOSTILE,
        entries=BIAS_ROW,
    )
    evil = evil._replace(message=HOSTILE, notes=(HOSTILE,))
    for page in (class_html(klass + [evil], ["a", "b", "c", "d", "e"]), feedback_html(evil)):
        _no_raw(page)
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
        assert "\x00" not in page and "\x1b" not in page
    assert 'href="feedback/e.html"' in class_html(klass + [evil], ["a", "b", "c", "d", "e"])


def test_the_pages_are_self_contained(klass):
    pytest.importorskip("matplotlib")
    page = class_html(klass, ["a", "b", "c", "d"])
    assert page.count('src="data:image/png;base64,') == 3  # histogram, mistakes, pass rates
    assert re.search(r"""(src|href)=["']?(https?:|//)""", page) is None and "@import" not in page
    assert "<link" not in page
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{digest}'" in page
    fb = feedback_html(klass[1])
    assert "<img" not in fb and "<table class=grid>" in fb and "script-src 'none'" in fb  # the heatmap is a table


def test_without_matplotlib_the_tables_stay_and_the_page_says_how(klass, monkeypatch):
    monkeypatch.setattr(figures, "available", lambda: False)
    page = class_html(klass, ["a", "b", "c", "d"])
    assert "<img" not in page and figures.INSTALL_HINT.replace('"', "&quot;") in page
    assert "<code>bias_zeroed_w_h</code>" in page and "50 %" in page  # the mistake table
    fb = feedback_html(klass[1])
    assert "<img" not in fb and 'title="w_h[bias row, 1]: error/allowance 1.0e+08"' in fb
    marks = {
        caption: [(label, cells.count("✘")) for label, cells in re.findall(r"<tr><th>(\w+)</th>(.*?)</tr>", grid)]
        for caption, grid in re.findall(r"<table class=grid><caption>(.*?)</caption>(.*?)</table>", fb)
    }
    assert marks == {  # the wrong bias row stands out
        "∇w_h": [("x1", 0), ("x2", 0), ("bias", 3)],
        "∇θ": [("h1", 0), ("h2", 0), ("h3", 0), ("bias", 0)],
    }


def test_a_wrong_shape_has_no_map():
    r = make("s.py", {"grad_w_h_shape"}, entries=BIAS_ROW._replace(w_h=None))
    html = classpage.heatmap_html(r)
    assert "∇w_h: wrong shape, no map" in html and "<caption>∇θ</caption>" in html
    assert "<caption>∇w_h</caption>" not in html
    assert classpage.heatmap_html(make("ok.py")) == ""


def test_write_reports_writes_the_class_files_and_links_resolve(klass, tmp_path):
    written = write_reports(klass, tmp_path, formats=("md", "class"))
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {"class.csv", "class.html", "feedback/alice.html", "feedback/alice.md"} <= names
    page = (tmp_path / "class.html").read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]+)"', page)
    assert len(links) == len(klass) and all((tmp_path / link).is_file() for link in links)
    back = re.findall(r'href="([^"]+)"', (tmp_path / "feedback" / "bob.html").read_text(encoding="utf-8"))
    assert back == ["../class.html"]
    assert set(class_report(klass, ["a", "b", "c", "d"])) == {
        "class.csv",
        "class.html",
        *(f"feedback/{n}.html" for n in "abcd"),
    }


def test_every_finding_the_grader_can_name_has_a_description_in_the_class_report():
    from gradcheck.grading.advice import KIND
    from gradcheck.mistakes import catalogue
    from gradcheck.reports.classreport import describe

    grader = {"crash", "import_failed", "two_mistakes", "activation_mismatch", "activation_unknown", "unmatched"}
    grader |= {"bug_in_forward", "bug_in_gradients", "mutates_inputs"}
    ids = sorted(grader | set(KIND.values()) | set(catalogue.ids()))
    assert [i for i in ids if not describe(i)[0]] == []
