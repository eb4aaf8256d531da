"""Pieces of a student's feedback (:func:`gradcheck.reports.grading.feedback_markdown`): the failing
case of a check, to paste and rerun."""

from __future__ import annotations

from gradcheck.grading.judge import CheckResult

__all__ = ["example_block"]


def example_block(c: CheckResult, seen: dict | None = None) -> list[str]:
    """Markdown lines: the check's failing case as an indented Python block ([] when there is none).
    ``seen`` (example → title of the check that showed it) avoids printing one case twice."""
    if not c.example:
        return []
    if seen is not None:
        if c.example in seen:
            return [f"  (the same failing case as for “{seen[c.example]}” above)"]
        seen[c.example] = c.title
    fence = "````" if "```" in c.example else "```"
    return (
        ["", "  A failing case to rerun:", "", f"  {fence}python"]
        + [f"  {line}" for line in c.example.splitlines()]
        + [f"  {fence}", ""]
    )
