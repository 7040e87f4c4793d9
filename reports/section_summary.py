"""The report's first section: which proxy can be trusted, and what it knows beyond model size.

One line per finding, each with its number, read from what the analysis commands stored:

* proxies ranked by their mean rank over the benchmarks, and how many beat (or lose to) the
  best size descriptor (``bench across``: ``across-benchmarks.csv`` and ``-summary.csv``);
* per benchmark, its best proxy (the best τ among the proxies that are not size descriptors)
  with the paired Δτ to #Params and to the best size descriptor, and its stratified τ (same file);
* per benchmark, the noise ceiling and the best proxy's share of it (``ceiling-shares.csv`` and
  ``ceilings.csv`` of the largest run of that benchmark that stores them);
* per benchmark, the smallest number of trained architectures from which a few-shot
  predictor beats the best proxy and the best size descriptor (``predictor.csv``);
* the NLU-space verdict: the held-out distillation loss of the searched students over seeds
  and the paired comparison with the reference (``heldout*.csv`` with ``-paired.csv``).

Then the cross-benchmark table itself. Nothing is computed beyond picking rows and the mean
of a stored per-seed loss.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from reports.load import AcrossFile, HeldoutSeedsFile, ProxyRun, proxy_labels
from reports.model import Block, Cell, Missing, Provenance, Table
from reports.provenance import run_provenance
from reports.section_benchmark import benchmark_title, main_task_rows
from reports.section_evidence import FEATURE_SETS, across_provenance, across_table, smallest_k, stale_evidence
from reports.tables import number, signed, with_ci

COMMANDS = {
    "across": "bench across results/table1-trained-cpu,results/baselines-trained-cpu results/lts-*-cpu --out results/across-benchmarks.csv",
}


def _ranked_line(across: AcrossFile, labels: dict[str, str]) -> list[list[Cell]]:
    summary = across.summary
    if summary is None:
        return []
    n = int(summary["benchmarks"].max())
    top = summary.head(5)
    sizes = set(summary.loc[summary["size_descriptor"], "proxy"]) if "size_descriptor" in summary.columns else set()
    ranked = ", ".join(f"{i}. {labels.get(p, p)}{' (size)' if p in sizes else ''} {r:.1f}" for i, (p, r) in enumerate(zip(top["proxy"], top["mean_rank"]), 1))
    proxies = summary[~summary["proxy"].isin(sizes)]
    beats = int((proxies["beats_size"] > 0).sum())
    always = int((proxies["loses_to_size"] == proxies["benchmarks"]).sum())
    return [
        [Cell("The answer", "label"), Cell(_answer(across, labels, sizes), "ours")],
        [Cell(f"Proxies ranked (mean rank over {n} benchmarks)", "label"), Cell(ranked + "; size descriptors marked (size).", "ours")],
        [Cell("Does any proxy know more than size?", "label"),
         Cell(f"{beats} of {len(proxies)} proxies beat the best size descriptor on at least one benchmark (paired 95% interval of Δτ above 0); "
              f"{always} lose to it on every benchmark they were scored on.", "ours")],
    ]


def _answer(across: AcrossFile, labels: dict[str, str], sizes: set[str]) -> str:
    """Which proxies beat their benchmark's best size descriptor (the paired 95% interval of Δτ above 0), and where."""
    table = across.table
    n = table["benchmark"].nunique()
    if not {"delta_tau_lo", "size_descriptor"} <= set(table.columns):
        return f"Stored for {n} benchmarks; the paired Δτ to the best size descriptor is not stored (rerun `bench across`)."
    proxies = table[~table["size_descriptor"].astype(bool) & ~table["proxy"].isin(sizes)]
    wins = proxies[proxies["delta_tau_lo"] > 0]
    if wins.empty:
        return (f"No proxy ranks models better than the best size descriptor on any benchmark ({n} stored): "
                "on each, a size count (#Params, FLOPs, layers × hidden, ...) is as good or better.")
    where = "; ".join(f"{labels.get(r.proxy, r.proxy)} on {benchmark_title(str(r.benchmark))} (Δτ {with_ci(r.delta_tau, r.delta_tau_lo, r.delta_tau_hi)})"
                      for r in wins.itertuples())
    return (f"Model size is the proxy to beat: a proxy ranks models better than the best size descriptor on {wins['benchmark'].nunique()} "
            f"of {n} benchmarks only: {where}. Elsewhere a size count is as good or better.")


