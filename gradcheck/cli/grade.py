"""``gradcheck grade PATH...``: grade student files, write reports, exit 0 whatever the scores.

Exit status: 0 when grading completed (any scores); 2 for a usage error (bad option,
no such path, no .py file found, a broken --contract file); 3 when this machine
cannot run untrusted code safely (no namespaces and no unprivileged fallback).
"""

from __future__ import annotations

import argparse
import os
import sys

from gradcheck.cli.args import activation_pair, choice_list, number
from gradcheck.reports.grading import FORMATS, Progress, render_reports, summary_table, write_rendered
from gradcheck.reports.sanitise import one_line

__all__ = ["add_grade_parser", "run_grade"]

DEFAULT_OUT = "reports/grades"
DEFAULT_JOBS = min(8, 2 * (os.cpu_count() or 1))  # a run waits on its child and on the disk half the time


def add_grade_parser(sub) -> argparse.ArgumentParser:
    g = sub.add_parser(
        "grade",
        help="grade student submissions (untrusted code, run in a sandbox)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("paths", nargs="+", metavar="PATH", help="submission files, or folders (every *.py inside)")
    g.add_argument("--out", default=DEFAULT_OUT, help=f"report folder (default: {DEFAULT_OUT})")
    g.add_argument(
        "--jobs",
        type=number(int, 1),
        default=DEFAULT_JOBS,
        help=f"submissions graded at once (default {DEFAULT_JOBS}: twice the CPUs, at most 8)",
    )
    g.add_argument("--timeout", type=number(float, 0.5), default=10.0, help="seconds per child run (default 10)")
    g.add_argument("--memory-mb", type=number(int, 64), default=1024, help="address-space limit (default 1024)")
    g.add_argument(
        "--activation",
        type=activation_pair,
        default=None,
        help="NAME or HIDDEN,OUTPUT (default: detected from the student's forward_pass)",
    )
    g.add_argument("--contract", default="ftml", help="ftml (default) or an adapter file path.py")
    g.add_argument(
        "--format", type=choice_list(FORMATS), default=FORMATS, help=f"comma-separated subset of {','.join(FORMATS)}"
    )
    g.add_argument("--seed", type=number(int, 0), default=0, help="problem-set seed (default 0; deterministic)")
    g.add_argument(
        "--isolation",
        choices=("auto", "namespaces", "session"),
        default="auto",
        help="sandbox mode (default auto: namespaces when available)",
    )
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(run=run_grade)
    return g


def run_grade(args) -> int:
    from gradcheck.grading.contract import ContractError, load_contract
    from gradcheck.grading.grade import collect_paths, grade_many
    from gradcheck.grading.sandbox.runner import SandboxUnavailable

    try:
        contract = load_contract(args.contract)
        files = collect_paths(args.paths)
    except (ContractError, FileNotFoundError, SyntaxError, ImportError) as exc:
        print(f"gradcheck grade: error: {exc}", file=sys.stderr)
        return 2
    if not files:
        print("gradcheck grade: error: no .py files found in " + ", ".join(args.paths), file=sys.stderr)
        return 2
    try:
        results = grade_many(
            files,
            jobs=args.jobs,
            progress=None if args.quiet else Progress(),
            contract=contract,
            seed=args.seed,
            activation=args.activation,
            timeout=args.timeout,
            memory_mb=args.memory_mb,
            isolation=args.isolation,
        )
    except SandboxUnavailable as exc:
        print(f"gradcheck grade: cannot run untrusted code here: {exc}", file=sys.stderr)
        return 3
    # reports first: whatever the terminal does, results.json is on disk
    files = render_reports(results, formats=args.format, seed=args.seed, contract=contract.name)
    write_rendered(files, args.out)
    _say(summary_table(results), sys.stdout)
    for file in files:
        if file.error:
            _say(f"gradcheck grade: a report could not be rendered, wrote a stand-in: {file.error}", sys.stderr)
    _say(f"wrote {len(files)} file(s) under {one_line(args.out)}", sys.stdout)
    return 0


def _say(text: str, stream) -> None:
    """One message on a terminal whatever its encoding (the text is already sanitised)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    stream.write(text.encode(encoding, "replace").decode(encoding, "replace") + "\n")
    stream.flush()
