"""Pieces of a student's feedback (:func:`gradcheck.reports.grading.feedback_markdown`): the failing
case of a check, to paste and rerun."""

from __future__ import annotations

from gradcheck.grading.judge import CheckResult

__all__ = ["example_block"]


def example_block(c: CheckResult) -> list[str]:
    """Markdown lines: the check's failing case as an indented Python block ([] when there is none)."""
    if not c.example:
        return []
    fence = "````" if "```" in c.example else "```"
    return (
        ["", "  A failing case to rerun:", "", f"  {fence}python"]
        + [f"  {line}" for line in c.example.splitlines()]
        + [f"  {fence}", ""]
    )
