"""Benchmark blocks: Table 1, Fig. 2, the proxy heat-map, τ by task, Table 6.

Every benchmark run gets them, ranked against its benchmark's main task
(:attr:`reports.load.ProxyRun.main_task`: the GLUE mean on FlexiBERT, negated validation
perplexity on LTS); the paper's columns appear for FlexiBERT runs only. Our Kendall τ /
Spearman ρ are read from, in this order:

1. ``table1.csv`` (``bench table1``) when it covers the run's current rows;
2. ``correlations.csv`` for the main task, likewise: one written by ``bench correlate``, or
   one ``bench report`` computed and stored before building the report (it records its
   bootstrap resamples and seed, and is used only when they are the report's).

"Covers the current rows" means the stored ``n`` and ``n_excluded`` of every proxy equal
what the stored rows give now; a run still being written makes older statistics files
stale. Without a covering table, Table 1 and Fig. 2 of the run are missing blocks naming
the command that stores one. Nothing is computed here, and proxy values never are.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from reports.figures import defer, heatmap_figure, scatter_figure
from bench.store import schema
from reports.load import AcrossFile, CostFile, ProxyRun
from reports.load.files import bootstrap_settings, written_by_report
from reports.model import Cell, FigureBlock, Missing, Table
from reports.paper_values import TABLE1, TABLE1_ORDER, TABLE6, TABLE6_SIZE
from reports.provenance import cost_provenance, run_provenance
from reports.tables import number, signed, with_ci

GLUE = "glue"
CORRELATION_COLUMNS = ("proxy", "n", "n_excluded", "kendall_tau", "kendall_lo", "kendall_hi", "spearman_rho", "spearman_lo", "spearman_hi")


@dataclass
class MainCorrelations:
    """τ/ρ of each proxy of a run against its benchmark's main task, and how they were obtained."""

    frame: pd.DataFrame  # indexed by proxy, CORRELATION_COLUMNS
    how: str


def ordered_proxies(proxies: list[str]) -> list[str]:
    """The paper's Table 1 order first, then the others alphabetically."""
    return [p for p in TABLE1_ORDER if p in proxies] + sorted(p for p in proxies if p not in TABLE1_ORDER)


def benchmark_title(label: str) -> str:
    """``FlexiBERT`` for ``flexibert:bert-benchmark``, ``LTS gpt2-wt103`` for ``lts:gpt2-wt103``."""
    space, _, name = label.partition(":")
    return "FlexiBERT" if space == "flexibert" else f"{space.upper()} {name}".strip()


def benchmark_name(run: ProxyRun) -> str:
    """The run's benchmark as titles name it (:func:`benchmark_title`)."""
    return benchmark_title(run.benchmark_label)


def main_task_rows(frame: pd.DataFrame | None, run: ProxyRun) -> pd.DataFrame | None:
    """The rows of a stored table for the run's main task; ``None`` when there are none."""
    if frame is None or "task" not in frame.columns:
        return None
    main = frame[frame["task"].astype(str) == run.main_task]
    return main if len(main) else None


def all_entries(frame: pd.DataFrame, run: ProxyRun) -> pd.DataFrame:
    """The rows of a stored statistics table over all benchmark entries (``split`` = ``all``) of the
    run's first seed, where the table has those columns."""
    if "split" in frame.columns:
        frame = frame[frame["split"].astype(str) == "all"]
    if "seed" in frame.columns:
        frame = frame[frame["seed"].astype(int) == int(run.seeds[0])]
    return frame


def is_paper_benchmark(run: ProxyRun) -> bool:
    """Whether the paper's Table 1 values apply (a FlexiBERT run ranked by the GLUE mean)."""
    return run.config.get("space") == "flexibert" and run.main_task == GLUE


