"""The one boundary student text crosses on its way into a report or a terminal.

Everything a submission controls — exception messages, printed output, returned dict keys, its
file name — is hostile text.  Two steps, in this order:

1. **Sanitise** (:func:`clean`, :func:`clean_path`, :func:`clean_result`): bytes decoded as
   UTF-8 with replacement; lone surrogates, C0 and C1 control characters (ESC, NUL, BEL, CSI …),
   DEL, bidirectional overrides and non-characters become U+FFFD; ``\\r\\n``, ``\\r`` and the
   Unicode line separators become ``\\n``.  Newline and tab are kept in text where they are
   content (printed output); a path keeps neither (``os.fsdecode`` first, then the same rules).
   The result always encodes as UTF-8 and shows no control sequence on any terminal.
2. **Escape for the context** it lands in:

   * a Markdown block (printed output): :func:`md_block`, a fence longer than any backtick run
     inside, so nothing in it can close the fence;
   * one line of Markdown (headings, table cells, list items): :func:`md_code` (a code span,
     :func:`md_cell` inside a table) or :func:`md_text` (prose, with Markdown and HTML escaped);
   * one terminal line (the summary table, the progress bar, pytest's output): :func:`one_line`;
   * HTML: :func:`html`; one of Gradescope's output formats: :func:`for_format`.

Every escaper sanitises first, so no path around step 1 exists.
"""

from __future__ import annotations

import html as _html
import os
import re
from typing import Any, NamedTuple

__all__ = [
    "clean",
    "clean_path",
    "clean_result",
    "one_line",
    "md_block",
    "md_code",
    "md_cell",
    "md_text",
    "html",
    "for_format",
    "OUTPUT_FORMATS",
]

REPLACEMENT = "\ufffd"
_LINES = re.compile("\r\n|[\r\u2028\u2029]")
# C0 but tab and newline; DEL and C1; surrogates; bidi embeddings/overrides/isolates; non-characters
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufdd0-\ufdef\ufffe\uffff]")
_MD_ESCAPE = re.compile(r"[\\`*\[\]|~$<>&]|_")
_MD_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
OUTPUT_FORMATS = ("md", "html", "text")


def clean(text: Any) -> str:
    """Student text made safe to store and show (module docstring, step 1); newline and tab kept."""
    if text is None:
        return ""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    elif not isinstance(text, str):
        text = str(text)
    return _UNSAFE.sub(REPLACEMENT, _LINES.sub("\n", text))


def clean_path(path: Any) -> str:
    """A file name for display: ``os.fsdecode``, the bytes that are not UTF-8 replaced, and no
    control character at all (a newline or tab in a name is not content)."""
    name = os.fsdecode(path) if isinstance(path, str | bytes | os.PathLike) else str(path)
    try:
        name = os.fsencode(name).decode("utf-8", "replace")  # undo surrogateescape, replace bad bytes
    except UnicodeError:  # a lone surrogate that no file system produced: clean() replaces it
        pass
    return re.sub("[\t\n]", REPLACEMENT, clean(name))


def one_line(text: Any, *, limit: int | None = None) -> str:
    """Sanitised and flattened: every run of whitespace one space; at most ``limit`` characters."""
    flat = " ".join(clean(text).split())
    return flat if limit is None or len(flat) <= limit else flat[: max(limit - 1, 0)] + "…"


def md_block(text: Any, *, info: str = "") -> str:
    """A fenced code block that nothing inside can close (its fence outruns every backtick run)."""
    body = clean(text)
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{one_line(info).replace('`', '')}\n{body}\n{fence}"


def md_code(text: Any, *, limit: int | None = None) -> str:
    """One line as an inline code span (shown literally: no markup, no HTML)."""
    body = one_line(text, limit=limit)
    if not body:
        return "` `"
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body[0] in "` " or body[-1] in "` " else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def md_cell(text: Any, *, limit: int | None = None) -> str:
    """:func:`md_code` for a table cell: pipes escaped (GFM splits cells on them even in code)."""
    return md_code(text, limit=limit).replace("|", "\\|")


def _md_char(m: re.Match) -> str:
    c, s, i = m.group(), m.string, m.start()
    if c == "_":  # an underscore between two letters/digits never starts or ends emphasis
        inner = 0 < i < len(s) - 1 and s[i - 1].isalnum() and s[i + 1].isalnum()
        return c if inner else "\\_"
    return _MD_ENTITIES.get(c) or "\\" + c


def md_text(text: Any, *, limit: int | None = None) -> str:
    """One line of Markdown prose: flattened; emphasis, code, links, tables, strikethrough, math
    and backslashes escaped; ``< > &`` as entities (no raw HTML in any Markdown dialect)."""
    return _MD_ESCAPE.sub(_md_char, one_line(text, limit=limit))


def html(text: Any) -> str:
    """Sanitised and HTML-escaped (quotes too: safe in an element or an attribute value)."""
    return _html.escape(clean(text), quote=True)


def for_format(text: Any, output_format: str) -> str:
    """Text for one of Gradescope's output formats: md (a fenced block), html (<pre>), text."""
    if output_format == "md":
        return md_block(text)
    if output_format == "html":
        return f"<pre>{html(text)}</pre>"
    if output_format == "text":
        return clean(text)
    raise ValueError(f"output_format: expected one of {', '.join(OUTPUT_FORMATS)}, got {output_format!r}")


def _clean_value(value: Any) -> Any:
    if isinstance(value, str | bytes | bytearray):
        return clean(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*map(_clean_value, value))
    if isinstance(value, tuple | list):
        return type(value)(map(_clean_value, value))
    if isinstance(value, dict):
        return {clean(k) if isinstance(k, str) else k: _clean_value(v) for k, v in value.items()}
    return value


def clean_result(result: NamedTuple) -> Any:
    """Every text in a result (a NamedTuple such as ``SubmissionResult``, nested NamedTuples,
    tuples, lists and dicts) sanitised, its ``path`` as a path; numbers untouched."""
    out = _clean_value(result)
    if "path" in getattr(out, "_fields", ()):
        out = out._replace(path=clean_path(result.path))
    return out
