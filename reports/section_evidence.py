"""Evidence blocks: how good a proxy could be, and whether it is worth it against a few trained models.

Per benchmark run, from the files the analysis commands store in it:

* **noise ceiling** (``ceilings.csv``, ``bench ceiling``): the Kendall τ / Spearman ρ a
  perfect proxy would reach against a ground truth with training noise σ, over all
  architectures and within size strata; σ from replicated architectures, or a grid of
  assumed σ where a benchmark has none (:mod:`bench.analysis.ceiling`);
* **each proxy beside its ceiling** (``ceiling-shares.csv``): τ and the size-stratified τ as a
  share of the ceiling, one column per noise estimate;
* **few-shot predictors** (``predictor.csv``, ``bench predictor``): τ on held-out
  architectures of a random forest trained on k of them, against k, beside the best single
  proxy and the best size descriptor on the same test sets.

And, from ``bench across`` (``across-benchmarks.csv`` with its ``-summary.csv``): every proxy
on every benchmark with its rank and its paired difference to the benchmark's best size
descriptor. A run without one of these files gets a :class:`reports.model.Missing` block
naming the command. Nothing is computed here.
"""

from __future__ import annotations

import math

import pandas as pd

from reports.figures import defer, predictor_figure
from reports.load import AcrossFile, ProxyRun
from reports.model import Block, Cell, FigureBlock, Missing, Provenance, Table
from reports.provenance import run_provenance
from reports.section_benchmark import benchmark_name, benchmark_title, main_task_rows, slug
from reports.tables import number, signed

#: Predictor feature sets as ``bench predictor`` names them, and how the report labels them.
FEATURE_SETS = {"encoding": "architecture encoding", "proxies": "proxy values", "encoding+proxies": "encoding + proxy values"}


def _sources(frame: pd.DataFrame) -> list[str]:
    """Noise estimates of a ceilings table, smallest σ first."""
    order = frame.groupby("sigma_source")["sigma"].first().sort_values()
    return list(order.index)


def _interval(value: float, low: float, high: float) -> str:
    if not all(math.isfinite(float(v)) for v in (low, high)):
        return number(value)
    return f"{number(value)} [{number(low)}, {number(high)}]"


def ceiling_table(run: ProxyRun) -> Table | None:
    """The noise ceiling of the run's main task: over all architectures, within strata, per σ."""
    ceilings, shares = main_task_rows(run.ceilings, run), main_task_rows(run.ceiling_shares, run)
    if ceilings is None:
        return None
    sources = _sources(ceilings)
    rows = []
    for source in sources:
        group = ceilings[ceilings["sigma_source"] == source]
        overall = group[group["stratum"] == "all"]
        strata = group[group["stratum"] != "all"]
        label = f"{number(float(group['sigma'].iloc[0]), 3)} ({source})"
        for row in overall.itertuples():
            rows.append([Cell(label, "label"), Cell("all"), Cell(str(int(row.n)), "ours"), Cell(number(row.reliability), "ours"),
                         Cell(_interval(row.kendall_sim, row.kendall_sim_lo, row.kendall_sim_hi), "ours"),
                         Cell(_interval(row.spearman_sim, row.spearman_sim_lo, row.spearman_sim_hi), "ours")])
        if shares is not None and len(strata):
            inner = shares[shares["sigma_source"] == source]
            if len(inner):
                counted = strata[strata["n"] >= 3]  # the strata bench.analysis.ceiling.shares weighs
                rows.append([Cell(label, "label"), Cell(f"within {len(counted)} strata (n-weighted)"), Cell(str(int(counted["n"].sum())), "ours"), Cell("—"),
                             Cell(number(float(inner["stratified_tau_ceiling"].iloc[0])), "ours"), Cell(number(float(inner["stratified_rho_ceiling"].iloc[0])), "ours")])
        if len(sources) == 1:
            for row in strata.itertuples():
                rows.append([Cell(label, "label"), Cell(str(row.stratum)), Cell(str(int(row.n)), "ours"), Cell(number(row.reliability), "ours"),
                             Cell(_interval(row.kendall_sim, row.kendall_sim_lo, row.kendall_sim_hi), "ours"),
                             Cell(_interval(row.spearman_sim, row.spearman_sim_lo, row.spearman_sim_hi), "ours")])
    replicated = ceilings[ceilings["sigma_source"] == "replicates"]
    if len(replicated):
        groups = int(replicated["replicate_groups"].iloc[0])
        noise = (f"σ is the pooled SD of the {groups} architectures the benchmark trained more than once, assumed to hold for every "
                 "architecture (on FlexiBERT all of them are 2-layer models).")
    else:
        noise = ("The benchmark trained no architecture twice, so σ is unknown: the rows are a grid of assumed σ, as fractions of the SD "
                 "of the scores, to show how the ceiling depends on it.")
    return Table(
        key=f"ceiling-{slug(run.name)}",
        title=f"Noise ceiling of the {benchmark_name(run)} benchmark ({run.name})",
        caption=f"The Kendall τ and Spearman ρ a perfect proxy would reach against the {run.benchmark[2]} when the scores carry training noise σ.",
        header=["σ (source)", "architectures", "n", "reliability", "τ ceiling [perfect proxy's 95% range]", "ρ ceiling [95% range]"],
        header_kinds=["", "", "ours", "ours", "ours", "ours"],
        rows=rows,
        notes=[noise,
               "Model: score = true quality + N(0, σ²); reliability R = 1 − σ²/var(scores); the ceiling is the mean τ (ρ) of the true order "
               "against simulated noisy scores, its range the 2.5–97.5 percentiles over the simulations (bench/analysis/ceiling.py).",
               "Within strata: the n-weighted mean of the strata's ceilings, the bound for the stratified τ; every stratum is in ceilings.csv."],
        provenance=[run_provenance(run, "read from ceilings.csv and ceiling-shares.csv (written by `bench ceiling`)")],
    )