def task_pairs(run: ProxyRun, proxy: str, seed: int) -> pd.DataFrame:
    """One row per benchmark entry scored by ``proxy``: ``arch_hash``, ``value`` and main-task ``score``.

    The same join as :func:`bench.analysis.stats.correlation_table` (entries whose architecture has
    a stored row; NaN values kept).
    """
    assert run.truth is not None
    rows = run.rows[(run.rows["proxy"] == proxy) & (run.rows["seed"].astype(int) == int(seed))]
    per_arch = rows.drop_duplicates("arch_hash").set_index("arch_hash")["value"].astype(float)
    scores = run.truth[(run.truth["task"] == run.main_task) & run.truth["arch_hash"].isin(per_arch.index)]
    return pd.DataFrame({"arch_hash": scores["arch_hash"].to_numpy(), "value": scores["arch_hash"].map(per_arch).to_numpy(dtype=float),
                         "score": scores["score"].to_numpy(dtype=float)})


def _expected_counts(run: ProxyRun, seed: int) -> dict[str, tuple[int, int]]:
    counts = {}
    for proxy in sorted(set(run.rows["proxy"])):
        pairs = task_pairs(run, proxy, seed)
        finite = np.isfinite(pairs["value"]) & np.isfinite(pairs["score"])
        counts[proxy] = (int(finite.sum()), int((~finite).sum()))
    return counts


def _covers(stored: pd.DataFrame | None, expected: dict[str, tuple[int, int]]) -> bool:
    if stored is None or not set(CORRELATION_COLUMNS) <= set(stored.columns):
        return False
    stored = stored.drop_duplicates("proxy").set_index("proxy")
    if set(stored.index) != set(expected):
        return False
    return all((int(stored.loc[p, "n"]), int(stored.loc[p, "n_excluded"])) == counts for p, counts in expected.items())


def main_correlations(run: ProxyRun, n_boot: int, boot_seed: int) -> MainCorrelations | None:
    """τ/ρ against the main task for the run's first seed from the stored table that covers
    its current rows; ``None`` when none does.

    A ``correlations.csv`` that ``bench report`` stored counts only when it was made with
    ``n_boot`` resamples and bootstrap seed ``boot_seed`` (the report's settings).
    """
    seed = run.seeds[0]
    expected = _expected_counts(run, seed)
    if _covers(run.table1, expected):
        return MainCorrelations(run.table1.set_index("proxy")[list(CORRELATION_COLUMNS[1:])], f"read from {schema.TABLE1} (written by `bench table1`)")
    stored = run.correlations
    if stored is None or "task" not in stored.columns:
        return None
    main = all_entries(stored[stored["task"] == run.main_task], run)
    if not _covers(main, expected):
        return None
    name = schema.correlations_file("all")
    resamples, resample_seed = bootstrap_settings(main)
    if written_by_report(main):
        if (resamples, resample_seed) != (n_boot, boot_seed):
            return None
        how = (f"computed by `bench report` from rows.csv and ground_truth.csv with bench.analysis.stats "
               f"({resamples} bootstrap resamples, bootstrap seed {resample_seed}) and stored in {name}")
        return MainCorrelations(main.set_index("proxy")[list(CORRELATION_COLUMNS[1:])], how)
    extra = f", {resamples} bootstrap resamples" if resamples is not None else ""
    return MainCorrelations(main.set_index("proxy")[list(CORRELATION_COLUMNS[1:])], f"read from {name} (written by `bench correlate`{extra})")


def missing_correlations(run: ProxyRun, n_boot: int, boot_seed: int) -> list[Missing]:
    """Table 1 and Fig. 2 of a run whose τ/ρ are not stored for its current rows."""
    label = run.benchmark[2]
    why = (f"τ/ρ against the {label} are not stored for the run's current rows (`bench report` computes and stores them "
           f"in {schema.correlations_file('all')} before building the report).")
    command = [f"bench correlate {run.path} --bootstrap {n_boot} --bootstrap-seed {boot_seed}"]
    return [
        Missing(f"table1-{slug(run.name)}", f"Table 1 — zero-shot proxies on the {benchmark_name(run)} benchmark ({run.name})", why, command),
        Missing(f"fig2-{slug(run.name)}", f"Figure 2 — proxy value against the {label} ({run.name})", why, command),
    ]


