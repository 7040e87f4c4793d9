"""Seed stability (Fig. 4), proxy cost, and ablation blocks, from stored results.

* Stability: ``stability.csv`` when it covers the run's current rows, written by
  ``bench stability`` or stored by ``bench report`` before building the report; else the
  run's stability blocks are missing.
* Cost: ``proxy_cost.json`` as written by ``scripts/benchmark_proxies.py``.
* Ablation: the stored ablation CSVs written by ``bench ablation ... --out``; without one,
  the table ``bench report`` computed from the ablation runs and the reference run and
  stored (it records ``written_by`` and ``n_boot``).

Nothing is computed here from rows beyond what a figure draws.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from bench.store import schema
from reports.figures import cost_figure, defer, stability_figure
from reports.load import AblationFile, CostFile, ProxyRun, proxy_labels
from reports.load.files import written_by_report
from reports.model import Cell, FigureBlock, Missing, Provenance, Table
from reports.paper_values import TABLE1
from reports.provenance import cost_provenance, run_provenance
from reports.section_benchmark import GLUE, is_paper_benchmark, slug, ordered_proxies
from reports.tables import number, with_ci

STABILITY_COMMAND = "bench run --proxies all --space flexibert --archs deciles --seed 0-9 --scale cpu --jobs 2 --out results/seed-stability-trained-cpu && bench stability results/seed-stability-trained-cpu"
COST_COMMAND = "python scripts/benchmark_proxies.py --archs 10 --repeats 3 --out results/benchmarks/proxy_cost.json"
ABLATION_COMMAND = "bash scripts/ablations.sh && bench ablation results/table1-trained-cpu results/ablation/* --out results/ablation/table1-ablation.csv"


def stored_stability(run: ProxyRun) -> tuple[pd.DataFrame, str] | None:
    """The run's stored stability table (indexed by proxy) and where it came from, when it
    covers the run's current rows (per proxy: archs + excluded archs and seeds); else ``None``."""
    stored = run.stability
    if stored is None or not {"proxy", "archs", "seeds"} <= set(stored.columns):
        return None
    current = run.rows.groupby("proxy").agg(archs=("arch_hash", "nunique"), seeds=("seed", "nunique"))
    keyed = stored.set_index("proxy")
    if set(keyed.index) != set(current.index) or not all(
        int(keyed.loc[p, "archs"]) + int(keyed.loc[p].get("excluded_archs", 0)) == int(current.loc[p, "archs"]) and int(keyed.loc[p, "seeds"]) == int(current.loc[p, "seeds"])
        for p in current.index
    ):
        return None
    if written_by_report(stored):
        return keyed, f"computed by `bench report` from rows.csv with bench.analysis.stability and stored in {schema.STABILITY}"
    return keyed, f"read from {schema.STABILITY} (written by `bench stability`)"


def stability_blocks(run: ProxyRun) -> list[Table | FigureBlock] | list[Missing]:
    """The stability table and Fig. 4 of one multi-seed run (missing blocks without a current stored table)."""
    found = stored_stability(run)
    if found is None:
        why = (f"No {schema.STABILITY} covers the run's current rows (`bench report` computes and stores it before building the report).")
        return [Missing(f"stability-{slug(run.name)}", f"Seed stability of each proxy ({run.name})", why, [f"bench stability {run.path}"]),
                Missing(f"fig4-{slug(run.name)}", f"Figure 4 — proxy values over {len(run.seeds)} initialisation seeds ({run.name})", why, [f"bench stability {run.path}"])]
    frame, how = found
    proxies = ordered_proxies(list(frame.index))
    rows = [
        [Cell(run.label(p), "label"), Cell(str(int(frame.loc[p, "archs"])), "ours"), Cell(str(int(frame.loc[p, "seeds"])), "ours"),
         Cell(number(frame.loc[p, "rank_cv"]), "ours"), Cell(number(frame.loc[p, "kendall_w"]), "ours"),
         Cell(number(frame.loc[p, "mean_pairwise_tau"]), "ours"), Cell(number(frame.loc[p, "value_cv"], 4), "ours")]
        for p in proxies
    ]
    provenance = [run_provenance(run, f"statistics {how}")]
    table = Table(
        key=f"stability-{slug(run.name)}",
        title=f"Seed stability of each proxy ({run.name})",
        caption=f"{run.n_archs_scored} architectures x {len(run.seeds)} initialisation seeds. The paper shows this only as a plot (Fig. 4), without numbers.",
        header=["Proxy", "archs", "seeds", "rank CV", "Kendall W", "mean pairwise τ", "value CV"],
        header_kinds=["", "ours", "ours", "ours", "ours", "ours", "ours"],
        rows=rows,
        notes=[
            "rank CV: per architecture, std/mean of its rank across seeds, averaged (0: the seed never changes the ranking). "
            "Kendall W: concordance of the per-seed rankings (1: identical). mean pairwise τ: mean Kendall τ between the rankings of two seeds. "
            "value CV: per architecture, std/|mean| of the value across seeds, averaged.",
            f"Statistics {how}.",
        ],
        provenance=provenance,
    )
    order, labels = _arch_order(run)
    panels = []
    for proxy in proxies:
        rows_p = run.rows[run.rows["proxy"] == proxy]
        data = pd.DataFrame({"arch": rows_p["arch_hash"].map(labels), "seed": rows_p["seed"], "value": rows_p["value"].astype(float)}).dropna(subset=["arch"])
        subtitle = f"W = {number(frame.loc[proxy, 'kendall_w'], 2)}, rank CV = {number(frame.loc[proxy, 'rank_cv'], 2)}"
        panels.append((run.label(proxy), data, subtitle))
    figure = FigureBlock(
        key=f"fig4-{slug(run.name)}",
        title=f"Figure 4 — proxy values over {len(run.seeds)} initialisation seeds ({run.name})",
        caption="One box per architecture (x: its GLUE score, lowest first; one architecture per GLUE decile when the run used --archs deciles) "
                "over the seeds; values min-max normalised per proxy over all architectures and seeds, so a box's height is the seed "
                "spread relative to the proxy's range across architectures.",
        figure=defer(stability_figure, panels, [labels[h] for h in order]),
        provenance=provenance,
    )
    return [table, figure]


