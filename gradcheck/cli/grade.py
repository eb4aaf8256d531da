"""The grade subcommand: grade student files, write reports, exit 0 whatever the scores.

Exit status: 0 when grading completed (any scores); 2 for a usage error (a bad option, an
--out folder that cannot be written, no such path, a file that is not .py or .ipynb, no
submission found, a missing or broken --contract file, notebooks without nbformat); 3 when
this machine cannot run untrusted code safely (no namespaces and no unprivileged fallback).
Each submission takes about 1 to 3 s (a timeout or a crash: up to --timeout).
"""

from __future__ import annotations

import argparse
import os
import sys

from gradcheck.cli.args import activation_pair, choice_list, number
from gradcheck.reports.grading import FORMATS, Progress, render_reports, summary_table, write_rendered
from gradcheck.reports.sanitise import one_line

__all__ = ["add_grade_parser", "add_grading_options", "check_contract", "run_grade"]

DEFAULT_OUT = "reports/grades"
DEFAULT_JOBS = min(8, 2 * (os.cpu_count() or 1))  # a run waits on its child and on the disk half the time


def add_grade_parser(sub) -> argparse.ArgumentParser:
    g = sub.add_parser(
        "grade",
        help="grade student .py or .ipynb submissions in a sandbox; write feedback (~1-3 s per file)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="submission files (.py, .ipynb), or folders (every .py and .ipynb inside)",
    )
    g.add_argument("--out", default=DEFAULT_OUT, help=f"report folder (default: {DEFAULT_OUT})")
    g.add_argument(
        "--jobs",
        type=number(int, 1),
        default=DEFAULT_JOBS,
        help=f"submissions graded at once (default {DEFAULT_JOBS}: twice the CPUs, at most 8)",
    )
    add_grading_options(g)
    g.add_argument(
        "--format", type=choice_list(FORMATS), default=FORMATS, help=f"comma-separated subset of {','.join(FORMATS)}"
    )
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(run=run_grade)
    return g


def add_grading_options(g: argparse.ArgumentParser) -> None:
    """--timeout, --memory-mb, --activation, --contract, --seed, --isolation: how a submission is graded."""
    g.add_argument("--timeout", type=number(float, 0.5), default=10.0, help="seconds per child run (default 10)")
    g.add_argument("--memory-mb", type=number(int, 64), default=1024, help="address-space limit (default 1024)")
    g.add_argument(
        "--activation",
        type=activation_pair,
        default=None,
        help="NAME or HIDDEN,OUTPUT (default: detected from the student's forward_pass)",
    )
    g.add_argument("--contract", default="ftml", help="ftml (default) or an adapter file path.py")
    g.add_argument("--seed", type=number(int, 0), default=0, help="problem-set seed (default 0; deterministic)")
    g.add_argument(
        "--isolation",
        choices=("auto", "namespaces", "session"),
        default="auto",
        help="sandbox mode (default auto: namespaces when available)",
    )


def run_grade(args) -> int:
    from gradcheck.grading.grade import grade_many
    from gradcheck.grading.sandbox.runner import SandboxUnavailable

    problem, contract, files = prepare(args)
    if problem:
        print(f"gradcheck grade: error: {problem}", file=sys.stderr)
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


def prepare(args) -> tuple[str | None, object, list]:
    """(the usage error or None, the contract, the files): everything checked before any grading."""
    from gradcheck.grading import notebook
    from gradcheck.grading.contract import ContractError, load_contract
    from gradcheck.grading.files import collect_paths

    problem = check_contract(args.contract)
    if problem:
        return problem, None, []
    try:
        contract = load_contract(args.contract)
        files = collect_paths(args.paths)
    except (ContractError, FileNotFoundError, ValueError, SyntaxError, ImportError) as exc:
        return str(exc), None, []
    if not files:
        return "no .py or .ipynb files found in " + ", ".join(args.paths), None, []
    if any(f.suffix.lower() == notebook.NOTEBOOK_SUFFIX for f in files) and not notebook.available():
        return notebook.INSTALL_HINT, None, []
    return None, contract, files


def check_contract(spec: str) -> str | None:
    """A missing adapter file is said to be missing (not "expected an adapter .py file")."""
    from pathlib import Path

    from gradcheck.grading.contract import CONTRACTS

    if spec in CONTRACTS or Path(spec).is_file():
        return None
    expected = f"expected {', '.join(CONTRACTS)} or an adapter .py file"
    return f"--contract {spec}: {'no such file' if not Path(spec).exists() else 'not a file'} ({expected})"