def _best_proxy_lines(across: AcrossFile, labels: dict[str, str]) -> list[list[Cell]]:
    table = across.table
    rows = []
    for name, group in table.groupby("benchmark", sort=False):
        proxies = group[~group["size_descriptor"].astype(bool)] if "size_descriptor" in group.columns else group
        proxies = proxies.dropna(subset=["kendall_tau"])
        if proxies.empty:
            continue
        best = proxies.loc[proxies["kendall_tau"].idxmax()]
        size = str(best["best_size"])
        parts = [f"{labels.get(best['proxy'], best['proxy'])}: τ {signed(best['kendall_tau'])} (rank {int(best['rank'])} of {group['kendall_tau'].notna().sum()})"]
        if pd.notna(best.get("delta_params_tau")):
            parts.append(f"vs #Params Δτ {with_ci(best['delta_params_tau'], best['delta_params_tau_lo'], best['delta_params_tau_hi'])}")
        if pd.notna(best.get("delta_tau")):
            parts.append(f"vs the best size descriptor ({labels.get(size, size)}) Δτ {with_ci(best['delta_tau'], best['delta_tau_lo'], best['delta_tau_hi'])}")
        parts.append(f"stratified τ {signed(best['stratified_tau'])}")
        rows.append([Cell(f"Best proxy on {benchmark_title(str(name))}", "label"), Cell("; ".join(parts) + ".", "ours")])
    return rows


def _ceiling_line(run: ProxyRun, title: str, sizes: set[str], labels: dict[str, str]) -> list[Cell] | None:
    shares = main_task_rows(run.ceiling_shares, run)
    if shares is None:
        return None
    if (shares["sigma_source"] == "replicates").any():
        chosen = shares[shares["sigma_source"] == "replicates"]
        groups = ""
        if run.ceilings is not None and "replicate_groups" in run.ceilings.columns:
            groups = f" from {int(run.ceilings['replicate_groups'].max())} architectures trained twice"
        text = f"τ ceiling {number(chosen['kendall_ceiling'].iloc[0])} (σ {number(chosen['sigma'].iloc[0])}{groups})"
        strata = f"; within strata the ceiling is {number(chosen['stratified_tau_ceiling'].iloc[0])}"
        for what, group in (("proxy", chosen[~chosen["proxy"].isin(sizes)]), ("size descriptor", chosen[chosen["proxy"].isin(sizes)])):
            group = group.dropna(subset=["kendall_share"])
            if group.empty:
                continue
            best = group.loc[group["kendall_share"].idxmax()]
            text += f"; the best {what}, {labels.get(best['proxy'], run.label(best['proxy']))}, reaches {best['kendall_share']:.0%} of it"
            if group["stratified_tau_share"].notna().any():
                inner = group.loc[group["stratified_tau_share"].idxmax()]
                strata += f"; the best stratified τ of a {what} ({labels.get(inner['proxy'], run.label(inner['proxy']))}, {signed(inner['stratified_tau'])}) is {inner['stratified_tau_share']:.0%} of it"
        text += strata
    else:
        not_sizes = shares[~shares["proxy"].isin(sizes)]
        proxies = not_sizes if len(not_sizes) else shares
        by_sigma = proxies.groupby("sigma_source").agg(sigma=("sigma", "first"), ceiling=("kendall_ceiling", "first"), share=("kendall_share", "max")).sort_values("sigma")
        low, high = by_sigma.iloc[0], by_sigma.iloc[-1]
        plausible = by_sigma[by_sigma["share"] <= 1.0]
        text = (f"no architecture trained twice; for an assumed σ from {low.name.removeprefix('assumed ')} to {high.name.removeprefix('assumed ')} "
                f"the τ ceiling falls from {number(low['ceiling'])} to {number(high['ceiling'])}, and the best proxy's share rises from "
                f"{low['share']:.0%} to {high['share']:.0%}")
        if len(plausible) < len(by_sigma):
            text += (f"; a share above 100% is impossible for a real noise level, so the training noise of this benchmark is below "
                     f"{by_sigma[by_sigma['share'] > 1.0].iloc[0].name.removeprefix('assumed ')}")
    return [Cell(f"Noise ceiling on {title}", "label"), Cell(text + ".", "ours")]


def _predictor_line(run: ProxyRun, title: str) -> list[Cell] | None:
    stored = main_task_rows(run.predictor, run)
    if stored is None:
        return None
    parts = []
    for method in ("proxies", "encoding"):
        frame = stored[stored["method"] == method].sort_values("k")
        if frame.empty:
            continue
        proxy_k, size_k = smallest_k(frame, "beats_best_proxy"), smallest_k(frame, "beats_best_size")
        parts.append(f"on the {FEATURE_SETS[method]} it beats the best proxy " + (f"from k = {proxy_k} on" if proxy_k else "from no tested k on")
                     + " and the best size descriptor " + (f"from k = {size_k} on" if size_k else "from no tested k on"))
    ks = ", ".join(str(int(k)) for k in sorted(stored["k"].unique()))
    return [Cell(f"Few-shot predictor on {title}", "label"), Cell(f"A random forest trained on k of the architectures (k = {ks}): " + "; ".join(parts) + ".", "ours")]


def nlu_source(files: Sequence[HeldoutSeedsFile]) -> HeldoutSeedsFile | None:
    """The held-out seed table with paired comparisons and the most seeds (then rows)."""
    paired = [f for f in files if f.paired is not None and len(f.paired)]
    return max(paired, key=lambda f: (f.table["seed"].nunique(), len(f.table))) if paired else None