def _arch_order(run: ProxyRun) -> tuple[list[str], dict[str, str]]:
    """Architectures by GLUE score (lowest first) and their axis labels (the score)."""
    hashes = list(dict.fromkeys(run.rows["arch_hash"]))
    if run.truth is not None:
        glue = run.truth[run.truth["task"] == GLUE].groupby("arch_hash")["score"].mean()
        order = sorted(hashes, key=lambda h: (glue.get(h, float("inf")), h))
        labels = {h: (f"{glue[h]:.1f}" if h in glue.index else h[:6]) for h in order}
    else:
        order = sorted(hashes)
        labels = {h: h[:6] for h in order}
    if len(set(labels.values())) < len(labels):  # equal scores: keep labels distinct
        labels = {h: f"{labels[h]} ({h[:4]})" for h in order}
    return order, labels


def cost_blocks(cost: CostFile, runs: list[ProxyRun]) -> list[Table | FigureBlock]:
    """Per-proxy cost table and bar chart from one ``proxy_cost.json``."""
    labels: dict[str, str] = {}
    free: dict[str, bool | None] = {}
    for run in runs:
        for proxy, info in run.proxy_info.items():
            labels.setdefault(proxy, str(info.get("label", proxy)))
            free.setdefault(proxy, info.get("gradient_free"))
    times = cost.time_1000
    seconds = cost.data.get("median_seconds", {})
    ratios = cost.data.get("ratios", {})
    proxies = ordered_proxies(list(times))
    rows = []
    for p in proxies:
        paper = TABLE1.get(p)
        grad = free.get(p, paper[1] if paper else None)
        rows.append([
            Cell(labels.get(p, p), "label"), Cell("?" if grad is None else ("yes" if grad else "no")),
            Cell(f"{seconds[p]:.3g} s" if p in seconds else "—", "ours"), Cell(f"{ratios[p]:.2f}" if p in ratios else "—", "ours"),
            Cell(f"{times[p]:,.0f} s" if times[p] >= 10 else f"{times[p]:.2g} s", "ours"),
            Cell(f"{paper[0]:,.0f} s" if paper else "not in paper", "paper"),
        ])
    fused = [(k, v) for k, v in ratios.items() if "/" in k]
    notes = [
        "median s: median wall time of one evaluation of the proxy alone (its own shared pass plus the proxy), over repeats and architectures. "
        "ratio: that time over the time of the bare pass it needs (a forward pass for gradient-free proxies, forward+backward otherwise; V-PCA/W-PCA over the covariance floor in the fused rows).",
        "Time of 1,000 evaluations: 1,000 x the mean measured time, the paper's Table 1 \"Time\" column (the paper's on its own hardware).",
    ]
    if fused:
        notes.append("Fused passes: " + "; ".join(f"{k} = {v:.2f}" for k, v in fused) + ".")
    provenance = [cost_provenance(cost)]
    table = Table(
        key=f"cost-{slug(str(cost.path.parent.name))}",
        title="Proxy cost",
        caption=f"Measured on {cost.machine}, batch {cost.data.get('batch', ['?', '?'])[0]} x {cost.data.get('batch', ['?', '?'])[1]}.",
        header=["Proxy", "∇-free", "median s", "ratio to bare pass", "Time (1,000)", "paper: Time (1,000)"],
        header_kinds=["", "", "ours", "ours", "ours", "paper"],
        rows=rows,
        notes=notes,
        provenance=provenance,
    )
    figure = FigureBlock(
        key=f"cost-figure-{slug(str(cost.path.parent.name))}",
        title="Proxy cost: time of 1,000 evaluations (log scale)",
        caption="Ours on this machine and batch; the paper's on its hardware and batch (not comparable in absolute terms; compare the order).",
        figure=defer(cost_figure, {labels.get(p, p): times[p] for p in proxies}, {labels.get(p, p): TABLE1[p][0] for p in proxies if p in TABLE1},
                           {labels.get(p, p): free.get(p, TABLE1[p][1] if p in TABLE1 else None) for p in proxies}, cost.machine),
        provenance=provenance,
    )
    return [table, figure]


