"""The argument types every subcommand shares: one parser per kind of value.

Each wraps the library's own validator (:func:`gradcheck.model.shapes.positive_int`,
:func:`gradcheck.model.activations.name_list` / :func:`~gradcheck.model.activations.pair`),
so the command line and the Python API refuse the same values with the same words.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from gradcheck.model import activations
from gradcheck.model.shapes import positive_int

__all__ = ["activation_list", "activation_pair", "add_common", "check_out", "choice_list", "number", "positive"]

T = TypeVar("T")


def _argparse_errors(parse: Callable[[str], T]) -> Callable[[str], T]:
    def wrapped(text: str) -> T:
        try:
            return parse(text)
        except ValueError as exc:  # argparse prints "argument --x: <message>"
            raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None

    wrapped.__name__ = parse.__name__
    return wrapped


@_argparse_errors
def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"value: expected a positive integer, got {text!r}") from None
    return positive_int(value, "value") or 1


@_argparse_errors
def activation_list(text: str) -> list[str]:
    return list(activations.name_list(text))


@_argparse_errors
def activation_pair(text: str) -> str:
    activations.pair(text)
    return text


def number(kind: type, low: float) -> Callable[[str], float]:
    """A parser for ``kind`` values ≥ ``low``."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number ≥ {low}, got {text!r}") from None
        if not value >= low:
            raise argparse.ArgumentTypeError(f"expected a number ≥ {low}, got {text}")
        return value

    return parse


def choice_list(choices: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    """A parser for a comma-separated, non-empty subset of ``choices``."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(t.strip() for t in text.split(",") if t.strip())
        if not names or any(n not in choices for n in names):
            raise argparse.ArgumentTypeError(f"expected names from {','.join(choices)}, got {text!r}")
        return names

    return parse


def add_common(p: argparse.ArgumentParser, *, examples: int, jobs: bool = True) -> None:
    """--activations, --examples, --seed, [--jobs], --out: the options of verify, mutants and sensitivity."""
    p.add_argument(
        "--activations",
        type=activation_list,
        default=None,
        help=f"comma-separated subset of {','.join(activations.names())} (default: all)",
    )
    p.add_argument(
        "--examples",
        type=positive,
        default=examples,
        help=f"examples per property and activation pair (default {examples})",
    )
    p.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    if jobs:
        p.add_argument("--jobs", type=positive, default=None, help="worker processes (default: CPU count)")
    p.add_argument("--out", default="reports", help="output folder (default: reports)")


def check_out(out: str | None) -> str | None:
    """Why ``--out`` cannot take the reports, or None: checked before a long run, so that a typo
    does not cost the run, and without creating anything (a usage error leaves no folder behind)."""
    if out is None:
        return None
    path = Path(out)
    if path.exists() and not path.is_dir():
        return f"--out {out}: expected a folder, got a file"
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        return f"--out {out}: cannot create this folder ({existing} is not a folder)"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"--out {out}: cannot create or write this folder ({existing} is not writable)"
    return None
