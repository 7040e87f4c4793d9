"""The ``bench report`` subcommand: HTML and PDF reports from stored results.

``bench report RUN... --out DIR`` reads result directories (or a folder such as
``results/``, searched recursively), first runs the analyses the report needs that they
lack (:func:`store_missing_analyses`) and stores them in the result directories, then
builds every table and figure the stored files allow (:mod:`reports`, which reads stored
numbers only), marks the rest missing with the command that produces it, and writes
``DIR/report.html`` (self-contained), ``DIR/report.pdf`` and ``DIR/report-index.json``
(the list of blocks). It never recomputes a proxy.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from bench.errors import UserError
from bench.store import schema
from bench.store.writer import remove_temporaries, write_atomic

if TYPE_CHECKING:
    import pandas as pd

    from reports.load import ProxyRun, Results

log = logging.getLogger(__name__)

#: Ground-truth task of the ablation table (the GLUE mean).
GLUE = "glue"
#: File name of the ablation table ``bench report`` stores beside the ablation runs.

EXAMPLES = """\
examples:
  bench report results --out docs/example-report
  bench report results/table1-trained-cpu results/seed-stability-trained-cpu --out reports/out
  bench report runs/quick --out runs/quick/report --no-pdf
  bench report results --out /tmp/report --no-figure-cache --jobs 1
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
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples of the τ/ρ the report stores for a run that lacks current ones (default 1000)")
    parser.add_argument("--bootstrap-seed", type=int, default=0, help="seed of that resampling (default 0)")
    parser.add_argument("--no-pdf", action="store_true", help="write the HTML only")
    parser.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")
    parser.add_argument("--figure-cache", metavar="DIR", default=None,
                        help="where rendered figures are kept by the hash of their inputs (default: $PROXYBENCH_FIGURE_CACHE, "
                             "else ~/.cache/proxybench/figures)")
    parser.add_argument("--no-figure-cache", action="store_true", help="render every figure and keep none")
    parser.add_argument("--jobs", type=int, default=2, help="processes that render figures and PDF pages (default 2)")
    parser.set_defaults(handler=run_report)


def _provenance_columns(table: pd.DataFrame, n_boot: int | None = None, boot_seed: int | None = None) -> pd.DataFrame:
    """``table`` with the columns that say ``bench report`` made it, and with which bootstrap."""
    from reports.load.files import BOOT_SEED, BY_REPORT, N_BOOT, WRITTEN_BY

    extra = {N_BOOT: n_boot, BOOT_SEED: boot_seed}
    table = table.drop(columns=[c for c in (WRITTEN_BY, N_BOOT, BOOT_SEED) if c in table.columns])
    return table.assign(**{k: v for k, v in extra.items() if v is not None}, **{WRITTEN_BY: BY_REPORT})


def store_correlations(run: ProxyRun, n_boot: int, boot_seed: int) -> Path:
    """Compute and store ``correlations.csv`` of a benchmark run: τ/ρ (and the other statistics of
    :func:`bench.analysis.stats.correlation_table`) of the run's first seed against its main task
    and every task its previous ``correlations.csv`` held, as ``bench correlate RUN --tasks ...
    --bootstrap N --bootstrap-seed S`` would, recording ``n_boot``, ``bootstrap_seed`` and
    ``written_by``. Replaces a ``correlations.csv`` that does not cover the current rows."""
    from bench.analysis.stats import correlation_table

    assert run.truth is not None, "a benchmark run has ground truth"
    previous = run.correlations
    tasks = list(dict.fromkeys([run.main_task, *(previous["task"].astype(str) if previous is not None and "task" in previous.columns else [])]))
    seed = run.seeds[0]
    directions = {p: bool(info.get("higher_is_better", True)) for p, info in run.proxy_info.items()}
    table = correlation_table(run.rows, run.truth, seed, tasks, n_boot, boot_seed, directions)
    table.insert(0, "seed", seed)
    table.insert(1, "split", "all")
    path = run.path / schema.correlations_file("all")
    if previous is not None:
        log.warning("%s does not cover the run's current rows (or was made with other bootstrap settings); replacing it", path)
    write_atomic(path, _provenance_columns(table, n_boot, boot_seed).to_csv(index=False))
    return path


def store_stability(run: ProxyRun) -> Path:
    """Compute and store ``stability.csv`` of a multi-seed run, as ``bench stability RUN`` would,
    recording ``written_by``."""
    from bench.analysis.stability import stability_table

    path = run.path / schema.STABILITY
    write_atomic(path, _provenance_columns(stability_table(run.rows)).to_csv(index=False))
    return path


def ablation_folder(run: ProxyRun) -> Path:
    """The folder that holds an ablation run (the nearest one :func:`reports.load.runs.is_ablation_folder` accepts)."""
    from reports.load.runs import is_ablation_folder

    return next((p for p in run.path.parents if is_ablation_folder(p.name)), run.path.parent)


