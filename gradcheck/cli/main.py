"""The gradcheck command.

Prove the gradient formulas of a one-hidden-layer network right or wrong (verify), measure
what the checks catch (mutants, sensitivity, accuracy), grade student submissions in a
sandbox (grade), package the grader for Gradescope (autograder) and compare it with other
checkers (bench).  Times are typical on a 2-core machine."""

from __future__ import annotations

import argparse
import sys

from gradcheck.cli.args import add_common, check_out
from gradcheck.reports import plots
from gradcheck.reports import verify as reports
from gradcheck.reports.text import write

__all__ = ["main"]


def _cmd_verify(args) -> int:
    from gradcheck.checking.properties import PROPERTIES
    from gradcheck.checking.verify import verify
    from gradcheck.model import activations
    from gradcheck.reports.progress import Bar

    acts = activations.name_list(args.activations)
    bar = Bar(len(PROPERTIES) * len(acts) ** 2)
    failed = [0]

    def progress(run):
        failed[0] += not run.passed
        bar.step(f"{run.name} {run.hidden},{run.output}" + (f"  {failed[0]} failed" if failed[0] else ""))

    report = verify(activation_names=acts, examples=args.examples, seed=args.seed, progress=progress, jobs=args.jobs)
    print(reports.verify_table(report))
    png = plots.save(args.out, "verify", {"seed": args.seed})  # the V curve, None without matplotlib
    paths = write(
        args.out,
        {"verify.json": reports.verify_json(report), "verify.md": reports.verify_markdown(report, picture=png)},
    )
    paths += [png] if png else []
    print(f"wrote {', '.join(map(str, paths))}")
    return 0 if report.passed else 1


def _cmd_bench(args) -> int:
    """Run benchmarks/run.py of this source tree (it is not part of an installed wheel)."""
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
    if not script.is_file():
        print(f"bench: expected the benchmark at {script} (run from a clone of the repository)", file=sys.stderr)
        return 2
    argv = [str(script), "--out", args.out] + (["--quick"] if args.quick else [])
    saved, sys.argv = sys.argv, argv
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        sys.argv = saved
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gradcheck")
    except PackageNotFoundError:  # a source tree on sys.path, not installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradcheck", description=__doc__.split("\n", 1)[1].strip(), formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"gradcheck {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    v = sub.add_parser(
        "verify",
        help="confirm the spec's derivation, eq. (6) and (11), against autodiff and finite differences (~20 s)",
        description="Run every property of the spec's gradient formulas on every activation pair against both "
        "oracles; write verify.json and verify.md. Exit 1 if a property fails. About 20 s on 2 cores.",
    )
    add_common(v, examples=8, jobs=True)
    v.set_defaults(run=_cmd_verify)
    from gradcheck.cli.mistakes import add_parsers as add_mutants_parsers  # mutants, sensitivity, accuracy

    add_mutants_parsers(sub)
    from gradcheck.cli.grade import add_grade_parser

    add_grade_parser(sub)
    from gradcheck.cli.plots import add_plots_parser

    add_plots_parser(sub)
    from gradcheck.cli.autograder import add_autograder_parser

    add_autograder_parser(sub)
    b = sub.add_parser(
        "bench",
        help="speed and detection power against torch, jax and scipy checkers (~5 min; needs a clone)",
        description="Run benchmarks/run.py of this source tree (not part of an installed wheel); write "
        "bench.json and bench.md. About 5 min, or 1 min with --quick.",
    )
    b.add_argument("--quick", action="store_true", help="one repeat, detection at 1.1k only, 20 submissions")
    b.add_argument("--out", default="reports", help="output folder (default: reports)")
    b.set_defaults(run=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problem = check_out(getattr(args, "out", None))
    if problem:
        print(f"gradcheck {args.command}: error: {problem}", file=sys.stderr)
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
