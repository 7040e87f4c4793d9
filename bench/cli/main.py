"""The ``bench`` command line.

Subcommands:
  run        score architectures of a space with proxies into a run directory
  list       list proxies, spaces, model variants or scales
  correlate  Kendall τ / Spearman ρ of each proxy against the benchmark's GLUE scores
  table1     the paper's Table 1 from a benchmark run, with the paper's numbers beside ours
  stability  seed stability of each proxy in a multi-seed run (Figure 4)
  verify     rerun a committed run's config and check its correlations (regression check)
  ablation   one proxy table across runs that differ in one setting

Run ``bench SUBCOMMAND --help`` for the options and examples of each.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from bench import __version__
from bench.cli.argtypes import add_common_options, csv_list, positive_int, proxy_option
from bench.errors import UserError, user_errors

log = logging.getLogger("bench")

RUN_EXAMPLES = """\
examples:
  bench run --proxies all --space flexibert --archs benchmark --limit 8 --out runs/quick
  bench run --proxies params,w-pca --archs benchmark --scale cpu --jobs 2 --out runs/table1
  bench run --proxies 'v-*' --archs 100 --seed 0-9 --out runs/seeds
  bench run --proxies w-pca --proxy-option w-pca.eta=0.95 --archs my_archs.json --out runs/mine
  bench run --plugin my_proxies --proxies my-proxy --out runs/plugin

Rerunning the same command resumes an interrupted run; a different config in the same
--out directory is refused.
"""

CORRELATE_EXAMPLES = """\
examples:
  bench correlate runs/quick
  bench correlate runs/table1 --tasks all --bootstrap 2000
  bench correlate results/table1-trained-cpu results/baselines-trained-cpu --metrics all --split test
