"""Subcommands for honest comparisons: ``compare``, ``stratify``, ``combine`` and ``combo-search``.

``compare``       paired bootstrap CI of the difference in Kendall τ and Spearman ρ of two proxies
                  on the same architectures;
``stratify``      τ/ρ within groups of architectures of one size stratum (the space's: depth and
                  hidden size for FlexiBERT), and their size-weighted mean: what a proxy knows
                  beyond model size;
``combine``       evaluate registered or ad-hoc combination proxies from stored values into the
                  run's ``derived.csv``;
``combo-search``  search combinations on the tune half and report the winner on the held-out half;
``ceiling``, ``predictor``  noise ceilings and few-shot predictor baselines;
``across``        every proxy on several benchmarks beside each one's best size baseline.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from bench.analysis.across import SIZE_DESCRIPTORS
from bench.store import schema
from bench.errors import UserError

log = logging.getLogger(__name__)


def _aligned_values(runs, proxies: list[str], task: str, seed: int, split: str, split_seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str]]:
    """Per benchmark entry: the proxies' values, the ground truth, the stratum (the space's, as the
    runs' config names it) and the architecture's JSON."""
    from bench.analysis.stats import select_split, stratum_of
    from spaces import get_space

    space = get_space(runs.configs[0]["space"])
    rows, truth = select_split(runs.rows, runs.truth, split, split_seed)
    rows = rows[rows["seed"].astype(int) == int(seed)]
    missing = [p for p in proxies if p not in set(rows["proxy"])]
    if missing:
        raise UserError(f"no values of {', '.join(missing)} in {', '.join(map(str, runs.dirs))}; proxies there: {', '.join(sorted(rows['proxy'].unique()))}")
    table = rows.pivot_table(index="arch_hash", columns="proxy", values="value", aggfunc="first", dropna=False)
    scores = truth[(truth["task"] == task) & truth["arch_hash"].isin(table.index)].reset_index(drop=True)
    arch_text = rows.drop_duplicates("arch_hash").set_index("arch_hash")["arch"]
    values = table.loc[scores["arch_hash"], proxies].reset_index(drop=True)
    strata = np.array([stratum_of(space, arch_text[h]) for h in scores["arch_hash"]])
    return values, scores["score"].to_numpy(dtype=float), strata, [arch_text[h] for h in scores["arch_hash"]]


def cmd_compare(args: argparse.Namespace) -> int:
    from bench.store.load import load_runs
    from bench.analysis.stats import paired_difference
    from bench.cli.tables import render, with_ci

    runs = load_runs(args.run_dirs)
    args.task = args.task or _main_task(runs)
    seed = runs.seeds[0]
    values, truth, _, _ = _aligned_values(runs, [args.proxy_a, args.proxy_b], args.task, seed, args.split, args.split_seed)
    diffs = paired_difference(values[args.proxy_a].to_numpy(float), values[args.proxy_b].to_numpy(float), truth, (args.proxy_a, args.proxy_b), args.task, args.bootstrap, args.bootstrap_seed)
    labels = runs.labels()
    a, b = labels.get(args.proxy_a, args.proxy_a), labels.get(args.proxy_b, args.proxy_b)
    print(f"{a} vs {b} on {diffs[0].n} architectures ({args.task}, {args.split} split), paired bootstrap with {args.bootstrap} resamples:")
    rows = [(d.statistic, f"{d.a:+.3f}", f"{d.b:+.3f}", with_ci(d.difference, d.lo, d.hi), "yes" if d.excludes_zero else "no") for d in diffs]
    print(render(("statistic", a, b, "difference [95% CI]", "CI excludes 0"), rows))
    return 0


def cmd_stratify(args: argparse.Namespace) -> int:
    from bench.store.load import load_runs
    from bench.seeding import derive_rng
    from bench.analysis.stats import stratified_correlation
    from bench.store.writer import write_atomic
    from bench.cli.tables import render, with_ci
    from spaces import get_space

    runs = load_runs(args.run_dirs)
    args.task = args.task or _main_task(runs)
    proxies = sorted(runs.rows["proxy"].unique())
    values, truth, strata, _ = _aligned_values(runs, proxies, args.task, runs.seeds[0], args.split, args.split_seed)
    labels = runs.labels()
    records = []
    for proxy in proxies:
        result = stratified_correlation(values[proxy].to_numpy(float), truth, strata, args.bootstrap, derive_rng(args.bootstrap_seed, "stratified", proxy))
        records.append({"proxy": proxy, "task": args.task, "split": args.split, **result})
    table = pd.DataFrame.from_records(records)
    write_atomic(runs.dirs[0] / schema.stratified_file(args.split), table.to_csv(index=False))
    groups = pd.Series(strata).value_counts().sort_index()
    print(f"within strata of {get_space(runs.configs[0]['space']).strata} ({', '.join(f'{k}: {v}' for k, v in groups.items())}), size-weighted mean, {args.task}, {args.split} split:")
    print(render(("proxy", "stratified Kendall tau [95% CI]", "stratified Spearman rho [95% CI]"),
                 [(labels.get(r.proxy, r.proxy), with_ci(r.kendall_tau, r.kendall_lo, r.kendall_hi), with_ci(r.spearman_rho, r.spearman_lo, r.spearman_hi)) for r in table.itertuples()]))
    return 0


def cmd_ceiling(args: argparse.Namespace) -> int:
    import numpy as np

    from bench.analysis.ceiling import ceiling_table, noise_estimates, shares
    from bench.analysis.stats import stratum_of
    from bench.cli.tables import render
    from bench.scoring.benchmarks import load_entries, run_benchmark
    from bench.store.load import load_runs
    from bench.store.writer import write_atomic
    from spaces import arch_hash, get_space

    if args.n_sim < 1:
        raise UserError(f"--n-sim must be a positive integer, got {args.n_sim}")
    runs = load_runs(args.run_dirs)
    if runs.truth.empty:
        raise UserError(f"{runs.dirs[0]} has no ground truth; a noise ceiling needs a benchmark run (--archs benchmark)")
    config = runs.configs[0]
    space, benchmark = get_space(config["space"]), run_benchmark(config)
    entries = load_entries(benchmark, config.get("data_dir"))
    arch_of = runs.rows.drop_duplicates("arch_hash").set_index("arch_hash")["arch"]
    truth = runs.truth[runs.truth["arch_hash"].isin(arch_of.index)]
    wide = truth.pivot_table(index=["bench_id", "arch_hash"], columns="task", values="score").reset_index()
    tasks = [t for t in benchmark.tasks if t in wide.columns]
    strata = wide["arch_hash"].map(lambda h: stratum_of(space, arch_of[h])).to_numpy()
    sd = {t: float(np.nanstd([e.scores[t] for e in entries], ddof=1)) for t in tasks}
    noise = noise_estimates(entries, tasks, arch_hash, sd)
    table = pd.DataFrame.from_records([c.record() for c in ceiling_table({t: wide[t].to_numpy(float) for t in tasks}, strata, noise, args.n_sim, args.seed)])
    table.insert(0, "benchmark", benchmark.name)
    table["n_sim"], table["seed"] = args.n_sim, args.seed
    out = runs.dirs[0]
    write_atomic(out / schema.CEILINGS, table.to_csv(index=False))
    main = table[table["task"] == benchmark.main_task]
    print(f"noise ceilings of {benchmark.name} ({benchmark.main_label}; sigma {main['sigma_source'].iloc[0]}, {int(main['replicate_groups'].iloc[0])} replicated architecture(s)):")
    print(render(("stratum", "n", "sigma", "SD", "reliability", "tau ceiling [95% of draws]", "rho ceiling"),
                 [(r.stratum, str(r.n), f"{r.sigma:.3f}", f"{r.sd:.3f}", f"{r.reliability:.3f}", f"{r.kendall_sim:.3f} [{r.kendall_sim_lo:.3f}, {r.kendall_sim_hi:.3f}]", f"{r.spearman_sim:.3f}") for r in main.itertuples()]))
    correlations_path = out / schema.correlations_file("all")
    if not correlations_path.is_file():
        log.info("no %s: run `bench correlate %s` to add each proxy's share of the ceiling", correlations_path.name, out)
        return 0
    stratified_path = out / schema.stratified_file("all")
    stratified = pd.read_csv(stratified_path) if stratified_path.is_file() else None
    table_shares = shares(pd.read_csv(correlations_path), table, stratified)
    write_atomic(out / schema.CEILING_SHARES, table_shares.to_csv(index=False))
    view = table_shares[table_shares["task"] == benchmark.main_task].sort_values("kendall_share", ascending=False)
    labels = runs.labels()
    print(render(("proxy", "tau", "share of ceiling", "stratified tau", "share of stratified ceiling"),
                 [(labels.get(r.proxy, r.proxy), _fmt(r.kendall_tau, "+.3f"), _fmt(r.kendall_share, ".0%"), _fmt(r.stratified_tau, "+.3f"), _fmt(r.stratified_tau_share, ".0%")) for r in view.itertuples()]))
    log.info("wrote %s and %s", out / schema.CEILINGS, out / schema.CEILING_SHARES)
    return 0


def cmd_predictor(args: argparse.Namespace) -> int:
    from bench.analysis.predictor import predictor_curves, smallest_k, summarise
    from bench.analysis.stats import kendall
    from bench.cli.argtypes import csv_list
    from bench.cli.tables import render
    from bench.store.load import load_runs
    from bench.store.writer import write_atomic

    try:
        ks = sorted({int(k) for k in csv_list(args.k)})
    except ValueError:
        raise UserError(f"--k must be comma-separated positive integers, got {args.k!r}") from None
    if not ks or ks[0] < 2:
        raise UserError(f"--k must be comma-separated integers >= 2, got {args.k!r}")
    if args.repeats < 2 or args.trees < 1:
        raise UserError(f"--repeats must be >= 2 and --trees >= 1, got {args.repeats} and {args.trees}")
    runs = load_runs(args.run_dirs, include_derived=False)
    args.task = args.task or _main_task(runs)
    if runs.truth.empty:
        raise UserError(f"{runs.dirs[0]} has no ground truth; a predictor needs a benchmark run (--archs benchmark)")
    proxies = sorted(runs.rows["proxy"].unique())
    values, truth, _, archs = _aligned_values(runs, proxies, args.task, runs.seeds[0], "all", 0)
    directions = runs.directions()
    usable = [k for k in ks if len(truth) - k >= 3]
    if not usable:
        raise UserError(f"every --k leaves fewer than 3 test architectures of {len(truth)}; use smaller values")
    def full_tau(name: str) -> float:
        column = values[name].to_numpy(float) * (1.0 if directions.get(name, True) else -1.0)
        finite = np.isfinite(column)
        return kendall(column[finite], truth[finite])

    others = [p for p in proxies if p not in SIZE_DESCRIPTORS]
    sizes = [p for p in proxies if p in SIZE_DESCRIPTORS]
    best_proxy = max(others or proxies, key=lambda p: np.nan_to_num(full_tau(p), nan=-np.inf))
    best_size = max(sizes, key=lambda p: np.nan_to_num(full_tau(p), nan=-np.inf)) if sizes else None
    curves = predictor_curves(archs, values, truth, usable, args.repeats, args.seed, args.trees, directions)
    summary = summarise(curves, best_proxy, best_size)
    summary.insert(0, "task", args.task)
    summary["seed"], summary["trees"] = args.seed, args.trees
    out = runs.dirs[0]
    curves.insert(0, "task", args.task)
    write_atomic(out / schema.PREDICTOR_SPLITS, curves.to_csv(index=False))
    write_atomic(out / schema.PREDICTOR, summary.to_csv(index=False))
    labels = runs.labels()
    print(f"few-shot predictors on {len(truth)} architectures ({args.task}), Kendall tau on the held-out rest, mean [95% of {args.repeats} splits]:")
    methods = list(dict.fromkeys(summary["method"]))
    header = ("k", *[labels.get(m.split(':', 1)[-1], m.split(':', 1)[-1]) if m.startswith("proxy:") else m for m in methods])
    keyed = summary.set_index(["k", "method"])
    rows = [(str(k), *[f"{keyed.loc[(k, m), 'kendall_tau']:+.3f} [{keyed.loc[(k, m), 'kendall_lo']:+.2f}, {keyed.loc[(k, m), 'kendall_hi']:+.2f}]" if (k, m) in keyed.index else "" for m in methods]) for k in usable]
    print(render(header, rows))
    for column, name in (("beats_best_proxy", labels.get(best_proxy, best_proxy)), ("beats_best_size", labels.get(best_size, best_size) if best_size else None)):
        if name is None:
            continue
        found = smallest_k(summary, column)
        print(f"smallest k from which on the predictor beats {name}: " + ", ".join(f"{m}: {k if k is not None else 'none of ' + args.k}" for m, k in found.items()))
    log.info("wrote %s and %s", out / schema.PREDICTOR, out / schema.PREDICTOR_SPLITS)
    return 0


def _fmt(value: float, spec: str) -> str:
    return format(value, spec) if math.isfinite(value) else "n/a"


def cmd_combine(args: argparse.Namespace) -> int:
    from bench.analysis.combine import COMBINATIONS, Combination, derived_rows, parse
    from bench.store.load import load_runs
    from bench.store.writer import write_atomic

    runs = load_runs(args.run_dirs, include_derived=False)
    if args.expr:
        if not args.name:
            raise UserError("--expr needs --name NAME for the new combination")
        parse(args.expr)
        combos = [Combination(args.name, args.expr, args.label or args.name)]
    else:
        combos = list(COMBINATIONS.values()) if args.names == "all" else []
        for name in [] if args.names == "all" else [n.strip() for n in args.names.split(",") if n.strip()]:
            if name not in COMBINATIONS:
                raise UserError(f"unknown combination {name!r}; registered: {', '.join(COMBINATIONS)}")
            combos.append(COMBINATIONS[name])
    frames, info = [], []
    for combo in combos:
        frames.append(derived_rows(combo, runs.rows, runs.seeds[0], runs.configs[0]["space"]))
        info.append({"proxy": combo.name, "label": combo.label, "version": combo.version, "gradient_free": None, "higher_is_better": combo.higher_is_better, "description": combo.expression})
    target = runs.dirs[0]
    existing = pd.read_csv(target / schema.DERIVED, dtype={"arch_hash": str, "proxy_version": str}) if (target / schema.DERIVED).is_file() else None
    new = pd.concat(frames, ignore_index=True)
    if existing is not None:
        existing = existing[~existing["proxy"].isin(new["proxy"])]
        new = pd.concat([existing, new], ignore_index=True)
    write_atomic(target / schema.DERIVED, new.to_csv(index=False))
    old_info = pd.read_csv(target / schema.DERIVED_INFO).to_dict("records") if (target / schema.DERIVED_INFO).is_file() else []
    merged = {item["proxy"]: item for item in old_info} | {item["proxy"]: item for item in info}
    write_atomic(target / schema.DERIVED_INFO, pd.DataFrame(list(merged.values())).to_csv(index=False))
    for combo in combos:
        print(f"{combo.name} = {combo.expression}")
    print(f"wrote {len(new)} rows to {target / schema.DERIVED}; analyse them with `bench correlate {' '.join(map(str, runs.dirs))}`")
    return 0


def candidate_expressions(names: list[str], weights: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)) -> list[str]:
    """Expressions of up to three stored proxies: each alone, log-linear products and ratios of
    pairs with weights, mean ranks of pairs and triples, and log-products of triples."""
    import itertools

    out = list(names)
    for a, b in itertools.permutations(names, 2):
        out.append(f"{a} / {b}")
        out += [f"log({a}) + {w} * log({b})" for w in weights]
    for a, b in itertools.combinations(names, 2):
        out.append(f"mean_rank({a}, {b})")
    for a, b, c in itertools.combinations(names, 3):
        out.append(f"mean_rank({a}, {b}, {c})")
        out.append(f"log({a}) + log({b}) + log({c})")
    return out


def cmd_combo_search(args: argparse.Namespace) -> int:
    from bench.analysis.combine import evaluate, parse
    from bench.store.load import load_runs
    from bench.seeding import derive_rng
    from bench.analysis.stats import correlate, kendall, paired_difference, spearman, stratified_correlation
    from bench.store.writer import write_atomic

    runs = load_runs(args.run_dirs, include_derived=False)
    args.task = args.task or _main_task(runs)
    names = sorted(set(runs.rows["proxy"]) - set(_csv(args.exclude)))
    seed = runs.seeds[0]
    tune_values, tune_truth, tune_strata, _ = _aligned_values(runs, names, args.task, seed, "tune", args.split_seed)
    test_values, test_truth, test_strata, _ = _aligned_values(runs, names, args.task, seed, "test", args.split_seed)
    records = []
    for text in candidate_expressions(names):
        values = evaluate(parse(text), tune_values)
        finite = np.isfinite(values)
        if finite.sum() < 3:
            continue
        record = {"expression": text, "tune_spearman": spearman(values[finite], tune_truth[finite]), "tune_kendall": kendall(values[finite], tune_truth[finite]), "tune_excluded": int((~finite).sum())}
        if args.objective == "stratified-tau":
            record["tune_stratified_kendall"] = stratified_correlation(values, tune_truth, tune_strata, 0)["kendall_tau"]
        records.append(record)
    if not records:
        raise UserError("no combination has three or more finite values on the tune half")
    key = "tune_spearman" if args.objective == "rho" else "tune_stratified_kendall"
    candidates = pd.DataFrame(records).sort_values(key, ascending=False, kind="stable", na_position="last").reset_index(drop=True)
    best = candidates.iloc[0]["expression"]
    descriptors = [d for d in SIZE_DESCRIPTORS if d in names]
    if not descriptors:
        raise UserError(f"no size descriptor among the runs' proxies ({', '.join(SIZE_DESCRIPTORS)}): add a run of the baselines")
    best_size = max(descriptors, key=lambda d: candidates.set_index("expression").loc[d, "tune_spearman"] if d in set(candidates["expression"]) else -np.inf)
    best_values = evaluate(parse(best), test_values)
    size_values = test_values[best_size].to_numpy(float)
    held_out = correlate(pd.Series(best_values), pd.Series(test_truth), "combination", args.task, args.bootstrap, args.bootstrap_seed)
    size_held_out = correlate(pd.Series(size_values), pd.Series(test_truth), best_size, args.task, args.bootstrap, args.bootstrap_seed)
    paired = {d.statistic: d for d in paired_difference(best_values, size_values, test_truth, ("combination", best_size), args.task, args.bootstrap, args.bootstrap_seed)}
    stratified = stratified_correlation(best_values, test_truth, test_strata, args.bootstrap, derive_rng(args.bootstrap_seed, "stratified", best))
    targets = {
        "rho_beats_best_size_descriptor_with_ci_excluding_zero": bool(paired["spearman_rho"].lo > 0),
        "stratified_tau_above_0.3": bool(stratified["kendall_tau"] > 0.3),
    }
    result = {
        "task": args.task,
        "objective": args.objective,
        "split_seed": args.split_seed,
        "candidates": len(candidates),
        "expression": best,
        "tune": candidates.iloc[0].to_dict(),
        "test": {"n": held_out.n, "spearman_rho": held_out.spearman_rho, "spearman_ci": [held_out.spearman_lo, held_out.spearman_hi], "kendall_tau": held_out.kendall_tau, "kendall_ci": [held_out.kendall_lo, held_out.kendall_hi]},
        "best_size_descriptor": {"proxy": best_size, "test_spearman_rho": size_held_out.spearman_rho, "test_kendall_tau": size_held_out.kendall_tau},
        "paired_difference_test": {k: {"difference": v.difference, "ci": [v.lo, v.hi]} for k, v in paired.items()},
        "stratified_test": stratified,
        "targets": targets,
        "runs": [str(d) for d in runs.dirs],
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / schema.COMBO_CANDIDATES, candidates.to_csv(index=False))
    write_atomic(out / schema.COMBO_RESULT, json.dumps(result, indent=2, default=float) + "\n")
    print(f"{len(candidates)} combinations scored on the tune half ({len(tune_truth)} entries) by {args.objective}; best: {best}")
    print(f"held-out test half ({held_out.n} entries): Spearman rho {held_out.spearman_rho:+.3f} [{held_out.spearman_lo:+.3f}, {held_out.spearman_hi:+.3f}], Kendall tau {held_out.kendall_tau:+.3f} [{held_out.kendall_lo:+.3f}, {held_out.kendall_hi:+.3f}]")
    d = paired["spearman_rho"]
    print(f"vs the best size descriptor on the tune half ({best_size}: test rho {size_held_out.spearman_rho:+.3f}): difference {d.difference:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}]")
    print(f"stratified (depth x hidden) Kendall tau on the test half: {stratified['kendall_tau']:+.3f} [{stratified['kendall_lo']:+.3f}, {stratified['kendall_hi']:+.3f}]")
    print("targets: " + ", ".join(f"{k}: {'met' if v else 'not met'}" for k, v in targets.items()))
    return 0


def cmd_across(args: argparse.Namespace) -> int:
    from bench.analysis.across import benchmark_rows, bootstrap_seed, summary
    from bench.cli.tables import render
    from bench.scoring.benchmarks import run_benchmark
    from bench.store.load import load_runs
    from bench.store.writer import write_atomic

    if args.bootstrap < 0:
        raise UserError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    tables, labels = [], {}
    for group in args.benchmarks:
        runs = load_runs(_csv(group), include_derived=False)  # registered proxies only: the same set on every benchmark
        if runs.truth.empty:
            raise UserError(f"{group} has no ground truth; give benchmark runs (--archs benchmark[:NAME])")
        config = runs.configs[0]
        benchmark = run_benchmark(config)
        label = f"{config['space']}:{benchmark.name}"
        if any(t["benchmark"].iloc[0] == label for t in tables):
            raise UserError(f"{group}: benchmark {label} is given twice; join runs of one benchmark with commas")
        proxies = sorted(runs.rows["proxy"].unique())
        values, truth, strata, _ = _aligned_values(runs, proxies, benchmark.main_task, runs.seeds[0], "all", 0)
        tables.append(benchmark_rows(label, values, truth, strata, runs.directions(), args.bootstrap, bootstrap_seed(args.bootstrap_seed, label)))
        labels.update(runs.labels())
    table = pd.concat(tables, ignore_index=True)
    overall = summary(table)
    out = Path(args.out)
    write_atomic(out, table.to_csv(index=False))
    write_atomic(out.with_name(out.stem + "-summary.csv"), overall.to_csv(index=False))
    names = list(dict.fromkeys(table["benchmark"]))
    keyed = table.set_index(["proxy", "benchmark"])

    def cell(proxy: str, name: str) -> str:
        if (proxy, name) not in keyed.index:
            return ""
        row = keyed.loc[(proxy, name)]
        delta = "" if pd.isna(row.get("delta_tau", np.nan)) else f" ({row['delta_tau']:+.2f})"
        stratified = "n/a" if pd.isna(row["stratified_tau"]) else f"{row['stratified_tau']:+.2f}"
        return f"{row['kendall_tau']:+.2f} / {stratified}{delta}"

    print(f"Kendall tau / stratified tau (difference in tau to the benchmark's best size descriptor) per benchmark; "
          f"{args.bootstrap} paired resamples:")
    rows = [(labels.get(r.proxy, r.proxy), f"{r.mean_rank:.1f}", f"{r.beats_size}/{r.loses_to_size}", *[cell(r.proxy, n) for n in names]) for r in overall.itertuples()]
    print(render(("proxy", "mean rank", "beats/loses to size", *names), rows))
    print("best size descriptor: " + ", ".join(f"{n}: {labels.get(b, b)}" for n, b in table.drop_duplicates("benchmark")[["benchmark", "best_size"]].itertuples(index=False)))
    log.info("wrote %s and %s", out, out.with_name(out.stem + "-summary.csv"))
    return 0


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _common(parser: argparse.ArgumentParser, split: bool = True) -> None:
    parser.add_argument("--task", default=None, help="ground-truth task (default: the benchmark's main task, e.g. glue, the GLUE mean; neg_valid_ppl for lts)")
    if split:
        parser.add_argument("--split", choices=["all", "tune", "test"], default="all", help="all architectures, or the tune / held-out test half")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the tune/test split; default 0")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples; default 2000")
    parser.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the resampling; default 0")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the comparison subcommands."""
    raw = argparse.RawDescriptionHelpFormatter
    compare = sub.add_parser("compare", help="paired bootstrap CI of the difference between two proxies", description="Difference in Kendall tau and Spearman rho between proxies A and B on the same architectures, with a paired percentile-bootstrap 95% CI (one resample of architectures evaluates both).", formatter_class=raw, epilog="example:\n  bench compare w-pca params results/table1-trained-cpu")
    compare.add_argument("proxy_a", metavar="A")
    compare.add_argument("proxy_b", metavar="B")
    compare.add_argument("run_dirs", metavar="RUN", nargs="+")
    _common(compare)
    compare.set_defaults(handler=cmd_compare)

    across = sub.add_parser("across", help="every proxy on several benchmarks, beside the best size baseline of each", description="Per benchmark and proxy: Kendall tau and Spearman rho against the benchmark's main task, the size-stratified tau, the rank among the proxies, and the paired bootstrap difference to the benchmark's best size descriptor; per proxy: mean rank and on how many benchmarks it beats or loses to size (95% interval of the difference above or below zero). Writes FILE and FILE-summary.csv.", formatter_class=raw, epilog="example:\n  bench across results/table1-trained-cpu,results/baselines-trained-cpu results/lts-*-cpu --out results/across-benchmarks.csv")
    across.add_argument("benchmarks", metavar="RUN[,RUN...]", nargs="+", help="one argument per benchmark: its run directory, or comma-joined run directories over the same architectures")
    across.add_argument("--out", default="results/across-benchmarks.csv", help="table to write (default results/across-benchmarks.csv)")
    across.add_argument("--bootstrap", type=int, default=1000, help="paired bootstrap resamples; default 1000")
    across.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the resampling; default 0")
    across.set_defaults(handler=cmd_across)

    stratify = sub.add_parser("stratify", help="correlations within size strata (FlexiBERT: equal depth and hidden size)", description="Kendall tau and Spearman rho within each size stratum of the runs' space (FlexiBERT: architectures that share depth and hidden size), averaged weighted by group size, with a bootstrap CI (architectures resampled within groups). Writes stratified-SPLIT.csv into the first run directory.", formatter_class=raw, epilog="example:\n  bench stratify results/table1-trained-cpu results/baselines-trained-cpu")
    stratify.add_argument("run_dirs", metavar="RUN", nargs="+")
    _common(stratify)
    stratify.set_defaults(handler=cmd_stratify)

    ceiling = sub.add_parser("ceiling", help="noise ceilings of the ground truth, and each proxy's share of them", description="How well could a perfect proxy correlate with a noisy ground truth? Estimates the training-noise SD from architectures the benchmark trained more than once (or assumes a grid of values when it has none), and stores the Gaussian and simulated ceilings of Kendall tau and Spearman rho, over all architectures and within each size stratum, in ceilings.csv; with a stored correlations.csv (and stratified-all.csv) also each proxy's share of its ceiling in ceiling-shares.csv. The model and its assumptions: docs/statistics.md.", formatter_class=raw, epilog="example:\n  bench ceiling results/table1-trained-cpu --n-sim 2000")
    ceiling.add_argument("run_dirs", metavar="RUN", nargs="+")
    ceiling.add_argument("--n-sim", type=int, default=2000, help="simulated replicate draws per ceiling; default 2000")
    ceiling.add_argument("--seed", type=int, default=0, help="seed of the draws; default 0")
    ceiling.set_defaults(handler=cmd_ceiling)

    predictor = sub.add_parser("predictor", help="few-shot predictors: a few trained architectures against the proxies", description="Fit a random forest on k trained architectures (features: the architecture encoding, the stored proxy values, or both) and rank the rest; repeated random splits give the mean and 95% interval of Kendall tau per k, beside the best single proxy and the best size descriptor on the same test sets. Writes predictor.csv (summary) and predictor-splits.csv (every split) into the first run directory.", formatter_class=raw, epilog="example:\n  bench predictor results/table1-trained-cpu results/baselines-trained-cpu --k 5,10,20,50,100,200 --repeats 20")
    predictor.add_argument("run_dirs", metavar="RUN", nargs="+")
    predictor.add_argument("--task", default=None, help="ground-truth task (default: the benchmark's main task, e.g. glue, the GLUE mean; neg_valid_ppl for lts)")
    predictor.add_argument("--k", default="5,10,20,50,100,200", help="training-set sizes, comma-separated; default 5,10,20,50,100,200")
    predictor.add_argument("--repeats", type=int, default=20, help="random splits per k; default 20")
    predictor.add_argument("--trees", type=int, default=100, help="trees of the random forest; default 100")
    predictor.add_argument("--seed", type=int, default=0, help="seed of the splits and forests; default 0")
    predictor.set_defaults(handler=cmd_predictor)

    combine = sub.add_parser("combine", help="combination proxies from stored values", description="Evaluate registered combinations (or one --expr) from the stored values of other proxies and write them to the first run's derived.csv, where correlate, compare and reports read them.", formatter_class=raw, epilog="examples:\n  bench combine results/table1-trained-cpu results/baselines-trained-cpu --names all\n  bench combine RUN --name pca-ratio --expr 'log(v-pca) + 0.5 * log(params-nonemb)'")
    combine.add_argument("run_dirs", metavar="RUN", nargs="+")
    combine.add_argument("--names", default="all", help="registered combinations to evaluate (comma-separated, or all)")
    combine.add_argument("--expr", default=None, help="an expression over stored proxies, e.g. 'mean_rank(w-pca, params-nonemb)'")
    combine.add_argument("--name", default=None, help="name of the --expr combination")
    combine.add_argument("--label", default=None, help="display label of the --expr combination")
    combine.set_defaults(handler=cmd_combine)

    search = sub.add_parser("combo-search", help="search proxy combinations on the tune half, report on the test half", description="Score every combination of up to three stored proxies (products and ratios with weights, mean ranks) by Spearman rho (or stratified tau) on the tune half; report the best on the held-out test half with CIs, its paired difference from the best size descriptor, and its stratified tau.", formatter_class=raw, epilog="example:\n  bench combo-search results/table1-trained-cpu results/baselines-trained-cpu --out results/combo-search")
    search.add_argument("run_dirs", metavar="RUN", nargs="+")
    search.add_argument("--exclude", default="", help="proxies to leave out of the search (comma-separated)")
    search.add_argument("--out", required=True, help="directory for candidates.csv and result.json")
    search.add_argument("--objective", choices=["rho", "stratified-tau"], default="rho", help="what the tune half selects on: Spearman rho (default) or the stratified Kendall tau (what a proxy knows beyond depth and hidden size)")
    _common(search, split=False)
    search.set_defaults(handler=cmd_combo_search)


def _main_task(runs) -> str:
    from bench.scoring.benchmarks import main_task

    return main_task(runs.configs[0])
