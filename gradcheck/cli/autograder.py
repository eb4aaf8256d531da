"""The autograder subcommand: package the grader for a course platform.

gradcheck autograder gradescope [--out DIR] [grading options] writes DIR/autograder.zip: upload it
as the assignment's autograder on Gradescope (Configure Autograder, zip file upload). It holds
gradcheck as a wheel built from this checkout, setup.sh (installs it, non-editable, when Gradescope
builds the image) and run_autograder (grades each submission's .py and .ipynb files in the sandbox
and writes results/results.json). Takes about 10 s (building the wheel).
"""

from __future__ import annotations

import argparse
import sys

from gradcheck.cli.args import number
from gradcheck.deploy.results import VISIBILITIES

__all__ = ["add_autograder_parser"]


def add_autograder_parser(sub) -> argparse.ArgumentParser:
    from gradcheck.cli.grade import add_grading_options

    a = sub.add_parser(
        "autograder",
        help="build a Gradescope autograder.zip that grades with gradcheck (~10 s)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    platforms = a.add_subparsers(dest="platform", required=True, metavar="PLATFORM")
    g = platforms.add_parser(
        "gradescope",
        help="write autograder.zip for Gradescope",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("--out", default=".", help="folder for autograder.zip (default: the current folder)")
    g.add_argument("--points", type=number(float, 1e-9), default=100.0, help="the assignment's total (default 100)")
    g.add_argument(
        "--visibility",
        choices=VISIBILITIES,
        default="visible",
        metavar="V",
        help=f"when students see the results and the score: {', '.join(VISIBILITIES)} (default visible)",
    )
    g.add_argument(
        "--test-visibility",
        choices=VISIBILITIES,
        default=None,
        metavar="V",
        help="when students see each check (default: as --visibility)",
    )
    g.add_argument(
        "--stdout-visibility",
        choices=VISIBILITIES,
        default="hidden",
        metavar="V",
        help="when students see the grader's log (default hidden: it is the instructor's)",
    )
    g.add_argument(
        "--pip-install",
        action="append",
        default=[],
        metavar="SPEC",
        help="a package the students' code may import (e.g. matplotlib), installed by setup.sh; repeatable",
    )
    g.add_argument("--wheel", default=None, help="ship this gradcheck wheel instead of building one from the checkout")
    add_grading_options(g)
    g.set_defaults(run=run_gradescope)
    return g


def run_gradescope(args) -> int:
    from gradcheck.cli.grade import check_contract
    from gradcheck.deploy.gradescope import build_zip
    from gradcheck.deploy.results import Settings
    from gradcheck.grading.contract import ContractError

    problem = check_contract(args.contract)
    if problem:
        print(f"gradcheck autograder: error: {problem}", file=sys.stderr)
        return 2
    settings = Settings(
        points=args.points,
        visibility=args.visibility,
        test_visibility=args.test_visibility or args.visibility,
        stdout_visibility=args.stdout_visibility,
    )
    try:
        bundle = build_zip(
            args.out,
            settings=settings,
            activation=args.activation,
            timeout=args.timeout,
            memory_mb=args.memory_mb,
            seed=args.seed,
            isolation=args.isolation,
            contract=args.contract,
            requirements=tuple(args.pip_install),
            wheel=args.wheel,
        )
    except (ContractError, FileNotFoundError, ValueError, SyntaxError, ImportError) as exc:
        print(f"gradcheck autograder: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # pip could not build the wheel
        print(f"gradcheck autograder: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {bundle.path} ({bundle.size / 1024:.0f} KB: {', '.join(bundle.members)})")
    print("upload it on Gradescope: the assignment's Configure Autograder page, zip file upload")
    return 0