def shares_table(run: ProxyRun) -> Table | None:
    """Each proxy's τ and stratified τ beside the ceiling, as a share of it, per noise estimate."""
    shares = main_task_rows(run.ceiling_shares, run)
    if shares is None:
        return None
    stored = _sources(shares)
    keyed = shares.set_index(["proxy", "sigma_source"])
    # an assumed σ under which some proxy beats a perfect one (share above 1) is ruled out by the data: its columns are left out
    ruled_out = [s for s in stored if s != "replicates" and (shares.loc[shares["sigma_source"] == s, "kendall_share"] > 1).any()]
    sources = [s for s in stored if s not in ruled_out] or stored[:1]
    ruled_out = [s for s in ruled_out if s not in sources]
    first = shares[shares["sigma_source"] == sources[0]].sort_values("kendall_tau", ascending=False)
    rows = []
    for row in first.itertuples():
        cells = [Cell(run.label(row.proxy), "label"), Cell(signed(row.kendall_tau), "ours")]
        cells += [Cell(number(keyed.loc[(row.proxy, s), "kendall_share"], 2), "ours") for s in sources]
        cells += [Cell("—" if pd.isna(row.stratified_tau) else signed(row.stratified_tau), "ours")]
        cells += [Cell(number(keyed.loc[(row.proxy, s), "stratified_tau_share"], 2), "ours") for s in sources]
        rows.append(cells)
    short = [s.replace("assumed ", "σ = ") if s != "replicates" else "σ from replicates" for s in sources]
    return Table(
        key=f"ceiling-shares-{slug(run.name)}",
        title=f"Each proxy beside the noise ceiling ({run.name})",
        caption="Kendall τ over all architectures and within size strata, and each as a share of the ceiling a perfect proxy would reach "
                "(1.00: as good as the noise allows).",
        header=["Proxy", "τ", *short, "stratified τ", *short],
        header_kinds=["", "ours", *["ours"] * len(sources), "ours", *["ours"] * len(sources)],
        groups=[("", 2), ("share of the ceiling", len(sources)), ("", 1), ("share of the ceiling within strata", len(sources))],
        rows=rows,
        notes=["Sorted by τ. A share is the proxy's τ divided by the ceiling of the same architectures (the table above); "
               "— where the stratified τ or its ceiling is not defined (a stratum whose spread is no larger than σ has reliability 0).",
               *(["With assumed σ: a share above 1 means a proxy ranks better than a perfect proxy could under that σ, so the data rule "
                  "that much noise out; the plausible σ are those where the best shares stay at or below 1."] if len(stored) > 1 else []),
               *([f"Left out, ruled out by the data (a proxy's share above 1): {', '.join(s.removeprefix('assumed ') for s in ruled_out)}; "
                  "their shares are in ceiling-shares.csv and their ceilings in the table above."] if ruled_out else [])],
        provenance=[run_provenance(run, "read from ceiling-shares.csv (written by `bench ceiling`)")],
    )