"""


def _seeds(text: str) -> list[int]:
    from bench.seeding import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad seed list {text!r} ({exc}); use 0, 0,3,5 or 0-9") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Benchmark training-free architecture proxies of transformer language models.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `bench SUBCOMMAND --help` for each subcommand's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"proxybench {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="logging verbosity (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    run = sub.add_parser("run", help="score architectures with proxies", description="Score architectures of a search space with registered proxies and store one row per architecture x proxy x seed.", epilog=RUN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--proxies", default="all", help="comma-separated proxy names, aliases or globs ('all', 'head-*'); default all")
    run.add_argument("--exclude", default="", help="comma-separated names or globs to leave out")
    run.add_argument("--space", default="flexibert", help="search space (see `bench list spaces`); default flexibert")
    run.add_argument("--variant", default=None, help="model variant of the space (see `bench list variants`); default: the space's first")
    run.add_argument("--archs", default="benchmark", help="'benchmark' (the 500 trained FlexiBERT models), 'deciles' (one per GLUE decile), a number N of architectures sampled uniformly, or a JSON file of architectures; default benchmark")
    run.add_argument("--limit", type=positive_int, default=None, help="keep K architectures (for 'benchmark': spread evenly over the GLUE ranking)")
    run.add_argument("--seed", type=_seeds, default=[0], help="initialisation seed(s): 0, 0,3,5 or 0-9; default 0")
    run.add_argument("--sample-seed", type=int, default=0, help="seed of the input batch and of sampled architectures; default 0")
    run.add_argument("--scale", default="smoke", help="smoke | cpu | paper: sets the default batch size and sequence length; default smoke")
    run.add_argument("--batch-size", type=positive_int, default=None, help="proxy input batch size (overrides the scale)")
    run.add_argument("--seq-len", type=positive_int, default=None, help="proxy input sequence length in tokens (overrides the scale)")
    run.add_argument("--text", default="wikitext-2", help="input text source: wikitext-2 (validation split, default), wikitext-2-test, or glue-sst2 (SST-2 training sentences)")
    run.add_argument("--mode", choices=["eval", "train"], default="eval", help="model mode during the pass: eval (no dropout, default) or train (seeded dropout)")
    run.add_argument("--loss", default="token-ce", help="loss for gradient-based proxies: token-ce (tied-decoder token cross-entropy, default) or ones (sum of the last hidden state, as the published code; degenerate, see docs)")
    run.add_argument("--init", default="default", help="weight initialisation: default (the space's own, BERT N(0, 0.02)), xavier-uniform, kaiming-normal or torch-default")
    run.add_argument("--proxy-option", type=proxy_option, action="append", default=[], metavar="PROXY.OPTION=VALUE", help="set a proxy option, e.g. w-pca.eta=0.95 (repeatable)")
    run.add_argument("--plugin", action="append", default=[], metavar="MODULE", help="import a module that registers proxies (repeatable)")
    add_common_options(run)
    run.add_argument("--jobs", type=positive_int, default=1, help="worker processes (joblib); default 1")
    run.add_argument("--backend", default="joblib", choices=["joblib", "dask"], help="joblib worker processes (default) or a dask.distributed cluster")
    run.add_argument("--scheduler", default=None, metavar="ADDRESS", help="dask scheduler address for --backend dask, e.g. tcp://10.0.0.1:8786")
    run.add_argument("--out", default=None, help="run directory; default runs/SPACE-SCALE")

    lst = sub.add_parser("list", help="list proxies, spaces, variants or scales", description="List what the harness knows.")
    lst.add_argument("what", choices=["proxies", "spaces", "variants", "scales"], help="what to list")
    lst.add_argument("--plugin", action="append", default=[], metavar="MODULE", help="import a module that registers proxies first (repeatable)")

    cor = sub.add_parser("correlate", help="rank correlations of a run against ground truth", description="Kendall tau, Spearman rho and Pearson r (signed), precision at top-k and best true rank, each with a percentile-bootstrap 95%% CI, of each proxy in one or more runs against the GLUE mean and each GLUE task. Writes correlations.csv (correlations-tune.csv / -test.csv for a split) into the first run directory.", epilog=CORRELATE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    cor.add_argument("run_dirs", metavar="RUN", nargs="+", help="run directories made by `bench run` over the same benchmark architectures (their proxies are analysed together)")
    cor.add_argument("--split", choices=["all", "tune", "test"], default="all", help="all architectures (default), or the tune / held-out test half of a fixed seeded split")
    cor.add_argument("--split-seed", type=int, default=0, help="seed of the tune/test split; default 0")
    cor.add_argument("--metrics", choices=["basic", "all"], default="basic", help="basic: tau and rho; all: also Pearson r, precision at top 5%%/10%% and the best true rank found")
    cor.add_argument("--seed", type=int, default=None, help="initialisation seed whose values to use; default the run's first")
    cor.add_argument("--tasks", default="glue", help="'glue' (the mean, default), 'all', or comma-separated tasks: cola,mnli,mrpc,qnli,qqp,rte,sst,sts")
    cor.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs (0: none); default 1000")
    cor.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the bootstrap resampling; default 0")

    t1 = sub.add_parser("table1", help="Table 1 of the paper from a benchmark run", description="Proxy, time of 1,000 evaluations (from a cost benchmark file), gradient-free, Kendall tau and Spearman rho against the GLUE mean with 95%% CIs, and the paper's values beside them. Writes table1.csv into the run directory.", formatter_class=argparse.RawDescriptionHelpFormatter, epilog="example:\n  bench table1 results/table1-trained-cpu --costs results/benchmarks/proxy_cost.json")
    t1.add_argument("run_dir", metavar="RUN")
    t1.add_argument("--costs", default="results/benchmarks/proxy_cost.json", help="cost file written by scripts/benchmark_proxies.py (default results/benchmarks/proxy_cost.json)")
    t1.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs; default 1000")
    t1.add_argument("--seed", type=int, default=None, help="initialisation seed whose values to use; default the run's first")

    st = sub.add_parser("stability", help="seed stability of proxies (Figure 4)", description="Per proxy: coefficient of variation of each architecture's rank across seeds (mean), Kendall's W of the per-seed rankings, mean pairwise Kendall tau between seeds, and the mean coefficient of variation of values. Writes stability.csv into the run directory.", formatter_class=argparse.RawDescriptionHelpFormatter, epilog="example:\n  bench run --proxies all --archs deciles --seed 0-9 --scale cpu --out runs/seeds\n  bench stability runs/seeds")
    st.add_argument("run_dir", metavar="RUN")

    ve = sub.add_parser("verify", help="rerun a committed run and compare its correlations", description="Rerun the config recorded in a reference run directory and fail (exit 1) when any proxy's Kendall tau or Spearman rho against any task moved by more than the tolerance, or when a proxy's definition version changed.", formatter_class=argparse.RawDescriptionHelpFormatter, epilog="examples:\n  bench verify results/regression-smoke\n  bench verify results/table1-trained-cpu --jobs 2")
    ve.add_argument("run_dir", metavar="REFERENCE")
    ve.add_argument("--tolerance", type=float, default=None, help="largest allowed change of tau or rho (default 0.03)")
    ve.add_argument("--out", default=None, help="keep the rerun in this directory (default: a temporary one)")
    ve.add_argument("--jobs", type=positive_int, default=1, help="worker processes; default 1")

    ab = sub.add_parser("ablation", help="compare proxies across runs that differ in one setting", description="Kendall tau and Spearman rho (GLUE mean) of every proxy in every run, on the architectures all runs scored; each run is labelled by how its config differs from the first run's.", formatter_class=argparse.RawDescriptionHelpFormatter, epilog="example:\n  bench ablation results/table1-trained-cpu results/ablation/mode-train --out results/ablation/table1-ablation.csv")
    ab.add_argument("run_dirs", metavar="RUN", nargs="+")
    ab.add_argument("--task", default="glue", help="ground-truth task (default glue, the mean)")
    ab.add_argument("--bootstrap", type=int, default=0, help="bootstrap resamples for CIs (default 0: none)")
    ab.add_argument("--out", default=None, help="also write the table as CSV here")
    add_command_modules(sub)
    return parser


def cmd_ablation(args: argparse.Namespace) -> int:
    from bench.analysis.ablation import ablation_table
    from bench.store.writer import write_atomic
    from bench.cli.tables import ablation_text

    table = ablation_table(args.run_dirs, args.task, args.bootstrap)
    if args.out:
        write_atomic(Path(args.out), table.drop(columns=["config"]).to_csv(index=False))
    print(ablation_text(table))
    return 0


def cmd_table1(args: argparse.Namespace) -> int:
    import json

    from bench.analysis.stats import correlation_table
    from bench.store.runs import RunStore
    from bench.store.writer import write_atomic
    from proxies import list_proxies
    from bench.cli.tables import table1_frame, table1_text

    store = RunStore(args.run_dir)
    manifest = store.manifest()
    truth = store.ground_truth()
    if truth is None:
        raise UserError(f"{args.run_dir} has no ground truth: Table 1 needs a run over --archs benchmark")
    rows = store.rows()
    if rows.empty:
        raise UserError(f"{args.run_dir} holds no result rows yet")
    seed = manifest["config"]["seeds"][0] if args.seed is None else args.seed
    correlations = correlation_table(rows, truth, seed, ["glue"], args.bootstrap)
    costs = None
    cost_path = Path(args.costs)
    if cost_path.is_file():
        costs = json.loads(cost_path.read_text())
    specs = {s.name: s for s in list_proxies()}
    frame = table1_frame(correlations, {n: s.label for n, s in specs.items()}, {n: s.gradient_free for n, s in specs.items()}, costs)
    write_atomic(Path(args.run_dir) / "table1.csv", frame.to_csv(index=False))
    config = manifest["config"]
    print(f"Table 1 from {args.run_dir}: {config['space']} ({config['variant']}), {int(frame['n'].max())} of {truth['bench_id'].nunique()} benchmark architectures scored, "
          f"batch {config['batch_size']}x{config['seq_len']}, {config['mode']} mode, loss {config.get('loss', 'token-ce')}, seed {seed}")
    print(table1_text(frame))
    if costs is None:
        print(f"\n(time column missing: run `python scripts/benchmark_proxies.py --out {args.costs}` to measure it)")
    else:
        print(f"\nTime: 1,000 evaluations of the proxy alone on {costs['machine']}, batch {costs['batch'][0]}x{costs['batch'][1]} (measured by scripts/benchmark_proxies.py).")
    print("Paper: the values published in the W-PCA paper's Table 1 (their models and hardware).")
    return 0


def cmd_stability(args: argparse.Namespace) -> int:
    from bench.analysis.stability import stability_table
    from bench.store.runs import RunStore
    from bench.store.writer import write_atomic
    from bench.cli.tables import render

    store = RunStore(args.run_dir)
    manifest = store.manifest()
    rows = store.rows()
    if len(manifest["config"]["seeds"]) < 2:
        raise UserError(f"{args.run_dir} has one seed; stability needs a run with --seed 0-9 (or several seeds)")
    if rows.empty:
        raise UserError(f"{args.run_dir} holds no result rows yet")
    table = stability_table(rows)
    write_atomic(Path(args.run_dir) / "stability.csv", table.to_csv(index=False))
    print(render(
        ("proxy", "archs", "seeds", "rank CV", "Kendall W", "mean pairwise tau", "value CV"),
        [(r.proxy, str(r.archs), str(r.seeds), f"{r.rank_cv:.3f}", f"{r.kendall_w:.3f}", f"{r.mean_pairwise_tau:.3f}", f"{r.value_cv:.4f}") for r in table.itertuples()],
    ))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from bench.analysis.verify import DEFAULT_TOLERANCE, summary, verify

    tolerance = DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance
    if tolerance < 0:
        raise UserError(f"--tolerance must be >= 0, got {tolerance}")
    drifts, changed = verify(args.run_dir, tolerance, args.out, args.jobs)
    message = summary(drifts, changed, args.run_dir, tolerance)
    print(message)
    return 1 if drifts or changed else 0


def cmd_run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from bench.scoring.runner import run
    from proxies import load_plugins, resolve_options, select_proxies

    load_plugins(args.plugin)
    specs = select_proxies(csv_list(args.proxies), csv_list(args.exclude))
    options = resolve_options(specs, dict(args.proxy_option))
    out = args.out or f"runs/{args.space}-{args.scale}"
    store = run(
        args.space,
        out,
        proxies=[s.name for s in specs],
        options=options,
        archs=args.archs,
        limit=args.limit,
        seeds=args.seed,
        scale=args.scale,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        sample_seed=args.sample_seed,
        text=args.text,
        train_mode=args.mode == "train",
        loss=args.loss,
        init=args.init,
        variant=args.variant,
        plugins=args.plugin,
        data_dir=args.data_dir,
        jobs=args.jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        command=["bench", *argv],
        progress=not args.no_progress,
    )
    rows = store.rows()
    status = rows["status"].value_counts().to_dict()
    log.info("run %s holds %d rows (%s)", out, len(rows), ", ".join(f"{k}: {v}" for k, v in sorted(status.items())))
    if store.ground_truth() is not None:
        log.info("next: bench correlate %s", out)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from bench.scales import SCALES
    from proxies import list_proxies, load_plugins
    from bench.cli.tables import render
    from spaces import get_space, list_spaces

    load_plugins(args.plugin)
    if args.what == "proxies":
        rows = [
            (s.name, s.label, "yes" if s.gradient_free else "no", "higher" if s.higher_is_better else "lower", s.version, ", ".join(s.aliases), s.description)
            for s in list_proxies()
        ]
        print(render(("name", "label", "gradient-free", "better", "version", "aliases", "description"), rows))
    elif args.what == "spaces":
        rows = [(name, f"{get_space(name).size():,}", ", ".join(get_space(name).variants)) for name in list_spaces()]
        print(render(("space", "architectures", "model variants (first is default)"), rows))
    elif args.what == "variants":
        rows = [(name, variant, "default" if i == 0 else "") for name in list_spaces() for i, variant in enumerate(get_space(name).variants)]
        print(render(("space", "variant", ""), rows))
    else:
        print(render(("scale", "batch size", "sequence length", "purpose"), [(s.name, str(s.batch_size), str(s.seq_len), s.description) for s in SCALES.values()]))
    return 0


def cmd_correlate(args: argparse.Namespace) -> int:
    from bench.store.load import load_runs
    from bench.analysis.stats import correlation_table, select_split
    from bench.store.writer import write_atomic
    from bench.cli.tables import correlation_text, task_matrix_text, top_k_text
    from spaces.flexibert import GLUE_MEAN, GLUE_TASKS

    runs = load_runs(args.run_dirs)
    seed = runs.seeds[0] if args.seed is None else args.seed
    if seed not in runs.seeds:
        raise UserError(f"--seed {seed} is not a seed of this run; its seeds: {', '.join(map(str, runs.seeds))}")
    known = (GLUE_MEAN, *GLUE_TASKS)
    tasks = list(known) if args.tasks == "all" else csv_list(args.tasks)
    unknown = [t for t in tasks if t not in known]
    if unknown:
        raise UserError(f"unknown task(s) {', '.join(unknown)}; allowed: all, {', '.join(known)}")
    if args.bootstrap < 0:
        raise UserError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    rows, truth = select_split(runs.rows, runs.truth, args.split, args.split_seed)
    table = correlation_table(rows, truth, seed, tasks, args.bootstrap, args.bootstrap_seed, runs.directions())
    table.insert(0, "seed", seed)
    table.insert(1, "split", args.split)
    table["n_boot"] = args.bootstrap
    name = "correlations.csv" if args.split == "all" else f"correlations-{args.split}.csv"
    write_atomic(runs.dirs[0] / name, table.to_csv(index=False))
    labels = runs.labels()
    config = runs.configs[0]
    split_note = "" if args.split == "all" else f", {args.split} half (split seed {args.split_seed}; held-out numbers are the test half)"
    print(f"run {', '.join(map(str, runs.dirs))}: {config['space']} ({config['variant']}), scale {config['scale']}, seed {seed}{split_note}")
    for task in tasks:
        print(f"\n{task}:" if task != GLUE_MEAN else "\nGLUE mean:")
        print(correlation_text(table, task, labels))
        if args.metrics == "all":
            print(top_k_text(table, task, labels))
    if len(tasks) > 1:
        print("\nKendall tau by task:")
        print(task_matrix_text(table, "kendall_tau", labels))
    return 0


#: Modules that add subcommands: each has ``register(subparsers)``, which adds its parsers
#: and sets ``handler=function(args) -> int`` as their default.
COMMAND_MODULES: tuple[str, ...] = ("bench.cli.report", "bench.cli.train", "bench.cli.compare", "bench.cli.search")


def add_command_modules(sub: argparse._SubParsersAction) -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level), format="%(levelname)s %(name)s: %(message)s")
    try:
        if getattr(args, "handler", None) is not None:
            return args.handler(args)
        if args.command == "run":
            return cmd_run(args, argv)
        if args.command == "list":
            return cmd_list(args)
        if args.command == "correlate":
            return cmd_correlate(args)
        if args.command == "table1":
            return cmd_table1(args)
        if args.command == "stability":
            return cmd_stability(args)
        if args.command == "verify":
            return cmd_verify(args)
        if args.command == "ablation":
            return cmd_ablation(args)
        parser.error(f"unknown subcommand {args.command}")
    except user_errors() as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
