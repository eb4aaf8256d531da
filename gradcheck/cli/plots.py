"""``gradcheck plots [--dir reports]``: redraw the reports' pictures from their committed JSON (seconds)."""

from __future__ import annotations

import sys

__all__ = ["add_plots_parser"]


def _cmd_plots(args) -> int:
    from gradcheck.reports import figures
    from gradcheck.reports.plots import write_plots

    if not figures.available():
        print(f"gradcheck plots: the pictures need matplotlib: {figures.INSTALL_HINT}", file=sys.stderr)
        return 2
    written = write_plots(args.dir, stems=args.only or ("bench", "sensitivity", "verify"))
    for path in written:
        print(f"wrote {path}")
    if not written:
        print(f"gradcheck plots: no bench.json, sensitivity.json or verify.json in {args.dir}", file=sys.stderr)
        return 2
    return 0


def add_plots_parser(sub):
    p = sub.add_parser(
        "plots",
        help="redraw reports/*.png from the JSON reports, linked from the Markdown (~10 s; needs gradcheck[report])",
    )
    p.add_argument("--dir", default="reports", help="folder of the JSON and Markdown reports (default: reports)")
    p.add_argument(
        "--only",
        type=lambda s: [t.strip() for t in s.split(",") if t.strip()],
        default=None,
        help="comma-separated subset of bench,sensitivity,verify",
    )
    p.set_defaults(run=_cmd_plots)
    return p
