"""Analysis commands over stored runs: ``correlate``, ``table1``, ``published``, ``stability``, ``verify``, ``ablation``."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.store import schema
from bench.cli.argtypes import csv_list, positive_int
from bench.errors import UserError

CORRELATE_EXAMPLES = """\
examples:
  bench correlate runs/quick
  bench correlate runs/table1 --tasks all --bootstrap 2000
  bench correlate results/table1-trained-cpu results/baselines-trained-cpu --metrics all --split test
"""



def register(sub: argparse._SubParsersAction) -> None:
    """Add the analysis commands."""
    cor = sub.add_parser("correlate", help="rank correlations of a run against ground truth", description="Kendall tau, Spearman rho and Pearson r (signed), precision at top-k and best true rank, each with a percentile-bootstrap 95% CI, of each proxy in one or more runs against the benchmark's main task (the GLUE mean; negated validation perplexity on lts) and, with --tasks all, each task. Writes correlations.csv (correlations-tune.csv / -test.csv for a split) into the first run directory.", epilog=CORRELATE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    cor.add_argument("run_dirs", metavar="RUN", nargs="+", help="run directories made by `bench run` over the same benchmark architectures (their proxies are analysed together)")
    cor.add_argument("--split", choices=["all", "tune", "test"], default="all", help="all architectures (default), or the tune / held-out test half of a fixed seeded split")
    cor.add_argument("--split-seed", type=int, default=0, help="seed of the tune/test split; default 0")
    cor.add_argument("--metrics", choices=["basic", "all"], default="basic", help="basic: tau and rho; all: also Pearson r, precision at top 5%%/10%% and the best true rank found")
    cor.add_argument("--seed", type=int, default=None, help="initialisation seed whose values to use; default the run's first")
    cor.add_argument("--tasks", default=None, help="the benchmark's main task (default: glue, the GLUE mean, for flexibert; neg_valid_ppl for lts), 'all', or comma-separated tasks, e.g. cola,mnli,mrpc,qnli,qqp,rte,sst,sts")
    cor.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs (0: none); default 1000")
    cor.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the bootstrap resampling; default 0")
    cor.set_defaults(handler=cmd_correlate)

    t1 = sub.add_parser("table1", help="Table 1 of the paper from a benchmark run", description="Proxy, time of 1,000 evaluations (from a cost benchmark file), gradient-free, Kendall tau and Spearman rho against the GLUE mean with 95% CIs, and the paper's values beside them. Writes table1.csv into the run directory.", formatter_class=argparse.RawDescriptionHelpFormatter, epilog="example:\n  bench table1 results/table1-trained-cpu --costs results/benchmarks/proxy_cost.json")
    t1.add_argument("run_dir", metavar="RUN")
    t1.add_argument("--costs", default="results/benchmarks/proxy_cost.json", help="cost file written by scripts/benchmark_proxies.py (default results/benchmarks/proxy_cost.json)")
    t1.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs; default 1000")
    t1.add_argument("--seed", type=int, default=None, help="initialisation seed whose values to use; default the run's first")
    t1.set_defaults(handler=cmd_table1)

    pu = sub.add_parser("published", help="our values against the benchmark's published proxy values", description="Per proxy of the published definitions (proxies.published) and params: Spearman rho and Kendall tau between the run's values and the benchmark authors' BERT_results_activation.csv over the benchmark IDs, and each side's rho against the GLUE mean. Writes published-comparison.csv into the run directory.", formatter_class=argparse.RawDescriptionHelpFormatter, epilog="example:\n  bench run --proxies 'published-*,params' --variant published --mode train --loss ones --archs benchmark --seq-len 512 --out runs/published\n  bench published runs/published")
    pu.add_argument("run_dir", metavar="RUN")
    pu.add_argument("--data-dir", default=None, help="data directory holding flexibert/BERT_results_activation.csv (default: $PROXYBENCH_DATA, ../shared/data, then the download cache)")
    pu.add_argument("--seed", type=int, default=None, help="initialisation seed whose values to use; default the run's first")
    pu.set_defaults(handler=cmd_published)

    st = sub.add_parser("stability", help="seed stability of proxies (Figure 4)", description="Per proxy: coefficient of variation of each architecture's rank across seeds (mean), Kendall's W of the per-seed rankings, mean pairwise Kendall tau between seeds, and the mean coefficient of variation of values. Writes stability.csv into the run directory.", formatter_class=argparse.RawDescriptionHelpFormatter, epilog="example:\n  bench run --proxies all --archs deciles --seed 0-9 --scale cpu --out runs/seeds\n  bench stability runs/seeds")
    st.add_argument("run_dir", metavar="RUN")
    st.set_defaults(handler=cmd_stability)

    ve = sub.add_parser("verify", help="rerun a committed run and compare its correlations", description="Rerun the config recorded in a reference run directory and fail (exit 1) when any proxy's Kendall tau or Spearman rho against any task moved by more than the tolerance, or when a proxy's definition version changed.", formatter_class=argparse.RawDescriptionHelpFormatter, epilog="examples:\n  bench verify results/regression-smoke\n  bench verify results/table1-trained-cpu --jobs 2")
    ve.add_argument("run_dir", metavar="REFERENCE")
    ve.add_argument("--tolerance", type=float, default=None, help="largest allowed change of tau or rho (default 0.03)")
    ve.add_argument("--out", default=None, help="keep the rerun in this directory (default: a temporary one)")
    ve.add_argument("--jobs", type=positive_int, default=1, help="worker processes; default 1")
    ve.set_defaults(handler=cmd_verify)

    ab = sub.add_parser("ablation", help="compare proxies across runs that differ in one setting", description="Kendall tau and Spearman rho (GLUE mean) of every proxy in every run, on the architectures all runs scored; each run is labelled by how its config differs from the first run's.", formatter_class=argparse.RawDescriptionHelpFormatter, epilog="example:\n  bench ablation results/table1-trained-cpu results/ablation/mode-train --out results/ablation/table1-ablation.csv")
    ab.add_argument("run_dirs", metavar="RUN", nargs="+")
    ab.add_argument("--task", default=None, help="ground-truth task (default: the benchmark's main task, e.g. glue)")
    ab.add_argument("--bootstrap", type=int, default=0, help="bootstrap resamples for CIs (default 0: none)")
    ab.add_argument("--out", default=None, help="also write the table as CSV here")
    ab.set_defaults(handler=cmd_ablation)


def cmd_correlate(args: argparse.Namespace) -> int:
    from bench.store.load import load_runs
    from bench.analysis.stats import correlation_table, select_split
    from bench.store.writer import write_atomic
    from bench.cli.tables import correlation_text, task_matrix_text, top_k_text
    from bench.scoring.benchmarks import run_benchmark

    runs = load_runs(args.run_dirs)
    seed = runs.seeds[0] if args.seed is None else args.seed
    if seed not in runs.seeds:
        raise UserError(f"--seed {seed} is not a seed of this run; its seeds: {', '.join(map(str, runs.seeds))}")
    benchmark = run_benchmark(runs.configs[0])
    known = benchmark.tasks
    tasks = list(known) if args.tasks == "all" else csv_list(args.tasks) if args.tasks else [benchmark.main_task]
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
    name = schema.correlations_file(args.split)
    write_atomic(runs.dirs[0] / name, table.to_csv(index=False))
    labels = runs.labels()
    config = runs.configs[0]
    split_note = "" if args.split == "all" else f", {args.split} half (split seed {args.split_seed}; held-out numbers are the test half)"
    print(f"run {', '.join(map(str, runs.dirs))}: {config['space']} ({config['variant']}), scale {config['scale']}, seed {seed}{split_note}")
    for task in tasks:
        print(f"\n{task}:" if task != benchmark.main_task else f"\n{benchmark.main_label}:")
        print(correlation_text(table, task, labels))
        if args.metrics == "all":
            print(top_k_text(table, task, labels))
    if len(tasks) > 1:
        print("\nKendall tau by task:")
        print(task_matrix_text(table, "kendall_tau", labels))
    return 0


def cmd_published(args: argparse.Namespace) -> int:
    import pandas as pd

    from bench.analysis.published import PUBLISHED_FILE, published_comparison
    from bench.data import resolve
    from bench.store.runs import RunStore
    from bench.store.writer import write_atomic

    store = RunStore(args.run_dir)
    manifest = store.manifest()
    truth = store.ground_truth()
    if manifest["config"].get("space") != "flexibert" or truth is None:
        raise UserError(f"{args.run_dir} is not a run over the FlexiBERT benchmark (--space flexibert --archs benchmark)")
    rows = store.rows()
    published = pd.read_csv(resolve(PUBLISHED_FILE, args.data_dir))
    seeds = manifest["config"]["seeds"]
    seed = seeds[0] if args.seed is None else args.seed
    if seed not in seeds:
        raise UserError(f"--seed {seed} is not a seed of this run; its seeds: {', '.join(map(str, seeds))}")
    frame = published_comparison(rows, truth, published, seed)
    if frame.empty:
        raise UserError(f"{args.run_dir} has none of the published definitions' proxies; run them with --proxies 'published-*,params'")
    write_atomic(Path(args.run_dir) / schema.PUBLISHED_COMPARISON, frame.to_csv(index=False))
    config = manifest["config"]
    print(f"{args.run_dir}: variant {config['variant']}, {config['mode']} mode, loss {config.get('loss')}, batch {config['batch_size']}x{config['seq_len']}, seed {seed}")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
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
    from bench.scoring.benchmarks import main_task

    task = main_task(manifest["config"])
    correlations = correlation_table(rows, truth, seed, [task], args.bootstrap)
    costs = None
    cost_path = Path(args.costs)
    if cost_path.is_file():
        costs = json.loads(cost_path.read_text())
    specs = {s.name: s for s in list_proxies()}
    frame = table1_frame(correlations, {n: s.label for n, s in specs.items()}, {n: s.gradient_free for n, s in specs.items()}, costs, task)
    write_atomic(Path(args.run_dir) / schema.TABLE1, frame.to_csv(index=False))
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
    write_atomic(Path(args.run_dir) / schema.STABILITY, table.to_csv(index=False))
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


def cmd_ablation(args: argparse.Namespace) -> int:
    from bench.analysis.ablation import ablation_table
    from bench.store.writer import write_atomic
    from bench.cli.tables import ablation_text

    from bench.scoring.benchmarks import main_task
    from bench.store.runs import RunStore

    task = args.task or main_task(RunStore(args.run_dirs[0]).manifest()["config"])
    table = ablation_table(args.run_dirs, task, args.bootstrap)
    if args.out:
        write_atomic(Path(args.out), table.drop(columns=["config"]).to_csv(index=False))
    print(ablation_text(table))
    return 0