def _seconds(value: float) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:,.0f} s" if value >= 10 else f"{value:.2g} s"


def gradient_free(run: ProxyRun, proxy: str) -> tuple[str, bool]:
    """``yes``/``no`` from proxies.json, else the paper's flag; and whether it was stored."""
    flag = run.gradient_free(proxy)
    if flag is not None:
        return ("yes" if flag else "no"), True
    if proxy in TABLE1:
        return ("yes" if TABLE1[proxy][1] else "no") + " (paper)", False
    return "?", False


def stratified_taus(run: ProxyRun) -> dict[str, float]:
    """Proxy -> size-stratified Kendall τ against the main task, as ``bench stratify`` stored it."""
    main = main_task_rows(run.stratified, run)
    if main is None or not {"proxy", "kendall_tau"} <= set(main.columns):
        return {}
    if "split" in main.columns:
        main = main[main["split"].astype(str) == "all"]
    return {str(p): float(t) for p, t in zip(main["proxy"], main["kendall_tau"])}


#: Columns of the top of the ranking, from ``correlations.csv``: the share of the true top 10% a
#: proxy's top 10% holds, and the best true rank among the proxy's top 10%.
TOP_COLUMNS = ("precision_at_10", "best_rank_at_10")


def top_of_ranking(run: ProxyRun, counts: Mapping[str, int]) -> dict[str, tuple[float, float]]:
    """Proxy -> (P@10%, best rank in the top 10%) against the main task, first seed, all entries, as
    ``bench correlate`` stored them; only proxies whose stored ``n`` equals ``counts`` (the same entries as Table 1)."""
    main = main_task_rows(run.correlations, run)
    if main is None or not set(TOP_COLUMNS) <= set(main.columns):
        return {}
    main = all_entries(main, run)
    return {str(r.proxy): (float(r.precision_at_10), float(r.best_rank_at_10)) for r in main.itertuples()
            if str(r.proxy) in counts and int(r.n) == counts[str(r.proxy)]}


def paired_to_params(run: ProxyRun, across: Sequence[AcrossFile], counts: Mapping[str, int]) -> dict[str, str]:
    """Proxy -> ``Δτ [95% CI]`` to #Params from a ``bench across`` table of the run's benchmark whose
    ``n`` of that proxy equals the run's (the same architectures)."""
    label = run.benchmark_label
    out: dict[str, str] = {}
    for stored in across:
        table = stored.table
        if "delta_params_tau" not in table.columns:
            continue
        for row in table[table["benchmark"].astype(str) == label].itertuples():
            if str(row.proxy) in counts and int(row.n) == counts[str(row.proxy)] and str(row.proxy) not in out:
                out[str(row.proxy)] = "—" if pd.isna(row.delta_params_tau) else with_ci(row.delta_params_tau, row.delta_params_tau_lo, row.delta_params_tau_hi)
    return out