def smallest_k(frame: pd.DataFrame, column: str) -> int | None:
    """The smallest k from which on the stored ``column`` (beats the reference) holds at every larger k."""
    found = None
    for k, beats in zip(frame["k"], frame[column]):
        if bool(beats) and found is None:
            found = int(k)
        elif not bool(beats):
            found = None
    return found


def predictor_block(run: ProxyRun) -> FigureBlock | None:
    """τ of the few-shot predictors against k, with the best proxy and the best size descriptor."""
    stored = main_task_rows(run.predictor, run)
    if stored is None:
        return None
    curves = [(label, stored[stored["method"] == method].sort_values("k")) for method, label in FEATURE_SETS.items() if (stored["method"] == method).any()]
    references = []
    for role in ("best proxy", "best size descriptor"):
        chosen = stored[stored["role"] == role]
        if len(chosen):
            proxy = str(chosen["method"].iloc[0]).removeprefix("proxy:")
            references.append((f"{role}: {run.label(proxy)}", chosen.sort_values("k")))
    notes = []
    for label, frame in curves:
        parts = []
        for column, what in (("beats_best_proxy", "the best proxy"), ("beats_best_size", "the best size descriptor")):
            k = smallest_k(frame, column)
            parts.append(f"beats {what} from k = {k} on" if k is not None else f"does not beat {what} at every larger k")
        notes.append(f"{label}: " + "; ".join(parts) + ".")
    repeats, trees = int(stored["repeats"].max()), stored["trees"].iloc[0] if "trees" in stored.columns else "?"
    notes.append(f"{repeats} random splits per k (seed {stored['seed'].iloc[0] if 'seed' in stored.columns else '?'}), a random forest of {trees} trees; "
                 "lines: mean τ on the architectures not trained on, shaded: 2.5–97.5 percentiles over the splits. "
                 "The dashed lines are the single proxies on the same test sets (their τ changes a little with k because the test sets do).")
    return FigureBlock(
        key=f"predictor-{slug(run.name)}",
        title=f"Few-shot predictors against proxies ({run.name})",
        caption=f"Kendall τ against the {run.benchmark[2]} of a predictor trained on k architectures of the benchmark, on the rest.",
        figure=defer(predictor_figure, curves, references),
        notes=notes,
        provenance=[run_provenance(run, "read from predictor.csv (written by `bench predictor`)")],
    )


def stale_evidence(run: ProxyRun) -> dict[str, str]:
    """File name -> why it no longer describes the run: ``ceilings.csv`` whose ``all`` stratum, or
    ``predictor.csv`` whose ``k + n_test``, counts other than the run's current entries (rows were
    added after the analysis)."""
    current = run.n_entries
    stale: dict[str, str] = {}
    ceilings = main_task_rows(run.ceilings, run)
    if ceilings is not None:
        made = {int(n) for n in ceilings.loc[ceilings["stratum"] == "all", "n"]}
        if made and made != {current}:
            stale["ceilings.csv"] = f"It was made from {', '.join(map(str, sorted(made)))} benchmark entries; the run now has {current}."
    predictor = main_task_rows(run.predictor, run)
    if predictor is not None and {"k", "n_test", "role"} <= set(predictor.columns):
        rows = predictor[predictor["role"] == "predictor"]
        made = {int(k + n) for k, n in zip(rows["k"], rows["n_test"])}
        if made and made != {current}:
            stale["predictor.csv"] = f"Its splits cover {', '.join(map(str, sorted(made)))} benchmark entries; the run now has {current}."
    return stale