def ablation_from_file(ablation: AblationFile, runs: list[ProxyRun]) -> list[Table]:
    """The stored ablation table with the paper's Table 1 beside it: proxies x settings, or for
    many settings one settings x proxies table per statistic."""
    frame = ablation.table
    known = {str(r.path.resolve()): r for r in runs}
    listed = []
    for run_path in dict.fromkeys(frame["run"]):
        match = known.get(str(Path(run_path).resolve())) or next((r for r in runs if str(r.path).endswith(str(run_path))), None)
        listed.append(match)
    provenance = [Provenance(source=str(ablation.path), command=f"bench ablation {' '.join(dict.fromkeys(frame['run']))} --out {ablation.path} (reconstructed from the table's runs)")]
    provenance += [run_provenance(r) for r in listed if r is not None]
    folder = ablation.path.resolve().parent
    unlisted = [r.name for r in runs if r.is_ablation and r not in listed and r.path.resolve().is_relative_to(folder)]
    tables = _as_list(_ablation_table(frame, f"read from {ablation.path.name}", provenance, str(ablation.path), proxy_labels(runs), listed[0] if listed else None))
    if unlisted:
        tables[0].notes.append("Ablation runs found but not in this table (rerun `bench ablation` to include them): " + ", ".join(unlisted) + ".")
    return tables


def ablation_from_report(ablation: AblationFile, runs: list[ProxyRun]) -> list[Table]:
    """The ablation table ``bench report`` computed from the ablation runs and stored (its
    first run is the reference)."""
    frame = ablation.table
    known = {str(r.path.resolve()): r for r in runs}
    listed = [known.get(str(Path(p).resolve())) for p in dict.fromkeys(frame["run"])]
    reference = listed[0].name if listed and listed[0] is not None else str(frame["run"].iloc[0])
    how = (f"computed by `bench report` from the runs' rows with bench.analysis.ablation (reference {reference}, "
           f"{ablation.n_boot if ablation.n_boot is not None else 0} bootstrap resamples) and stored in {ablation.path}")
    return _as_list(_ablation_table(frame, how, [run_provenance(r) for r in listed if r is not None], "runs", proxy_labels(runs), listed[0] if listed else None))


def missing_ablation_table(ablation_runs: list[ProxyRun]) -> Missing:
    """Ablation runs are stored but no ablation table made from them."""
    why = (f"{len(ablation_runs)} ablation run(s) are stored but no ablation table: `bench report` computes and stores one before "
           "building the report when a benchmark run to compare them with is stored and the runs share architectures (its log says why not).")
    return Missing("ablation", "Ablation of Table 1 settings", why, [ABLATION_COMMAND])


def _as_list(tables: Table | list[Table]) -> list[Table]:
    return tables if isinstance(tables, list) else [tables]


#: Above this many settings the ablation is drawn transposed (settings as rows), one table per statistic.
WIDE_ABLATION = 4


def _target(reference: ProxyRun | None) -> tuple[str, bool]:
    """What the ablation ranks against (the reference run's main-task label) and whether the paper's Table 1 applies."""
    if reference is None or reference.truth is None:
        return "the GLUE mean", True
    return f"the {reference.benchmark[2]}", is_paper_benchmark(reference)


