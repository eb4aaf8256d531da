"""Pieces of a student's feedback (:func:`gradcheck.reports.grading.feedback_markdown`): the failing
case of a check, to paste and rerun."""

from __future__ import annotations

from gradcheck.grading.judge import CheckResult
from gradcheck.reports.sanitise import md_block

__all__ = ["example_block"]


def example_block(c: CheckResult, seen: dict | None = None) -> list[str]:
    """Markdown lines: the check's failing case as an indented Python block ([] when there is none);
    the text passes the sanitising boundary (:func:`gradcheck.reports.sanitise.md_block`).
    ``seen`` (example → title of the check that showed it) avoids printing one case twice."""
    if not c.example:
        return []
    if seen is not None:
        if c.example in seen:
            return [f"  (the same failing case as for “{seen[c.example]}” above)"]
        seen[c.example] = c.title
    block = md_block(c.example, info="python")  # a fence longer than any backtick run inside it
    return ["", "  A failing case to rerun:", ""] + [f"  {line}" for line in block.splitlines()] + [""]