def table1(run: ProxyRun, correlations: MainCorrelations, cost: CostFile | None, across: Sequence[AcrossFile] = ()) -> Table:
    """Table 1 with our τ/ρ [95% CI], sorted by τ (best marked), the stratified τ, the paired Δτ to
    #Params (from ``bench across``), time, and (FlexiBERT) the paper's values."""
    frame = correlations.frame
    times = cost.time_1000 if cost else {}
    paper_columns = is_paper_benchmark(run)
    label = run.benchmark[2]
    stratified = stratified_taus(run)
    counts = {p: int(frame.loc[p, "n"]) for p in frame.index}
    deltas = paired_to_params(run, across, counts)
    top = top_of_ranking(run, counts)
    others = other_tasks(run)
    inline = others if len(others) <= INLINE_TASKS else []
    task_taus = other_task_taus(run, inline) if inline else {}
    order = sorted(frame.index, key=lambda p: (-np.nan_to_num(float(frame.loc[p, "kendall_tau"]), nan=-np.inf), str(p)))
    rows = []
    for rank, proxy in enumerate(order):
        r = frame.loc[proxy]
        paper = TABLE1.get(proxy)
        grad_free, _ = gradient_free(run, proxy)
        tau = with_ci(r["kendall_tau"], r["kendall_lo"], r["kendall_hi"]) + (" ★" if rank == 0 else "")
        row = [
            Cell(run.label(proxy), "label"),
            Cell(grad_free),
            Cell(_seconds(times.get(proxy, math.nan)) if cost else "missing", "ours" if cost else "missing"),
            Cell(tau, "ours"),
            Cell(with_ci(r["spearman_rho"], r["spearman_lo"], r["spearman_hi"]), "ours"),
            Cell(signed(stratified[proxy]) if math.isfinite(stratified.get(proxy, math.nan)) else "—", "ours" if proxy in stratified else "missing"),
            Cell(deltas.get(proxy, "—"), "ours" if proxy in deltas else "missing"),
            *_top_cells(top.get(proxy)),
            *(Cell(signed(task_taus[(proxy, task)]) if (proxy, task) in task_taus else "—", "ours" if (proxy, task) in task_taus else "missing")
              for task in inline),
            Cell(f"{int(r['n'])} ({int(r['n_excluded'])})", "ours"),
        ]
        if paper_columns:
            row += [
                Cell(_seconds(paper[0]) if paper else "not in paper", "paper"),
                Cell(number(paper[2]) if paper else "not in paper", "paper"),
                Cell(number(paper[3]) if paper else "not in paper", "paper"),
            ]
        rows.append(row)
    notes = [
        f"τ, ρ: signed Kendall τ-b and Spearman ρ of the proxy value against the {label} of the "
        f"benchmark entries scored, seed {run.seeds[0]}; brackets: percentile-bootstrap 95% CI. n (excluded): entries used (NaN or failed values left out). "
        "Sorted by τ; ★: the highest.",
        f"Our τ/ρ: {correlations.how}.",
        "Stratified τ: the size-weighted mean of τ within the benchmark's size strata (`bench stratify`, stratified-all.csv; — where "
        "the proxy is constant within every stratum); "
        "Δτ vs #Params: the paired bootstrap difference to #Params on the same architectures (`bench across`)"
        + ("." if deltas else "; not stored for these architectures: run `bench across` with this run"
           + (" (and `python scripts/migrate_manifests.py` on it: it predates benchmark.json)." if not run.benchmark[0] else ".")),
    ]
    if paper_columns:
        notes.append("Paper: the values printed in the W-PCA paper's Table 1, measured on the benchmark authors' published models "
                     "and hardware (see docs/flexibert.md for how those models differ).")
    provenance = [run_provenance(run, f"τ/ρ {correlations.how}")]
    if cost:
        notes.append(f"Time (ours): 1,000 evaluations of the proxy alone on {cost.machine}, from {cost.path.name}"
                     + ("" if paper_columns else " (measured on FlexiBERT models)") + ".")
        provenance.append(cost_provenance(cost))
    else:
        notes.append("Time (ours) is missing: run `python scripts/benchmark_proxies.py --out results/benchmarks/proxy_cost.json`.")
    if not run.proxy_info_stored:
        notes.append("This run predates proxies.json: proxy labels are the proxy names and the ∇-free flags are the paper's (marked).")
    notes.append("P@10%: the share of the benchmark's top 10% (by the " + label + ") among the proxy's top 10%; best@10%: the best true "
                 "rank among the proxy's top 10% (1 = it holds the best architecture); their bootstrap CIs are in correlations.csv"
                 + ("." if top else "; not stored for these entries: run `bench correlate " + str(run.path) + " --metrics all`."))
    if inline:
        notes.append("τ " + ", ".join(score_axis(t) for t in inline) + ": Kendall τ against the benchmark's other stored task"
                     + ("s" if len(inline) > 1 else "") + " (`bench correlate --tasks all`; CIs in correlations.csv).")
    header = ["Proxy", "∇-free", "Time (1,000)", "Kendall τ [95% CI]", "Spearman ρ [95% CI]", "stratified τ", "Δτ vs #Params [95% CI]",
              "P@10%", "best@10%", *(f"τ {score_axis(t)}" for t in inline), "n (excl.)"]
    kinds = ["", "", "ours", "ours", "ours", "ours", "ours", "ours", "ours", *(["ours"] * len(inline)), "ours"]
    if paper_columns:
        header += ["paper: Time", "paper: τ", "paper: ρ"]
        kinds += ["paper", "paper", "paper"]
    return Table(
        key=f"table1-{slug(run.name)}",
        title=f"Table 1 — zero-shot proxies on the {benchmark_name(run)} benchmark ({run.name})",
        caption=f"{run.config.get('space', '?')} ({run.config.get('variant', '?')} models), scale {run.config.get('scale', '?')}, "
                f"{_entries(run, int(frame['n'].max()) if len(frame) else 0)}, ranked by the {label}.",
        header=header,
        header_kinds=kinds,
        rows=rows,
        notes=notes,
        provenance=provenance,
    )


