"""The ``gradcheck mutants`` and ``gradcheck sensitivity`` subcommands (registered by :mod:`gradcheck.cli`)."""
from __future__ import annotations

import argparse
import sys

from . import activations
from .cli import _activation_list, _positive

__all__ = ["add_parsers"]


def _id_list(text: str) -> list[str]:
    from . import mistakes
    ids = [t.strip() for t in text.split(",") if t.strip()]
    for i in ids:
        if i not in mistakes.ids():
            raise argparse.ArgumentTypeError(f"expected catalogue ids ({', '.join(mistakes.ids())}), got {i!r}")
    return ids


def _cmd_mutants(args) -> int:
    from . import mutant_reports as mr
    from .mutants import mutants
    from .reports import write

    def progress(result):
        print("." if getattr(result, "ok", getattr(result, "passed", False)) else "F", end="", flush=True, file=sys.stderr)

    report = mutants(activation_names=args.activations, examples=args.examples, seed=args.seed, ids=args.ids,
                     all_killers=args.all_killers, jobs=args.jobs, progress=progress)
    print(file=sys.stderr)
    print(mr.mutants_table(report))
    paths = write(args.out, {"mutants.json": mr.mutants_json(report), "mutants.md": mr.mutants_markdown(report)})
    print(f"wrote {', '.join(map(str, paths))}")
    return 0 if report.passed else 1


def _cmd_sensitivity(args) -> int:
    from . import mutant_reports as mr
    from .reports import write
    from .sensitivity import sensitivity

    report = sensitivity(activation_names=args.activations, examples=args.examples, seed=args.seed, jobs=args.jobs)
    print(mr.sensitivity_table(report))
    paths = write(args.out, {"sensitivity.json": mr.sensitivity_json(report),
                             "sensitivity.md": mr.sensitivity_markdown(report)})
    print(f"wrote {', '.join(map(str, paths))}")
    worst = max(report.worst(a) for a in dict.fromkeys(r.activation for r in report.rows))
    return 0 if worst <= 1e-6 else 1


def _common(p, *, examples: int):
    p.add_argument("--activations", type=_activation_list, default=None,
                   help=f"comma-separated subset of {','.join(activations.names())} (default: all)")
    p.add_argument("--examples", type=_positive, default=examples, help=f"examples per property and pair (default {examples})")
    p.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    p.add_argument("--jobs", type=_positive, default=None, help="worker processes (default: CPU count)")
    p.add_argument("--out", default="reports", help="output folder (default: reports)")


def add_parsers(sub) -> None:
    m = sub.add_parser("mutants", help="run every property against every catalogue mistake; exit 1 if one survives")
    _common(m, examples=10)
    m.add_argument("--ids", type=_id_list, default=None, help="comma-separated catalogue ids (default: all)")
    m.add_argument("--all-killers", action=argparse.BooleanOptionalAction, default=True,
                   help="also list every property that kills each mutant on its shrink pair (default; ~30 %% more CPU)")
    m.set_defaults(run=_cmd_mutants)
    s = sub.add_parser("sensitivity", help="smallest relative perturbation δ the default checks detect")
    _common(s, examples=20)
    s.set_defaults(run=_cmd_sensitivity)