def _nlu_line(files: Sequence[HeldoutSeedsFile], labels: dict[str, str]) -> list[Cell] | None:
    stored = nlu_source(files)
    if stored is None:
        return None
    reference = str(stored.paired["against"].iloc[0])
    space = stored.table.loc[stored.table["model"] == reference, "space"]
    same = stored.table[stored.table["space"].isin(space)] if len(space) else stored.table  # the loss is comparable within a space only
    means = same.groupby("model")["heldout_kd_loss"].mean().sort_values()
    seeds = int(stored.paired["seeds"].max())
    compared = stored.paired[(stored.paired["against"] == reference) & stored.paired["model"].isin(means.index)]
    worse = compared[compared["mean_diff"] > 0]
    text = (f"lowest held-out distillation loss of the {len(means)} searched {', '.join(map(str, space.unique()))} students: {means.index[0]} ({number(means.iloc[0])}, mean over {seeds} seeds); "
            f"{len(worse)} of the {len(compared)} compared with {reference} are higher on average")
    params = compared[compared["model"].astype(str).str.endswith("-params")]
    if len(params):
        row = params.iloc[0]
        text += (f"; the #Params-searched one by {float(row['mean_diff']):+.3f} ({int(row['wins_of_against'])} of {int(row['seeds'])} seeds, "
                 f"paired t p {float(row['p_paired_t']):.2g}; the Bonferroni threshold for the {len(compared)} comparisons is "
                 f"{0.05 / max(len(compared), 1):.2g})")
    return [Cell("NLU search space", "label"), Cell(text + ".", "ours")]


def _runs_by_benchmark(runs: Sequence[ProxyRun]) -> dict[str, ProxyRun]:
    """Per benchmark label, the run whose stored ceiling shares cover the most proxies (the first, by
    the report's order, on a tie); runs storing neither shares nor predictor curves are not chosen."""
    chosen: dict[str, ProxyRun] = {}

    def covered(run: ProxyRun) -> int:
        return run.ceiling_shares["proxy"].nunique() if run.ceiling_shares is not None and "proxy" in run.ceiling_shares.columns else 0

    for run in runs:
        if run.ceiling_shares is None and run.predictor is None:
            continue
        name = run.benchmark_label
        if name not in chosen or covered(run) > covered(chosen[name]):
            chosen[name] = run
    return chosen


def summary_blocks(runs: Sequence[ProxyRun], across: Sequence[AcrossFile], heldout: Sequence[HeldoutSeedsFile]) -> list[Block]:
    """The findings table and the cross-benchmark table (Missing blocks where a source is absent).

    ``runs`` are the benchmark runs in the report's order (largest scale first).
    """
    if not across:
        return [Missing("summary-findings", "Findings, one line each",
                        "No stored `bench across` table: the summary ranks proxies across benchmarks from it.", [COMMANDS["across"]])]
    labels = proxy_labels(list(runs))
    main = across[0]
    rows = _ranked_line(main, labels) + _best_proxy_lines(main, labels)
    chosen = _runs_by_benchmark(runs)
    sizes = set(main.table.loc[main.table["size_descriptor"].astype(bool), "proxy"]) if "size_descriptor" in main.table.columns else set()
    sources = [across_provenance(main)]
    for name in dict.fromkeys(main.table["benchmark"].astype(str)):
        run = chosen.get(name)
        if run is None:
            continue
        stale = stale_evidence(run)  # a stale file's numbers are not summarised (the evidence section says so)
        lines = [None if "ceilings.csv" in stale else _ceiling_line(run, benchmark_title(name), sizes, labels),
                 None if "predictor.csv" in stale else _predictor_line(run, benchmark_title(name))]
        for line in lines:
            if line is not None:
                rows.append(line)
        sources.append(run_provenance(run, "ceiling-shares.csv, ceilings.csv and predictor.csv as stored"))
    nlu = _nlu_line(heldout, labels)
    if nlu is not None:
        rows.append(nlu)
        sources.append(Provenance(source=str(nlu_source(heldout).path), command="", git_revision="", device="", started="",
                                  derived="mean over seeds of the stored per-run losses; the paired file as stored"))
    findings = Table(
        key="summary-findings",
        title="Findings, one line each",
        caption="One line per finding, each read from the stored results the sections below show in full.",
        header=["Question", "Answer"],
        header_kinds=["", "ours"],
        rows=rows,
        notes=["τ: Kendall τ against each benchmark's main task (GLUE mean on FlexiBERT, negated validation perplexity on LTS). "
               "Δτ: paired bootstrap difference on the same architectures, with its 95% interval. Size descriptors: #Params, "
               "non-embedding #Params, FLOPs, layers, hidden size, layers × hidden; the best of them per benchmark is chosen on the same data."],
        provenance=sources,
    )
    return [findings, *(across_table(a, labels) for a in across)]