#: The size descriptor each proxy is drawn against in Figure 2's lower panels.
SIZE = "params"


def _entries(run: ProxyRun, entries: int) -> str:
    """``500 benchmark entries (491 architectures, some trained more than once)``, or ``200 benchmark entries``."""
    archs = run.n_archs_scored
    return f"{entries} benchmark entries" + (f" ({archs} architectures, some trained more than once)" if 0 < archs < entries else "")


def score_axis(task: str) -> str:
    """A short axis label for a main task: ``GLUE score``, ``−valid ppl`` for ``neg_valid_ppl``."""
    if task == GLUE:
        return "GLUE score"
    return ("−" + task[4:] if task.startswith("neg_") else task).replace("_", " ")


def _top_cells(values: tuple[float, float] | None) -> list[Cell]:
    if values is None:
        return [Cell("—", "missing"), Cell("—", "missing")]
    precision, rank = values
    return [Cell(f"{precision:.2f}" if math.isfinite(precision) else "—", "ours"), Cell(f"{rank:.0f}" if math.isfinite(rank) else "—", "ours")]


def scatter_block(run: ProxyRun, correlations: MainCorrelations) -> FigureBlock:
    """Fig. 2: each proxy against the main task (τ/ρ those of Table 1) and, when the run stores
    #Params, against #Params on the same x axis."""
    seed = run.seeds[0]
    label = run.benchmark[2]
    proxies = ordered_proxies(list(correlations.frame.index))
    size = run.values(seed)[SIZE] if SIZE in set(run.rows["proxy"]) else None
    panels = []
    for proxy in proxies:
        r = correlations.frame.loc[proxy]
        pairs = task_pairs(run, proxy, seed)
        if size is not None:
            pairs = pairs.assign(size=pairs["arch_hash"].map(size).to_numpy(dtype=float))
        panels.append((run.label(proxy), pairs.drop(columns="arch_hash"), float(r["kendall_tau"]), float(r["spearman_rho"])))
    size_label = run.label(SIZE) if size is not None else None
    figure = defer(scatter_figure, panels, ylabel=score_axis(run.main_task), size_label=size_label)
    against = f" and against {size_label}" if size_label else ""
    return FigureBlock(
        key=f"fig2-{slug(run.name)}",
        title=f"Figure 2 — proxy value against the {label}{against} ({run.name})",
        caption=f"One point per benchmark entry (seed {seed}); upper panels: the {label}, τ and ρ as in Table 1"
                + (f"; lower panels: {size_label} (log scale) on the same x axis, with the proxy's Spearman ρ to it — a proxy whose "
                   f"lower panel is a clean curve ranks models as their size does" if size_label else "")
                + ". Log x axis where a proxy's positive values span over two decades.",
        figure=figure,
        provenance=[run_provenance(run, f"values from rows.csv, scores from ground_truth.csv; τ/ρ {correlations.how}")],
    )


