"""The ``gradcheck mutants`` and ``gradcheck sensitivity`` subcommands (registered by :mod:`gradcheck.cli.main`)."""

from __future__ import annotations

import argparse

from gradcheck.cli.args import add_common, positive

__all__ = ["add_parsers"]


def _id_list(text: str) -> list[str]:
    from gradcheck.mistakes import catalogue as mistakes

    ids = [t.strip() for t in text.split(",") if t.strip()]
    for i in ids:
        if i not in mistakes.ids():
            raise argparse.ArgumentTypeError(f"expected catalogue ids ({', '.join(mistakes.ids())}), got {i!r}")
    return ids


def _cmd_mutants(args) -> int:
    from gradcheck.checking.properties import PROPERTIES
    from gradcheck.mistakes import catalogue
    from gradcheck.mistakes.mutants import mutants
    from gradcheck.reports import mistakes as mr
    from gradcheck.reports.progress import Bar
    from gradcheck.reports.text import write

    bar = Bar(len(PROPERTIES) + len(args.ids or catalogue.ids()))
    bad = [0]

    def progress(result):  # a MutantResult (ok: killed) or a control CheckSummary (passed)
        bad[0] += not getattr(result, "ok", getattr(result, "passed", False))
        name = getattr(result, "id", None) or getattr(result, "name", "")
        bar.step(f"{name}" + (f"  {bad[0]} survived or failed" if bad[0] else ""))

    report = mutants(
        activation_names=args.activations,
        examples=args.examples,
        seed=args.seed,
        ids=args.ids,
        all_killers=args.all_killers,
        jobs=args.jobs,
        progress=progress,
    )
    print(mr.mutants_table(report))
    paths = write(args.out, {"mutants.json": mr.mutants_json(report), "mutants.md": mr.mutants_markdown(report)})
    print(f"wrote {', '.join(map(str, paths))}")
    return 0 if report.passed else 1


def _cmd_sensitivity(args) -> int:
    import json

    from gradcheck.mistakes.sensitivity import sensitivity
    from gradcheck.model import activations
    from gradcheck.reports import mistakes as mr
    from gradcheck.reports import plots
    from gradcheck.reports.progress import Bar
    from gradcheck.reports.text import write

    acts = activations.name_list(args.activations)
    bar = Bar(len(acts))
    report = sensitivity(
        activation_names=acts, examples=args.examples, seed=args.seed, jobs=args.jobs, progress=lambda a: bar.step(a)
    )
    print(mr.sensitivity_table(report))
    png = plots.save(args.out, "sensitivity", json.loads(mr.sensitivity_json(report)))  # None without matplotlib
    paths = write(
        args.out,
        {
            "sensitivity.json": mr.sensitivity_json(report),
            "sensitivity.md": mr.sensitivity_markdown(report, picture=png),
        },
    )
    paths += [png] if png else []
    print(f"wrote {', '.join(map(str, paths))}")
    worst = max(report.worst(a) for a in dict.fromkeys(r.activation for r in report.rows))
    return 0 if worst <= 1e-6 else 1


def _cmd_accuracy(args) -> int:
    from gradcheck.diagnosis.accuracy import accuracy
    from gradcheck.reports.diagnosis import accuracy_json, accuracy_markdown
    from gradcheck.reports.text import write

    a = accuracy(cases=args.cases, seed=args.seed)
    paths = write(args.out, {"diagnosis.json": accuracy_json(a), "diagnosis.md": accuracy_markdown(a)})
    print(accuracy_markdown(a))
    print(f"wrote {', '.join(map(str, paths))}")
    return 0 if a.top1_rate >= 0.95 and not a.control_false_alarms else 1


def add_parsers(sub) -> None:
    m = sub.add_parser(
        "mutants",
        help="run every property against every catalogue mistake; exit 1 if one survives (~1-3 min)",
        description="Run every property of verify against every mistake of the catalogue (a wrong formula) on "
        "every activation pair, and the right formulas as the control; write mutants.json and mutants.md with "
        "the killing property and the shrunk example of each. Exit 1 if a mutant survives or the control "
        "fails. About 3 min on 2 idle cores with the defaults (8 min on a loaded machine).",
    )
    add_common(m, examples=10)
    m.add_argument("--ids", type=_id_list, default=None, help="comma-separated catalogue ids (default: all)")
    m.add_argument(
        "--all-killers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also list every property that kills each mutant on its shrink pair (default; ~30 %% more CPU)",
    )
    m.set_defaults(run=_cmd_mutants)
    s = sub.add_parser(
        "sensitivity",
        help="the smallest relative perturbation δ of a gradient the default checks detect (~20 s)",
        description="Perturb the right gradient by a relative δ (on ∇θ, on ∇w_h, on its largest entry) over "
        "a grid of δ and find the smallest the default checks detect, per regime of |ŷ − y|, beside torch's "
        "default criterion; write sensitivity.json and sensitivity.md. About 20 s with the defaults.",
    )
    add_common(s, examples=20)
    s.set_defaults(run=_cmd_sensitivity)
    a = sub.add_parser(
        "accuracy",
        help="how often the diagnosis names the mistake that made a wrong gradient (~25 s)",
        description="Make wrong gradients from random (catalogue mistake, problem) cases and check that the "
        "diagnosis names the mistake; write diagnosis.json and diagnosis.md. Exit 1 below 95 % top-1 or on "
        "a false alarm on a right gradient. About 25 s with the defaults.",
    )
    a.add_argument("--cases", type=positive, default=1000, help="random (mistake, problem) cases (default 1000)")
    a.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    a.add_argument("--out", default="reports", help="output folder (default: reports)")
    a.set_defaults(run=_cmd_accuracy)
