"""The ``gradcheck`` command: verify the derivation, run the mistake catalogue (mutants,
sensitivity), grade student submissions, and run the benchmarks."""

from __future__ import annotations

import argparse
import sys

from gradcheck.cli.args import add_common
from gradcheck.reports import verify as reports
from gradcheck.reports.text import write

__all__ = ["main"]


def _cmd_verify(args) -> int:
    from gradcheck.checking.verify import verify

    def progress(run):
        mark = "." if run.passed else "F"
        print(mark, end="", flush=True, file=sys.stderr)

    report = verify(
        activation_names=args.activations, examples=args.examples, seed=args.seed, progress=progress, jobs=args.jobs
    )
    print(file=sys.stderr)
    print(reports.verify_table(report))
    paths = write(args.out, {"verify.json": reports.verify_json(report), "verify.md": reports.verify_markdown(report)})
    print(f"wrote {', '.join(map(str, paths))}")
    return 0 if report.passed else 1


def _cmd_bench(args) -> int:
    """Run benchmarks/run.py of this source tree (it is not part of an installed wheel)."""
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradcheck", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="confirm the spec's derivation against both oracles")
    add_common(v, examples=8, jobs=True)
    v.set_defaults(run=_cmd_verify)
    from gradcheck.cli.mistakes import add_parsers as add_mutants_parsers  # mutants, sensitivity

    add_mutants_parsers(sub)
    from gradcheck.cli.grade import add_grade_parser

    add_grade_parser(sub)
    b = sub.add_parser("bench", help="speed and detection power vs torch/jax/scipy checkers (benchmarks/run.py)")
    b.add_argument("--quick", action="store_true", help="one repeat, detection at 1.1k only, 20 submissions")
    b.add_argument("--out", default="reports", help="output folder (default: reports)")
    b.set_defaults(run=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
