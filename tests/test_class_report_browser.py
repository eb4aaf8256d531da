"""The class page built from really graded test submissions (in the sandbox), opened in headless
Chromium: it loads with no console message (no error, no blocked request, no CSP violation), its
own sorting script runs, injected markup in a file name stays text, and the screenshots are not
blank.  Skipped where no Chromium is installed (Debian: ``apt-get install chromium``)."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from gradcheck.grading.grade import grade_many
from gradcheck.reports.grading import write_reports

SUBS = Path(__file__).resolve().parent / "submissions"
BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
)
INJECTED = "<i id=pwned>x"  # a file name cannot hold "/": an unclosed tag


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A small class: two right, three buggy, a bias row zeroed, a syntax error, a hostile file name."""
    subs = tmp_path_factory.mktemp("class")
    files = [SUBS / "correct" / "sigmoid.py", SUBS / "correct" / "tanh_identity.py"]
    files += [SUBS / "buggy" / f"{n}.py" for n in ("sign_flip", "transposed", "bias_via_x")]
    files += [SUBS / "hostile" / "syntax_error.py"]
    right = (SUBS / "correct" / "sigmoid.py").read_text(encoding="utf-8")
    assert "x_bar = np.append(x, 1.0)" in right and "h_bar = np.append(h, 1.0)" in right
    bias_row = subs / "bias_row.py"
    bias_row.write_text(right.replace("x_bar = np.append(x, 1.0)", "x_bar = np.append(x, 0.0)"), encoding="utf-8")
    named = subs / f"{INJECTED}.py"
    named.write_text(right.replace("h_bar = np.append(h, 1.0)", "h_bar = np.append(h, 0.0)"), encoding="utf-8")
    results = grade_many(files + [bias_row, named], jobs=2)
    out = subs / "report"
    write_reports(results, out, formats=("md", "class"))
    return {Path(r.path).stem: r for r in results}, out


def test_the_heatmap_data_shows_the_wrong_bias_row(graded):
    by, _ = graded
    e = by["bias_row"].entries
    assert "bias_zeroed_w_h" in {m for m, _ in by["bias_row"].diagnosis}
    assert e is not None and len(e.w_h) == e.d + 1 and len(e.w_h[0]) == e.m and len(e.theta) == e.m + 1
    assert all(v > 1 for v in e.w_h[-1]) and all(v <= 1 for row in e.w_h[:-1] for v in row)
    assert all(v <= 1 for v in e.theta)
    t = by[INJECTED].entries
    assert t.theta[-1] > 1 and all(v <= 1 for v in t.theta[:-1]) and all(v <= 1 for r in t.w_h for v in r)
    assert by["sigmoid"].entries is None and by["syntax_error"].entries is None
    assert by["bias_via_x"].entries.w_h is None  # ∇w_h has the wrong shape (d, m): no map


def _pixels(png: bytes) -> np.ndarray:
    """The RGB pixels of a PNG: Pillow's decoder where it is installed (matplotlib brings it), else
    a small one for the non-interlaced 8-bit RGB/RGBA PNGs Chromium writes (the same pixels)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    try:
        from PIL import Image
    except ImportError:
        return _decode_png(png)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int64)


def _decode_png(png: bytes) -> np.ndarray:
    pos, idat, head = 8, b"", None
    while pos < len(png):
        (length,), kind = struct.unpack(">I", png[pos : pos + 4]), png[pos + 4 : pos + 8]
        data = png[pos + 8 : pos + 8 + length]
        head = struct.unpack(">IIBBBBB", data) if kind == b"IHDR" else head
        idat += data if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = head
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * bpp)
    out = np.zeros((height, width * bpp), np.int64)
    for y in range(height):
        f, line = raw[y, 0], raw[y, 1:].astype(np.int64)
        up = out[y - 1] if y else np.zeros_like(line)
        if f in (0, 2):  # None, Up: no dependence along the row
            out[y] = (line + (up if f == 2 else 0)) % 256
            continue
        row, line, up = [0] * len(line), line.tolist(), up.tolist()
        for x, v in enumerate(line):  # Sub, Average, Paeth: on the decoded left neighbour
            a, c = (row[x - bpp], up[x - bpp]) if x >= bpp else (0, 0)
            b = up[x]
            if f == 1:
                pred = a
            elif f == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            row[x] = (v + pred) % 256
        out[y] = row
    return out.reshape(height, width, bpp)[:, :, :3]


def _colours(pixels: np.ndarray) -> int:
    """How many distinct RGB colours (each packed into one integer: np.unique on rows is slow)."""
    return len(np.unique((pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]))


def _open(page: Path, tmp_path: Path, *args: str) -> tuple[str, str]:
    profile = tmp_path / f"profile-{page.stem}-{len(args)}"
    run = subprocess.run(
        [BROWSER, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout, run.stderr


@pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (Debian: apt-get install chromium)")
@pytest.mark.parametrize("page", ["class.html", "feedback/bias_row.html", "feedback/i_id_pwned_x.html"])
def test_the_page_loads_clean_in_chromium_and_is_not_blank(graded, tmp_path, page):
    _, out = graded
    path = out / page
    assert path.is_file()
    shot = tmp_path / "shot.png"
    dom, log = _open(path, tmp_path, "--window-size=1200,1600", f"--screenshot={shot}", "--dump-dom")  # one launch
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert console == []  # no error, no blocked load, no CSP violation, nothing logged
    pixels = _pixels(shot.read_bytes())
    assert pixels.shape[:2] == (1600, 1200)
    grey = pixels.mean(axis=2)
    assert grey.std() > 10 and (grey < 100).mean() > 0.002 and _colours(pixels) > 50
    assert "pwned" not in dom.replace("&lt;i id=pwned&gt;", "").replace("i_id_pwned_x", "")
    if page == "class.html":
        assert 'data-sortable="ready"' in dom  # the inline script ran: its CSP hash is right
        assert dom.count('src="data:image/png;base64,') in (0, 3)


def _sha(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


@pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (Debian: apt-get install chromium)")
def test_the_submissions_table_sorts_by_a_clicked_column(graded, tmp_path):
    """The page's script, plus two clicks on 'score' (the test's own lines, allowed by their hash)."""
    _, out = graded
    page = (out / "class.html").read_text(encoding="utf-8")
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    clicks = (
        '\nvar t = document.querySelector("table.sortable"), th = t.querySelectorAll("th")[1], seen = [];'
        "\nfor (var k = 0; k < 2; k++) { th.click(); seen.push(Array.prototype.map.call(t.tBodies[0].rows,"
        ' function (r) { return r.cells[1].getAttribute("data-key"); }).join(" ")); }'
        '\ndocument.body.setAttribute("data-sorted", seen.join("|"));'
    )
    clicked = page.replace(script, script + clicks).replace(_sha(script), _sha(script + clicks))
    path = out / "class-clicked.html"
    path.write_text(clicked, encoding="utf-8")
    dom, log = _open(path, tmp_path, "--dump-dom")
    assert [line for line in log.splitlines() if ":CONSOLE" in line] == []
    up, down = (list(map(float, s.split())) for s in re.search(r'data-sorted="([^"]*)"', dom).group(1).split("|"))
    assert up == sorted(up) and down == sorted(up, reverse=True) and len(up) == 8 and up[0] < up[-1]
