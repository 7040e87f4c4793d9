"""Assemble a :class:`reports.model.Report` from discovered results.

Sections, in the paper's order:

0. **Summary** — one line per finding with its number (proxies ranked across benchmarks, the
   best proxy of each with its paired Δτ to #Params and to the best size descriptor, its
   stratified τ, the noise ceiling, the few-shot predictor, the NLU-space verdict), then the
   cross-benchmark table (``bench across``).
1. **Ranking on the benchmarks** — per benchmark run (ground truth, one seed, not an
   ablation run; FlexiBERT and LTS): Table 1, τ per task when stored, Fig. 2 (each proxy
   against the main task and against #Params), the proxy heat-map; then Table 6.
2. **Evidence** — per benchmark run: the noise ceiling, each proxy beside it, the few-shot
   predictor curves.
3. **Seed stability** — per multi-seed run: the stability table and Fig. 4.
4. **Cost** — per ``proxy_cost.json``: the cost table and the log-scale bar chart.
5. **Ablations** — stored ablation tables, else the one ``bench report`` stored from the ablation runs.
6. **NLU search and accuracy** — Tables 2-5, 7, 8; searches, traces, Fig. 5.
7. **Appendix** — the blocks of smoke-scale benchmark runs, when the results also hold larger runs.

Every number is read from stored files (``bench report`` first stores the statistics a
result directory lacks; see :mod:`bench.cli.report`). Whatever is absent is a
:class:`reports.model.Missing` block naming the command that produces it. Benchmark runs
are ordered by scale (paper, cpu, smoke), then by size.
"""

from __future__ import annotations

import logging
from typing import Any

from tqdm import tqdm

from reports.load import ProxyRun, Results, join_companions
from reports.model import Block, Missing, Report, Section
from reports.section_analysis import (ablation_from_file, ablation_from_report, cost_blocks, missing_ablation, missing_ablation_table, missing_cost,
                                      missing_stability, stability_blocks)
from reports.section_benchmark import heatmap_block, main_correlations, missing_correlations, scatter_block, table1, table6, tasks_table
from reports.section_evidence import evidence_blocks
from reports.section_summary import summary_blocks
from reports.section_heldout_seeds import heldout_seeds_blocks
from reports.section_nlu import nlu_blocks

log = logging.getLogger(__name__)

_SCALE_ORDER = {"paper": 0, "cpu": 1, "smoke": 2}
TABLE1_COMMAND = "bench run --proxies all --space flexibert --archs benchmark --scale cpu --jobs 2 --out results/table1-trained-cpu && bench table1 results/table1-trained-cpu"


def _run_order(run: ProxyRun) -> tuple[Any, ...]:
    return (_SCALE_ORDER.get(str(run.config.get("scale")), 3), -run.n_archs_scored, run.name)


def benchmark_runs(results: Results) -> list[ProxyRun]:
    """Runs that get a Table 1: ground truth, one seed, not an ablation run, companion runs of one
    benchmark joined (:func:`reports.load.join_companions`); by scale, then size."""
    runs = [r for r in results.runs if r.truth is not None and not r.is_stability and not r.is_ablation]
    return sorted(join_companions(sorted(runs, key=_run_order)), key=_run_order)


def stability_runs(results: Results) -> list[ProxyRun]:
    """Runs that get the stability blocks: two or more seeds; by scale, then size."""
    return sorted((r for r in results.runs if r.is_stability), key=_run_order)


def ablation_runs(results: Results) -> list[ProxyRun]:
    """Ablation runs with ground truth (the columns of an ablation table)."""
    return [r for r in results.runs if r.is_ablation and r.truth is not None]


