"""The ``bench report`` subcommand: HTML and PDF reports from stored results.

``bench report RUN... --out DIR`` reads result directories (or a folder such as
``results/``, searched recursively), builds every table and figure their stored files
allow, marks the rest missing with the command that produces it, and writes
``DIR/report.html`` (self-contained), ``DIR/report.pdf`` and ``DIR/report-index.json``
(the list of blocks). It never recomputes a proxy.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bench.errors import UserError

log = logging.getLogger(__name__)

EXAMPLES = """\
examples:
  bench report results --out docs/example-report
  bench report results/table1-trained-cpu results/seed-stability-trained-cpu --out reports/out
  bench report runs/quick --out runs/quick/report --no-pdf
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``bench report`` to the CLI."""
    parser = subparsers.add_parser(
        "report",
        help="HTML and PDF report (Tables 1-8, figures) from stored results",
        description="Build report.html (one self-contained file) and report.pdf from result directories made by `bench run` "
                    "(and by `bench search` / `bench evaluate`, proxy cost files and ablation tables). A folder such as results/ "
                    "is searched recursively. Tables and figures whose results are absent are listed with the command that makes them.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("runs", metavar="RUN", nargs="+", help="result directories, or folders holding them (e.g. results/)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory for report.html, report.pdf and report-index.json")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples when τ/ρ must be computed from stored rows (default 1000)")
    parser.add_argument("--bootstrap-seed", type=int, default=0, help="seed of that resampling (default 0)")
    parser.add_argument("--no-pdf", action="store_true", help="write the HTML only")
    parser.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Handler of ``bench report``."""
    from bench.store.writer import write_atomic
    from reports.build import build_report
    from reports.html import render_html
    from reports.load import discover
    from reports.pdf import render_pdf

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a directory (it is created when missing)")
    if args.bootstrap < 0:
        raise UserError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    results = discover(args.runs)
    if results.empty():
        skipped = "; ".join(f"{n}: {why}" for n, why in results.skipped)
        raise UserError(f"no stored results found in {', '.join(args.runs)}" + (f" (skipped {skipped})" if skipped else "")
                        + "; give run directories made by `bench run`, or a folder holding them")
    report = build_report(results, args.bootstrap, args.bootstrap_seed, progress=not args.no_progress)
    html = render_html(report)
    write_atomic(out / "report.html", html)
    write_atomic(out / "report-index.json", report.index_json())
    written = [out / "report.html", out / "report-index.json"]
    pages = None
    if not args.no_pdf:
        pages = render_pdf(report, out / "report.pdf")
        written.append(out / "report.pdf")
    for figure in report.figures():
        figure.figure.clear()
    tables, figures, missing = len(report.tables()), len(report.figures()), len(report.missing())
    print(f"report: {tables} tables, {figures} figures, {missing} missing results (with the commands that make them)"
          + (f", {pages} PDF pages" if pages is not None else ""))
    for path in written:
        print(f"  {path} ({path.stat().st_size / 1024:,.0f} KiB)")
    for name, why in report.skipped:
        print(f"  skipped {name}: {why}")
    return 0