def proxy_matrix(run: ProxyRun) -> pd.DataFrame:
    """Spearman ρ between the run's proxies (and the main task) over its architectures.

    Pairwise-complete: a pair uses the architectures where both values are finite. The
    score of an architecture trained twice in the benchmark is the mean of its entries.
    """
    values = run.values()
    values = values[ordered_proxies(list(values.columns))].replace([np.inf, -np.inf], np.nan)
    labels = {p: run.label(p) for p in values.columns}
    if run.truth is not None:
        score = run.truth[run.truth["task"] == run.main_task].groupby("arch_hash")["score"].mean()
        values = values.assign(**{score_axis(run.main_task): values.index.map(score)})
    return values.rename(columns=labels).corr(method="spearman")


def heatmap_block(run: ProxyRun) -> FigureBlock:
    """Correlation heat-map between the run's proxies."""
    matrix = proxy_matrix(run)
    return FigureBlock(
        key=f"heatmap-{slug(run.name)}",
        title=f"Spearman ρ between proxies ({run.name})",
        caption=f"Over the {run.n_archs_scored} architectures of the run (seed {run.seeds[0]}), pairwise-complete; the last row/column is the {run.benchmark[2]}. "
                "Proxies that rank architectures alike are redundant as search fitness.",
        figure=defer(heatmap_figure, matrix),
        provenance=[run_provenance(run, "values from rows.csv")],
    )


#: Up to this many ground-truth tasks besides the main one are columns of Table 1; more get their own table.
INLINE_TASKS = 2


def other_tasks(run: ProxyRun) -> list[str]:
    """The tasks besides the main one that the run's ``correlations.csv`` holds, in stored order."""
    stored = run.correlations
    if stored is None or "task" not in stored.columns:
        return []
    return [t for t in dict.fromkeys(stored["task"].astype(str)) if t != run.main_task]


def other_task_taus(run: ProxyRun, tasks: list[str]) -> dict[tuple[str, str], float]:
    """(proxy, task) -> Kendall τ as ``bench correlate --tasks`` stored it (first seed, all entries)."""
    stored = all_entries(run.correlations, run)
    chosen = stored[stored["task"].astype(str).isin(tasks)]
    return {(str(r.proxy), str(r.task)): float(r.kendall_tau) for r in chosen.itertuples()}


def tasks_table(run: ProxyRun) -> Table | None:
    """Kendall τ [95% CI] of each proxy per ground-truth task, when ``bench correlate --tasks all`` stored it."""
    if len(other_tasks(run)) <= INLINE_TASKS:  # none stored, or shown as columns of Table 1
        return None
    stored = run.correlations
    tasks = list(dict.fromkeys(stored["task"]))
    keyed = stored.set_index(["proxy", "task"])
    rows = []
    for proxy in ordered_proxies(list(dict.fromkeys(stored["proxy"]))):
        cells = [Cell(run.label(proxy), "label")]
        for task in tasks:
            if (proxy, task) in keyed.index:
                r = keyed.loc[(proxy, task)]
                cells.append(Cell(with_ci(r["kendall_tau"], r["kendall_lo"], r["kendall_hi"]), "ours"))
            else:
                cells.append(Cell("—"))
        rows.append(cells)
    return Table(
        key=f"tasks-{slug(run.name)}",
        title=f"Kendall τ per task ({run.name})",
        caption="As stored by `bench correlate --tasks all`" + ("; the paper reports the GLUE mean only." if is_paper_benchmark(run) else "."),
        header=["Proxy", *tasks],
        header_kinds=["", *(["ours"] * len(tasks))],
        rows=rows,
        notes=["τ against each of the benchmark's ground-truth tasks (its stored score; perplexities negated, so higher is better); brackets: bootstrap 95% CI. "
               "Read as stored: check its n in correlations.csv against Table 1's when the run has grown since."],
        provenance=[run_provenance(run, "read from correlations.csv")],
    )