def build_report(results: Results, n_boot: int = 1000, boot_seed: int = 0, progress: bool = True) -> Report:
    """Every table and figure the stored results allow, and Missing blocks for the rest.

    ``n_boot`` and ``boot_seed`` are the bootstrap settings of the τ/ρ that ``bench report``
    stores: a ``correlations.csv`` it stored with other settings is not used.
    """
    cost = results.costs[0] if results.costs else None
    steps: list[tuple[str, Any]] = []
    ranking: list[Block] = []
    main_runs = benchmark_runs(results)

    appendix: list[Block] = []

    def add_run(run: ProxyRun, blocks: list[Block]) -> None:
        correlations = main_correlations(run, n_boot, boot_seed)
        if correlations is None:
            blocks.extend(missing_correlations(run, n_boot, boot_seed))
        else:
            blocks.append(table1(run, correlations, cost, results.across))
        by_task = tasks_table(run)
        if by_task is not None:
            blocks.append(by_task)
        if correlations is not None:
            blocks.append(scatter_block(run, correlations))
        proxies = len(correlations.frame) if correlations is not None else run.rows["proxy"].nunique()
        if proxies >= 2:
            blocks.append(heatmap_block(run))

    evidence: list[Block] = []
    seen: set[str] = set()
    for run in main_runs:
        smoke = run.config.get("scale") == "smoke" and any(r.config.get("scale") != "smoke" for r in main_runs)
        ranked, weighed = (appendix, appendix) if smoke else (ranking, evidence)
        steps.append((f"Table 1 {run.name}", lambda run=run, blocks=ranked: add_run(run, blocks)))
        benchmark = run.benchmark_label
        steps.append((f"evidence {run.name}", lambda run=run, first=benchmark not in seen, blocks=weighed: blocks.extend(evidence_blocks(run, first))))
        seen.add(benchmark)
    summary: list[Block] = []
    steps.append(("summary", lambda: summary.extend(summary_blocks(main_runs, results.across, results.heldout_seeds))))
    stability: list[Block] = []
    for run in stability_runs(results):
        steps.append((f"stability {run.name}", lambda run=run: stability.extend(stability_blocks(run))))
    costs: list[Block] = []
    for cost_file in results.costs:
        steps.append((f"cost {cost_file.path.name}", lambda c=cost_file: costs.extend(cost_blocks(c, results.runs))))
    ablations: list[Block] = []
    written = [a for a in results.ablations if not a.by_report]
    for ablation in written:
        steps.append((f"ablation {ablation.path.name}", lambda a=ablation: ablations.extend(ablation_from_file(a, results.runs))))
    from_runs = [a for a in results.ablations if a.by_report]
    if not written and from_runs:
        steps.append(("ablation runs", lambda: ablations.extend(ablation_from_report(from_runs[0], results.runs))))
    elif not written and ablation_runs(results) and main_runs:
        ablations.append(missing_ablation_table(ablation_runs(results)))
    nlu: list[Block] = []
    steps.append(("NLU tables", lambda: nlu.extend(nlu_blocks(results.searches, results.evaluations))))
    steps.append(("held-out loss over seeds", lambda: nlu.extend(heldout_seeds_blocks(results.heldout_seeds))))

    for name, step in tqdm(steps, desc="report", unit="part", disable=not progress or None):
        log.debug("building %s", name)
        step()

    if not main_runs:
        ranking.append(Missing("table1", "Table 1 — zero-shot proxies on the FlexiBERT benchmark", "No stored benchmark run with ground truth.", [TABLE1_COMMAND]))
        ranking.append(Missing("fig2", "Figure 2 — proxy value against GLUE score", "No stored benchmark run with ground truth.", [TABLE1_COMMAND]))
    ranking.append(table6(results.runs))
    if not stability:
        stability.append(missing_stability())
    if not costs:
        costs.append(missing_cost())
    if not ablations:
        ablations.append(missing_ablation())

    sections = [
        Section("summary", "Summary: which proxy can be trusted, and what does it know beyond model size?",
                "Each line is read from the stored results shown in full further down; the table ranks every proxy on every benchmark.", summary),
        Section("ranking", "Ranking correlation on the benchmarks (Table 1, Figure 2, Table 6)",
                "How well each proxy, computed on untrained models, ranks trained benchmark architectures: the 500 FlexiBERT encoders by their "
                "GLUE score, the LTS decoders by their validation perplexity.", ranking),
        Section("evidence", "How good could a proxy be, and is it worth it? (noise ceilings, few-shot predictors)",
                "Each proxy beside the ceiling that training noise puts on any proxy, and against a predictor trained on a few architectures.", evidence),
        Section("stability", "Seed stability (Figure 4)", "How much each proxy's ranking of fixed architectures changes with the initialisation seed.", stability),
        Section("cost", "Proxy cost", "Time per evaluation, measured with scripts/benchmark_proxies.py.", costs),
        Section("ablation", "Ablations", "How Table 1 moves when one setting of the proxy computation changes.", ablations),
        Section("nlu", "NLU search and accuracy (Tables 2-5, 7, 8, Figure 5)",
                "Architectures each proxy picks in the NLU search space, distilled and evaluated on GLUE and SQuAD.", nlu),
    ]
    if appendix:
        sections.append(Section("appendix", "Appendix: smoke-scale runs",
                                "Runs at the smoke scale (a few architectures, tiny batches): regression references and tests of the harness, not results.", appendix))
    inputs = [(r.name, _describe(r)) for r in results.runs]
    inputs += [(str(c.path), "proxy cost measurements") for c in results.costs]
    inputs += [(str(a.path), "ablation table" + (" (stored by `bench report` from the ablation runs)" if a.by_report else "")) for a in results.ablations]
    inputs += [(s.name, f"search {s.key}") for s in results.searches]
    inputs += [(e.name, f"evaluation of {', '.join(e.models())}") for e in results.evaluations]
    inputs += [(str(h.path), f"held-out distillation loss, {len(h.table)} runs") for h in results.heldout_seeds]
    return Report(
        title="proxybench report: W-PCA reproduction from stored results",
        inputs=inputs,
        skipped=list(results.skipped),
        sections=sections,
        generator={"roots": [str(r) for r in results.roots], "bootstrap": n_boot, "bootstrap_seed": boot_seed},
    )


def _describe(run: ProxyRun) -> str:
    kind = "ablation run" if run.is_ablation else "multi-seed run" if run.is_stability else "benchmark run" if run.truth is not None else "run without ground truth"
    state = "complete" if run.complete else "incomplete"
    return f"{kind}, {run.config.get('space', '?')} {run.config.get('scale', '?')} scale, {run.n_archs_scored} architectures, {len(run.proxies)} proxies, {len(run.seeds)} seed(s), {state}"