def _ablation_table(frame: pd.DataFrame, how: str, provenance: list[Provenance], source: str, labels: dict[str, str],
                    reference: ProxyRun | None = None) -> Table | list[Table]:
    settings = list(dict.fromkeys(frame["setting"]))
    target, paper_column = _target(reference)
    if len(settings) > WIDE_ABLATION:
        tau = _ablation_by_setting(frame, "kendall_tau", how, provenance, source, labels, reference)
        rho = _ablation_by_setting(frame, "spearman_rho", how, [], source, labels, reference)
        rho.notes.append("Provenance: as the Kendall τ table above.")
        return [tau, rho]
    keyed = frame.drop_duplicates(["proxy", "setting"]).set_index(["proxy", "setting"])
    counts = frame.groupby("setting")["n"].max()
    rows = []
    for proxy in ordered_proxies(list(dict.fromkeys(frame["proxy"]))):
        cells = [Cell(labels.get(proxy, proxy), "label")]
        for setting in settings:
            if (proxy, setting) in keyed.index:
                r = keyed.loc[(proxy, setting)]
                tau = with_ci(r["kendall_tau"], r.get("kendall_lo", math.nan), r.get("kendall_hi", math.nan))
                rho = with_ci(r["spearman_rho"], r.get("spearman_lo", math.nan), r.get("spearman_hi", math.nan))
                cells.append(Cell(f"{tau} / {rho}", "ours"))
            else:
                cells.append(Cell("—"))
        paper = TABLE1.get(proxy)
        if paper_column:
            cells.append(Cell(f"{paper[2]:.3f} / {paper[3]:.3f}" if paper else "not in paper", "paper"))
        rows.append(cells)
    return Table(
        key=f"ablation-{slug(source)}",
        title=f"Ablation of Table 1 settings: Kendall τ / Spearman ρ against {target}",
        caption="Each column is a run that differs from the reference run in the named setting; all columns use the architectures every run scored.",
        header=["Proxy", *[f"{s} (n={int(counts[s])})" for s in settings], *(["paper (Table 1)"] if paper_column else [])],
        header_kinds=["", *(["ours"] * len(settings)), *(["paper"] if paper_column else [])],
        rows=rows,
        notes=[f"τ / ρ {how}."] + (["Paper: its Table 1 (the benchmark authors' published models and setting)."] if paper_column else []),
        provenance=provenance,
    )


def _ablation_by_setting(frame: pd.DataFrame, stat: str, how: str, provenance: list[Provenance], source: str, labels: dict[str, str],
                         reference: ProxyRun | None = None) -> Table:
    """Settings as rows, the reference run's proxies as columns, one statistic (τ or ρ) per cell."""
    target, paper_row = _target(reference)
    settings = list(dict.fromkeys(frame["setting"]))
    proxies = ordered_proxies(list(dict.fromkeys(frame[frame["setting"] == settings[0]]["proxy"])))
    keyed = frame.drop_duplicates(["proxy", "setting"]).set_index(["proxy", "setting"])
    counts = frame.groupby("setting")["n"].max()
    name, paper_index = ("Kendall τ", 2) if stat == "kendall_tau" else ("Spearman ρ", 3)
    rows = []
    for setting in settings:
        cells = [Cell(f"{setting} (n={int(counts[setting])})", "label")]
        for proxy in proxies:
            value = keyed.loc[(proxy, setting), stat] if (proxy, setting) in keyed.index else None
            cells.append(Cell(_fmt_signed(value), "ours") if value is not None else Cell("—"))
        rows.append(cells)
    if paper_row:
        rows.append([Cell("paper (Table 1)", "label"), *(Cell(f"{TABLE1[p][paper_index]:.3f}", "paper") if p in TABLE1 else Cell("—") for p in proxies)])
    return Table(
        key=f"ablation-{'tau' if stat == 'kendall_tau' else 'rho'}-{slug(source)}",
        title=f"Ablation of Table 1 settings: {name} against {target}",
        caption="Each row is a run that differs from the reference run in the named setting, on the architectures every run scored; — where the run did not compute the proxy.",
        header=["Setting", *(labels.get(p, p) for p in proxies)],
        header_kinds=["", *(["ours"] * len(proxies))],
        rows=rows,
        notes=[f"{name} {how}; 95% bootstrap CIs and each proxy's cost are in the stored table."]
        + (["Last row: the paper's Table 1 (the benchmark authors' published models and setting)."] if paper_row else []),
        provenance=provenance,
    )


def _fmt_signed(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:+.3f}"


def missing_stability() -> Missing:
    return Missing("fig4", "Figure 4 — seed stability", "No stored run with several initialisation seeds.", [STABILITY_COMMAND])


def missing_cost() -> Missing:
    return Missing("cost", "Proxy cost", "No stored proxy_cost.json.", [COST_COMMAND])


def missing_ablation() -> Missing:
    return Missing("ablation", "Ablation of Table 1 settings", "No stored ablation table or ablation runs.", [ABLATION_COMMAND])
