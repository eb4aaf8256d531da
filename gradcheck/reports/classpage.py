"""The class page (``class.html``) and each student's feedback page (``feedback/<name>.html``).

Self-contained HTML: styles and the table-sorting script are inline; the class's charts are PNG
``data:`` URIs (matplotlib); each student's heatmap of wrong gradient entries is a coloured table
(instant, no dependency, each entry's value on hover); a Content-Security-Policy allows nothing
else — no network, and no script but the page's own (allowed by its hash, so injected markup
could not run one anyway).  Every piece of text that a student controls (file names, diagnoses,
messages, printed output) goes through :func:`html.escape`.  Without matplotlib the class page
keeps its tables and says how to get the charts (:data:`gradcheck.reports.figures.INSTALL_HINT`).
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from gradcheck.checking.tolerance import entry_name
from gradcheck.grading.grade import SubmissionResult
from gradcheck.reports import figures
from gradcheck.reports.classreport import class_csv, summarise

__all__ = ["class_html", "class_report", "feedback_html", "heatmap_html"]

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:62em;padding:0 1em;color:#212121}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;
vertical-align:top}th{background:#f3f3f3}td.n,th.n{text-align:right;white-space:nowrap}
table.sortable th{cursor:pointer}table.sortable th:after{content:" \\2195";color:#999}
.note{background:#fff8e1;border:1px solid #ffe082;padding:.5em .8em}
.pass{color:#2e7d32}.fail{color:#c62828}pre{background:#f6f6f6;padding:.6em;overflow:auto;max-height:30em}
img{max-width:100%}.grids{display:flex;gap:2em;align-items:flex-start}table.grid caption{font-weight:bold}
table.grid td{width:1.8em;text-align:center;padding:.15em}table.grid th{font-weight:normal;height:1.6em}
.ok{background:#e8f5e9;color:#2e7d32}.w1{background:#ef9a9a}.w2{background:#e53935;color:#fff}
.w3{background:#8e0000;color:#fff}.legend span{padding:0 .5em}
""".strip()
_SORT = """
document.querySelectorAll("table.sortable").forEach(function (t) {
  t.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var dir = th.getAttribute("data-dir") === "asc" ? -1 : 1;
      th.setAttribute("data-dir", dir === 1 ? "asc" : "desc");
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-key"), y = b.cells[col].getAttribute("data-key");
        var nx = parseFloat(x), ny = parseFloat(y);
        if (!isNaN(nx) && !isNaN(ny)) return dir * (nx - ny);
        return dir * x.localeCompare(y);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
document.documentElement.setAttribute("data-sortable", "ready");
""".strip()


def _esc(text) -> str:
    return html.escape(_CONTROL.sub("\ufffd", str(text)), quote=True)


def _csp(script: str | None) -> str:
    scripts = "'none'"
    if script is not None:
        scripts = "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
    return f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src {scripts}"


def _page(title: str, body: list[str], *, script: str | None = None) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_csp(script)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_esc(title)}</title><style>{_STYLE}</style></head><body>",
            *body,
            f"<script>{script}</script>" if script else "",
            "</body></html>",
            "",
        ]
    )


def _img(image: bytes | None, alt: str) -> str:
    return f'<p><img src="{figures.data_uri(image)}" alt="{_esc(alt)}"></p>' if image else ""


def _no_pictures() -> str:
    return (
        f'<p class="note">The charts need matplotlib: <code>{_esc(figures.INSTALL_HINT)}</code>, '
        "then grade again. The tables below hold the same numbers.</p>"
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[tuple[str, str]]], *, numeric=(), sortable=False) -> str:
    """rows of (cell HTML, sort key) pairs; ``numeric`` columns are right-aligned."""
    cls = ' class="sortable"' if sortable else ""
    th = "".join(f"<th{' class=n' if i in numeric else ''}>{_esc(h)}</th>" for i, h in enumerate(head))
    body = []
    for row in rows:
        tds = "".join(
            f'<td{" class=n" if i in numeric else ""} data-key="{_esc(key)}">{cell}</td>'
            for i, (cell, key) in enumerate(row)
        )
        body.append(f"<tr>{tds}</tr>")
    return f"<table{cls}><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _pct(x: float) -> tuple[str, str]:
    return f"{100 * x:.0f} %", f"{x:.6f}"