def evidence_blocks(run: ProxyRun, name_missing: bool = True) -> list[Block]:
    """The ceiling, shares and predictor blocks of a benchmark run; Missing blocks for the absent
    ones when ``name_missing`` (the report asks for them on the largest run of each benchmark only).
    The commands name every part of a joined run, so that the analyses cover all its proxies."""
    blocks: list[Block] = []
    paths = " ".join(str(part.path) for part in (run.parts or [run]))
    ceiling_command = f"bench correlate {paths} --tasks all --metrics all && bench stratify {paths} && bench ceiling {paths}"
    stale = stale_evidence(run)
    for name, why in stale.items():
        command = f"bench predictor {paths}" if name == "predictor.csv" else ceiling_command
        blocks.append(Missing(f"stale-{name.split('.')[0]}-{slug(run.name)}", f"{name} of {run.name} is stale", why, [command]))
    ceiling_stale = "ceilings.csv" in stale
    ceiling = None if ceiling_stale else ceiling_table(run)
    if ceiling is not None:
        blocks.append(ceiling)
        shares = shares_table(run)
        if shares is not None:
            blocks.append(shares)
        elif name_missing:
            blocks.append(Missing(f"ceiling-shares-{slug(run.name)}", f"Each proxy beside the noise ceiling ({run.name})",
                                  "No ceiling-shares.csv (`bench ceiling` writes it when correlations.csv is stored).", [ceiling_command]))
    elif name_missing and not ceiling_stale:
        blocks.append(Missing(f"ceiling-{slug(run.name)}", f"Noise ceiling ({run.name})", "No ceilings.csv for the run's main task.", [ceiling_command]))
    predictor = predictor_block(run) if "predictor.csv" not in stale else None
    if predictor is not None:
        blocks.append(predictor)
    elif name_missing and "predictor.csv" not in stale:
        blocks.append(Missing(f"predictor-{slug(run.name)}", f"Few-shot predictors against proxies ({run.name})",
                              "No predictor.csv for the run's main task.", [f"bench predictor {paths}"]))
    return blocks


def _mark(low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return "\u00a0▲" if low > 0 else "\u00a0▼" if high < 0 else ""  # a no-break space: the mark stays with its number


def across_provenance(across: AcrossFile) -> Provenance:
    """Where a ``bench across`` table's numbers come from (the file records no command or machine)."""
    return Provenance(source=str(across.path), command="", git_revision="", device="", started="",
                      derived="read from the table `bench across` wrote and its -summary.csv")


def across_table(across: AcrossFile, labels: dict[str, str] | None = None) -> Table:
    """Every proxy on every benchmark: τ (rank) and the paired Δτ to the benchmark's best size descriptor."""
    table, summary = across.table, across.summary
    names = list(dict.fromkeys(table["benchmark"].astype(str)))
    keyed = table.set_index(["proxy", "benchmark"])
    order = list(summary["proxy"]) if summary is not None else sorted(set(table["proxy"]))
    best = table.drop_duplicates("benchmark").set_index("benchmark")["best_size"].fillna("none").astype(str)
    rows = []
    for proxy in order:
        cells = [Cell((labels or {}).get(proxy, proxy), "label")]
        if summary is not None:
            s = summary.set_index("proxy").loc[proxy]
            cells += [Cell(f"{s['mean_rank']:.1f}", "ours"), Cell(f"{int(s['beats_size'])} / {int(s['loses_to_size'])}", "ours")]
        for name in names:
            if (proxy, name) not in keyed.index:
                cells.append(Cell("—"))
                continue
            r = keyed.loc[(proxy, name)]
            delta = "" if pd.isna(r.get("delta_tau")) else f"; Δ\u00a0{signed(r['delta_tau'], 3)}{_mark(float(r['delta_tau_lo']), float(r['delta_tau_hi']))}"
            rank = "—" if pd.isna(r["rank"]) else str(int(r["rank"]))
            cells.append(Cell(f"{signed(r['kendall_tau'], 2)} ({rank}){delta}", "ours"))
        rows.append(cells)
    boot = int(table["n_boot"].iloc[0]) if "n_boot" in table.columns else None
    return Table(
        key="across-benchmarks",
        title="Every proxy on every benchmark, beside each benchmark's best size descriptor",
        caption="Per benchmark: Kendall τ against its main task (rank among the proxies) and Δ, the paired difference in τ to its best size descriptor.",
        header=["Proxy", *(["mean rank", "beats / loses to size"] if summary is not None else []), *(benchmark_title(n) for n in names)],
        header_kinds=["", *(["ours", "ours"] if summary is not None else []), *["ours"] * len(names)],
        rows=rows,
        notes=["Δ: paired bootstrap difference τ(proxy) − τ(best size descriptor) on the same architectures; ▲: its 95% interval lies above "
               "zero (the proxy beats size), ▼: below (size beats it). Mean rank over the benchmarks; beats / loses to size: on how many.",
               "Best size descriptor per benchmark (the size descriptor with the highest τ there, chosen on the same data, which favours it): "
               + "; ".join(f"{benchmark_title(n)}: {(labels or {}).get(best[n], best[n])}" for n in names) + "."
               + (f" {boot} paired resamples." if boot else ""),
               "Stratified τ and the Δ to #Params of every proxy are in the same file."],
        provenance=[across_provenance(across)],
    )