def store_ablation(reference: ProxyRun, runs: list[ProxyRun], n_boot: int = 0) -> Path | None:
    """Compute and store the ablation table of ``runs`` against ``reference`` (as ``bench ablation
    REFERENCE RUN... --bootstrap N --out FILE`` would) in :data:`schema.REPORT_ABLATION` beside the
    ablation runs, recording ``n_boot`` and ``written_by``; ``None`` when the runs cannot be compared."""
    from bench.analysis.ablation import ablation_table

    try:
        table = ablation_table([reference.path, *(r.path for r in runs)], GLUE, n_boot)
    except UserError as exc:
        log.warning("no ablation table from the ablation runs: %s", exc)
        return None
    path = ablation_folder(runs[0]) / schema.REPORT_ABLATION
    write_atomic(path, _provenance_columns(table.drop(columns=["config"]), n_boot).to_csv(index=False))
    return path


def store_missing_analyses(results: Results, n_boot: int, boot_seed: int) -> list[Path]:
    """Run and store the analyses the report reads that the discovered results lack; returns
    the files written. ``results`` is updated to hold what was stored.

    * per benchmark run (:func:`reports.build.benchmark_runs`) without a stored τ/ρ table that
      covers its current rows: :func:`store_correlations` with ``n_boot`` / ``boot_seed``;
    * per multi-seed run without a current ``stability.csv``: :func:`store_stability`;
    * when ablation runs but no ablation table written by ``bench ablation`` are found:
      :func:`store_ablation` (no bootstrap) against the first benchmark run, rewritten on
      every report.
    """
    from reports.build import ablation_runs, benchmark_runs, stability_runs
    from reports.load import read_ablation
    from reports.section_analysis import stored_stability
    from reports.section_benchmark import main_correlations

    written: list[Path] = []
    main_runs = benchmark_runs(results)
    for run in main_runs:
        if main_correlations(run, n_boot, boot_seed) is None:
            for part in run.parts or [run]:  # companion runs joined for the report: each stores its own
                if main_correlations(part, n_boot, boot_seed) is None:
                    written.append(store_correlations(part, n_boot, boot_seed))
            run.reload_statistics()
    for run in stability_runs(results):
        if stored_stability(run) is None:
            written.append(store_stability(run))
            run.reload_statistics()
    columns = ablation_runs(results)
    if columns and main_runs and not any(not a.by_report for a in results.ablations):
        path = store_ablation(main_runs[0], columns)
        stored = read_ablation(path) if path is not None else None
        results.ablations = [a for a in results.ablations if not a.by_report] + ([stored] if stored is not None else [])
        if path is not None:
            written.append(path)
    for path in written:
        log.info("stored %s", path)
    return written


def run_report(args: argparse.Namespace) -> int:
    """Handler of ``bench report``."""
    from reports.build import build_report
    from reports.html import render_html
    from reports.load import discover
    from reports import rasters
    from reports.pdf import render_pdf

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a directory (it is created when missing)")
    if args.bootstrap < 0:
        raise UserError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    if args.jobs < 1:
        raise UserError(f"--jobs must be >= 1, got {args.jobs}")
    results = discover(args.runs)
    if results.empty():
        skipped = "; ".join(f"{n}: {why}" for n, why in results.skipped)
        raise UserError(f"no stored results found in {', '.join(args.runs)}" + (f" (skipped {skipped})" if skipped else "")
                        + "; give run directories made by `bench run`, or a folder holding them")
    for name in ("report.html", "report-index.json", "report.pdf"):
        remove_temporaries(out / name)  # left by a report that was killed while writing
    store_missing_analyses(results, args.bootstrap, args.bootstrap_seed)
    report = build_report(results, args.bootstrap, args.bootstrap_seed, progress=not args.no_progress)
    cache = None if args.no_figure_cache else Path(args.figure_cache) if args.figure_cache else rasters.cache_dir()
    rasters.attach(report, cache=cache, jobs=args.jobs)
    html = render_html(report)
    write_atomic(out / "report.html", html)
    write_atomic(out / "report-index.json", report.index_json())
    written = [out / "report.html", out / "report-index.json"]
    pages = None
    if not args.no_pdf:
        pages = render_pdf(report, out / "report.pdf", jobs=args.jobs)
        written.append(out / "report.pdf")
    for figure in report.figures():
        figure.release()
    tables, figures, missing = len(report.tables()), len(report.figures()), len(report.missing())
    print(f"report: {tables} tables, {figures} figures, {missing} missing results (with the commands that make them)"
          + (f", {pages} PDF pages" if pages is not None else ""))
    for path in written:
        print(f"  {path} ({path.stat().st_size / 1024:,.0f} KiB)")
    for name, why in report.skipped:
        print(f"  skipped {name}: {why}")
    return 0