def _num(x: float) -> tuple[str, str]:
    return f"{x:g}", f"{x:.6f}"


def _text(s) -> tuple[str, str]:
    return _esc(s), str(s)


def class_html(results: Sequence[SubmissionResult], names: Sequence[str], *, pictures: bool = True) -> str:
    """The class page; ``names`` are the report names, linked as feedback/<name>.html."""
    s = summarise(results)
    draw = pictures and figures.available()
    statuses = ", ".join(f"{k} {_esc(st)}" for st, k in s.statuses)
    body = [
        "<h1>Class report</h1>",
        f"<p>{s.submissions} submission(s) ({statuses}); mean score {s.mean:.1f}, median {s.median:g} "
        f"of {s.max_score:g}. Each file links to its feedback.</p>",
    ]
    if not draw:
        body.append(_no_pictures())
    body.append("<h2>Scores</h2>")
    if draw:
        body.append(_img(figures.histogram([r.score for r in results], max_score=s.max_score), "score histogram"))
    last = len(s.bands) - 1
    band_rows = [
        [(f"[{lo:g}, {hi:g}" + ("]" if i == last else ")"), f"{lo:.6f}"), _num(k)]
        for i, (lo, hi, k) in enumerate(s.bands)
    ]
    body.append(_table(("score", "submissions"), band_rows, numeric=(1,)))
    body += [
        "<h2>Mistakes</h2>",
        f"<p>The share of all {s.submissions} submissions whose diagnosis names each mistake (a submission "
        "can make several); the descriptions are the catalogue's, in the spec's notation.</p>",
    ]
    if s.mistakes:
        if draw:
            image = figures.bars(
                [m.id for m in s.mistakes],
                [m.share for m in s.mistakes],
                title="share of the class making each mistake",
                good=False,
            )
            body.append(_img(image, "share of the class making each mistake"))
        rows = [
            [
                (f"<code>{_esc(m.id)}</code>", m.id),
                _text(m.description),
                _text(m.equation),
                _num(m.count),
                _pct(m.share),
            ]
            for m in s.mistakes
        ]
        body.append(_table(("mistake", "what it is", "equation", "submissions", "share"), rows, numeric=(3, 4)))
    else:
        body.append("<p>No submission was diagnosed with a mistake.</p>")
    body += ["<h2>Checks</h2>", "<p>The share of submissions passing each check (full marks on it).</p>"]
    if draw and s.checks:
        image = figures.bars([c.title for c in s.checks], [c.rate for c in s.checks], title="pass rate", good=True)
        body.append(_img(image, "pass rate of each check"))
    rows = [[_text(c.title), _num(c.passed), _num(c.total), _pct(c.rate)] for c in s.checks]
    body.append(_table(("check", "passed", "of", "pass rate"), rows, numeric=(1, 2, 3)))
    body += ["<h2>Submissions</h2>", "<p>Click a column heading to sort.</p>"]
    rows = []
    for r, name in zip(results, names):
        link = f'<a href="feedback/{quote(name)}.html">{_esc(r.path)}</a>'
        rows.append(
            [
                (link, r.path),
                _num(r.score),
                _text(r.status),
                _text(r.activation),
                _text(", ".join(m for m, _ in r.diagnosis) or "—"),
                _num(round(r.wall_time, 2)),
            ]
        )
    head = ("file", "score", "status", "activation", "diagnosis", "time (s)")
    body.append(_table(head, rows, numeric=(1, 5), sortable=True))
    return _page("gradcheck class report", body, script=_SORT)


def _bucket(v: float) -> str:
    """The colour class of an entry's error/allowance: ok ≤ 1 < w1 ≤ 1e3 < w2 ≤ 1e6 < w3 (or not finite)."""
    if v <= 1:
        return "ok"
    return "w1" if v <= 1e3 else "w2" if v <= 1e6 else "w3"