_OPERATIONS = {"SA": "self-attention", "LT": "linear transform", "DSC": "span-based dynamic convolution"}
_PARAMETERS = {"SDP": "scaled dot-product", "WMA": "multiplicative", "DFT": "discrete Fourier", "DCT": "discrete cosine"}


def _set_text(values: set) -> str:
    if not values:
        return "—"
    return "{" + ", ".join(str(v) for v in sorted(values, key=lambda v: (str(type(v)), v))) + "}"


def table6(runs: list[ProxyRun]) -> Table | Missing:
    """Table 6 (the FlexiBERT space): the paper's values beside those of the stored architectures."""
    flexibert = [r for r in runs if r.config.get("space") == "flexibert" and "arch" in r.rows.columns]
    archs: dict[str, dict] = {}
    for run in flexibert:
        for text in run.rows.drop_duplicates("arch_hash")["arch"]:
            try:
                archs.setdefault(text, json.loads(text))
            except (json.JSONDecodeError, TypeError):
                continue
    if not archs:
        return Missing("table6", "Table 6 — the FlexiBERT search space", "No stored FlexiBERT architectures.",
                       ["bench run --proxies all --space flexibert --archs benchmark --scale cpu --jobs 2 --out results/table1-trained-cpu"])
    seen: dict[str, set] = {k: set() for k in ("hidden", "layers", "op", "heads", "ffn", "stacks", "SA", "LT", "DSC")}
    for arch in archs.values():
        layers = arch.get("encoder_layers", [])
        seen["hidden"].add(arch.get("hidden_size"))
        seen["layers"].add(len(layers))
        for layer in layers:
            op = layer.get("operation_type")
            seen["op"].add(_OPERATIONS.get(op, op))
            seen["heads"].add(layer.get("num_operation_heads"))
            seen["ffn"].add(layer.get("feed_forward_dimension"))
            seen["stacks"].add(layer.get("num_feed_forward"))
            if op in ("SA", "LT", "DSC"):
                param = layer.get("operation_parameter")
                seen[op].add(_PARAMETERS.get(param, param))
    observed = [seen["hidden"], seen["layers"], seen["op"], seen["heads"], seen["ffn"], seen["stacks"], seen["SA"], seen["LT"], seen["DSC"]]
    rows = [[Cell(name, "label"), Cell(paper, "paper"), Cell(_set_text(values), "ours")] for (name, paper), values in zip(TABLE6, observed)]
    rows.append([Cell("Architectures", "label"), Cell(f"{TABLE6_SIZE:,}", "paper"), Cell(f"{len(archs)} distinct benchmark architectures stored", "ours")])
    return Table(
        key="table6",
        title="Table 6 — the FlexiBERT search space",
        caption="The paper's hyperparameter values beside the values that occur in the architectures stored in the runs of this report.",
        header=["Hyperparameter", "paper", "in the stored architectures"],
        header_kinds=["", "paper", "ours"],
        rows=rows,
        notes=["The size of the whole space is not a stored result; `bench list spaces` prints it (tested equal to the paper's 10,621,440)."],
        provenance=[run_provenance(r, "architectures from rows.csv") for r in flexibert],
    )


def slug(text: str) -> str:
    """An HTML id fragment: ``table1-trained-cpu`` from ``table1-trained-cpu``, ``a-b`` from ``a/b``."""
    return "".join(c if c.isalnum() else "-" for c in text).strip("-").lower()