def _grid(block, name: str, d: int, m: int) -> str:
    rows = [list(r) for r in block] if name == "∇w_h" else [[v] for v in block]
    labels = [f"{'x' if name == '∇w_h' else 'h'}{i + 1}" for i in range(len(rows) - 1)] + ["bias"]
    offset = 0 if name == "∇w_h" else (d + 1) * m
    head = "".join(f"<th>{j + 1}</th>" for j in range(len(rows[0]))) if name == "∇w_h" else "<th></th>"
    out = [f"<table class=grid><caption>{name}</caption><tr><th></th>{head}</tr>"]
    for i, (label, row) in enumerate(zip(labels, rows)):
        cells = "".join(
            f'<td class={_bucket(v) if math.isfinite(v) else "w3"} title="'
            f'{entry_name(offset + i * len(row) + j, d, m)}: error/allowance {v:.1e}">{"·" if v <= 1 else "✘"}</td>'
            for j, v in enumerate(row)
        )
        out.append(f"<tr><th>{label}</th>{cells}</tr>")
    return "".join(out) + "</table>"


_LEGEND = (
    "<p class=legend>error / allowance: <span class=ok>≤ 1 right</span> <span class=w1>≤ 1e3</span> "
    "<span class=w2>≤ 1e6</span> <span class=w3>&gt; 1e6 or not finite</span> (hover an entry for its value)</p>"
)


def heatmap_html(r: SubmissionResult) -> str:
    """The wrong ∇w_h and ∇θ entries of the failing case: a grid coloured by error/allowance."""
    e = r.entries
    if e is None:
        return ""
    out = [
        "<h2>Where the gradient is wrong</h2>",
        f"<p>Each entry's error over its allowance on the case {_esc(e.case)}: ∇w_h is (d+1) × m with the "
        "bias row last (x̄ = (x, 1), eq. 11), ∇θ has the bias last (h̄ = (h, 1), eq. 6); ✘ marks a wrong entry.</p>",
    ]
    missing = [n for b, n in ((e.w_h, "∇w_h"), (e.theta, "∇θ")) if b is None]
    if missing:
        out.append(f"<p>{' and '.join(missing)}: wrong shape, no map.</p>")
    grids = [_grid(b, n, e.d, e.m) for b, n in ((e.w_h, "∇w_h"), (e.theta, "∇θ")) if b is not None]
    out += [f"<div class=grids>{''.join(grids)}</div>", _LEGEND]
    return "\n".join(out)


def feedback_html(r: SubmissionResult, *, back: str = "../class.html") -> str:
    """One student's feedback: score, the heatmap of wrong entries, the checks, what to fix."""
    name = Path(r.path).name
    body = [
        f'<p><a href="{_esc(back)}">← class report</a></p>',
        f"<h1>Feedback: {_esc(name)}</h1>",
        f"<p><b>Score: {r.score:g} / {r.max_score:g}</b> — {_esc(r.status)}. "
        f"Activation: {_esc(r.activation)} ({_esc(r.activation_source)}).</p>",
    ]
    if r.status != "graded" and r.message:
        body.append(f"<p>What happened: {_esc(r.message)}</p>")
    body.append(heatmap_html(r))
    if r.diagnosis:
        body.append("<h2>What to fix</h2><ul>")
        body += [f"<li><code>{_esc(m)}</code>: {_esc(msg)}</li>" for m, msg in r.diagnosis]
        body.append("</ul>")
    body.append("<h2>Checks</h2>")
    rows = [
        [
            _text(c.title),
            (f"{c.score:g} / {c.points:g}", f"{c.score:.6f}"),
            ('<span class="pass">✔</span>', "1")
            if c.passed
            else (f'<span class="fail">✘</span> {_esc(c.message)}', "0"),
        ]
        for c in r.checks
    ]
    body.append(_table(("check", "score", "result"), rows, numeric=(1,)))
    if r.notes:
        body += ["<h2>Notes</h2><ul>", *(f"<li>{_esc(n)}</li>" for n in r.notes), "</ul>"]
    if r.output.strip():
        body += ["<h2>What your code printed</h2>", f"<pre>{_esc(r.output.strip()[:4000])}</pre>"]
    body.append(f"<p><i>gradcheck, seed {r.seed}; isolation: {_esc(r.isolation)}.</i></p>")
    return _page(f"Feedback: {name}", body)


def class_report(results: Sequence[SubmissionResult], names: Sequence[str], *, pictures: bool = True) -> dict:
    """{relative path: text}: class.csv, class.html and feedback/<name>.html for every submission."""
    files = {"class.csv": class_csv(results, names), "class.html": class_html(results, names, pictures=pictures)}
    for r, name in zip(results, names):
        files[f"feedback/{name}.html"] = feedback_html(r)
    return files
