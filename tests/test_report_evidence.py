"""The report's evidence blocks: noise ceilings, shares of them, few-shot predictors, across benchmarks.

Built from an LTS regression run copied to a temporary folder, with the real `bench stratify`,
`bench ceiling`, `bench predictor` and `bench across` commands; the tests check that the report
shows an LTS run ranked by its own main task and that every number shown is the stored one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.cli.main import main
from reports.build import build_report
from reports.load import discover
from reports.model import FigureBlock, Missing, Table
from reports.tables import number, signed

REPO = Path(__file__).resolve().parent.parent
RUN = "regression-smoke-lts-gpt2-wt103"


@pytest.fixture(scope="module")
def lts_results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("evidence")
    shutil.copytree(REPO / "results" / RUN, root / RUN)
    return root


def _blocks(root: Path, *extra: Path) -> dict[str, object]:
    report = build_report(discover([str(root / RUN), *map(str, extra)]), n_boot=20, progress=False)
    return {block.key: block for block in report.blocks()}


def lts_label(run: Path, proxy: str) -> str:
    """The label the run stored for a proxy (proxies.json)."""
    import json

    return next(item["label"] for item in json.loads((run / "proxies.json").read_text()) if item["proxy"] == proxy)


def _text(table: Table, row: int, column: str) -> str:
    return table.rows[row][table.header.index(column)].text


def test_an_lts_run_is_ranked_by_its_own_task_and_names_the_commands_it_lacks(lts_results):
    blocks = _blocks(lts_results)
    table1 = blocks[f"table1-{RUN}"]
    assert isinstance(table1, Table) and "LTS gpt2-wt103 benchmark" in table1.title
    assert not any(h.startswith("paper") for h in table1.header)
    assert "validation perplexity" in table1.caption
    stored = pd.read_csv(lts_results / RUN / "correlations.csv")
    main_rows = stored[(stored["task"] == "neg_valid_ppl")].set_index("proxy")
    labels = {row[0].text: row for row in table1.rows}
    assert len(labels) == len(main_rows)
    test_rows = stored[(stored["task"] == "neg_test_ppl")].set_index("proxy")  # one other task: a column of Table 1, no separate table
    column = table1.header.index("τ −test ppl")
    for proxy, row in test_rows.iterrows():
        assert labels[lts_label(lts_results / RUN, proxy)][column].text == signed(row["kendall_tau"])
    assert f"tasks-{RUN}" not in blocks
    ceiling, predictor, across = blocks[f"ceiling-{RUN}"], blocks[f"predictor-{RUN}"], blocks["summary-findings"]
    assert isinstance(ceiling, Missing) and ceiling.commands == [
        f"bench correlate {lts_results / RUN} --tasks all --metrics all && bench stratify {lts_results / RUN} && bench ceiling {lts_results / RUN}"]
    assert isinstance(predictor, Missing) and predictor.commands == [f"bench predictor {lts_results / RUN}"]
    assert isinstance(across, Missing) and "bench across" in across.commands[0]  # the summary needs it


def test_ceilings_shares_predictors_and_across_show_the_stored_numbers(tmp_path):
    lts_results = tmp_path / "results"
    shutil.copytree(REPO / "results" / RUN, lts_results / RUN)  # its own copy: the analyses below write into it
    run = lts_results / RUN
    assert main(["stratify", str(run), "--bootstrap", "0"]) == 0
    assert main(["ceiling", str(run), "--n-sim", "30"]) == 0
    assert main(["predictor", str(run), "--k", "3,5", "--repeats", "2", "--trees", "5"]) == 0
    across_file = tmp_path / "across.csv"
    assert main(["across", str(run), "--bootstrap", "20", "--out", str(across_file)]) == 0
    blocks = _blocks(lts_results, across_file)

    ceilings = pd.read_csv(run / "ceilings.csv")
    ceilings = ceilings[(ceilings["task"] == "neg_valid_ppl") & (ceilings["stratum"] == "all")].sort_values("sigma")
    table = blocks[f"ceiling-{RUN}"]
    assert isinstance(table, Table)
    overall = [i for i, row in enumerate(table.rows) if row[1].text == "all"]
    assert len(overall) == len(ceilings) == 5  # the grid of assumed σ, smallest first
    for i, stored in zip(overall, ceilings.itertuples()):
        assert _text(table, i, "τ ceiling [perfect proxy's 95% range]").startswith(number(stored.kendall_sim) + " [")
        assert table.rows[i][0].text.endswith(f"({stored.sigma_source})")
    assert any("no architecture twice" in note for note in table.notes)

    shares = pd.read_csv(run / "ceiling-shares.csv")
    shares = shares[shares["task"] == "neg_valid_ppl"]
    table = blocks[f"ceiling-shares-{RUN}"]
    assert isinstance(table, Table) and len(table.rows) == shares["proxy"].nunique()
    first = shares[shares["sigma_source"] == ceilings["sigma_source"].iloc[0]].sort_values("kendall_tau", ascending=False)
    assert [r[1].text for r in table.rows] == [signed(v) for v in first["kendall_tau"]]
    top = first.iloc[0]
    assert _text(table, 0, "σ = 0.05 SD") == number(top["kendall_share"], 2)  # the first column of that name: under "share of the ceiling"
    assert table.groups[1] == ("share of the ceiling", (len(table.header) - 3) // 2) and sum(span for _, span in table.groups) == len(table.header)

    summary = pd.read_csv(run / "predictor.csv")
    figure = blocks[f"predictor-{RUN}"]
    assert isinstance(figure, FigureBlock)
    lines = figure.drawn().axes[0].get_lines()
    assert len(lines) == 3 + 2  # three feature sets, the best proxy and the best size descriptor
    encoding = summary[summary["method"] == "encoding"].sort_values("k")
    assert list(lines[0].get_ydata()) == pytest.approx(list(encoding["kendall_tau"]))
    assert sum(note.startswith(("architecture encoding:", "proxy values:", "encoding + proxy values:")) for note in figure.notes) == 3

    stored = pd.read_csv(across_file)
    table = blocks["across-benchmarks"]
    assert isinstance(table, Table) and len(table.rows) == len(stored)
    keyed = stored.set_index("proxy")
    column = "LTS gpt2-wt103"  # the header names the benchmark as titles do
    labels = {json_label: name for name, json_label in ((p, lts_label(run, p)) for p in keyed.index)}
    for row in table.rows:
        proxy = labels[row[0].text]
        if np.isnan(keyed.loc[proxy, "kendall_tau"]):  # no finite value on this benchmark (LPZero on the decoders): no rank either
            assert not any(ch.isdigit() for ch in row[table.header.index(column)].text)
            continue
        assert row[table.header.index(column)].text.startswith(f"{signed(keyed.loc[proxy, 'kendall_tau'], 2)} ({int(keyed.loc[proxy, 'rank'])})")

    summary = blocks["summary-findings"]
    assert isinstance(summary, Table) and blocks["summary-findings"] is next(iter(blocks.values()))  # the report opens with it
    lines = {row[0].text: row[1].text for row in summary.rows}
    proxies = stored[~stored["size_descriptor"]]
    best = proxies.loc[proxies["kendall_tau"].idxmax()]
    line = lines["Best proxy on LTS gpt2-wt103"]
    assert f"τ {signed(best['kendall_tau'])} (rank {int(best['rank'])} of {int(stored['rank'].notna().sum())})" in line
    assert f"Δτ {signed(best['delta_params_tau'])} [{signed(best['delta_params_tau_lo'])}, {signed(best['delta_params_tau_hi'])}]" in line
    assert f"stratified τ {signed(best['stratified_tau'])}" in line
    assert f"falls from {number(ceilings['kendall_sim'].iloc[0])} to {number(ceilings['kendall_sim'].iloc[-1])}" in lines["Noise ceiling on LTS gpt2-wt103"]
    assert "k = 3, 5" in lines["Few-shot predictor on LTS gpt2-wt103"]
    ranked = pd.read_csv(tmp_path / "across-summary.csv")
    assert summary.rows[0][0].text == "The answer" and f"mean rank over {int(ranked['benchmarks'].max())} benchmarks" in summary.rows[1][0].text
    wins = proxies[proxies["delta_tau_lo"] > 0]  # the answer names the proxies that beat the best size descriptor, or says none does
    if wins.empty:
        assert lines["The answer"].startswith("No proxy ranks models better than the best size descriptor on any benchmark (1 stored)")
    else:
        assert all(f"Δτ {signed(r.delta_tau)} [{signed(r.delta_tau_lo)}, {signed(r.delta_tau_hi)}]" in lines["The answer"] for r in wins.itertuples())


def test_the_nlu_line_compares_students_of_one_space_over_seeds():
    from reports.load import discover as find
    from reports.section_summary import _nlu_line

    found = find([str(REPO / "results" / "kd-seeds")])
    stored = max(found.heldout_seeds, key=lambda f: f.table["seed"].nunique())
    small = stored.table[stored.table["space"] == "nlu-small"].groupby("model")["heldout_kd_loss"].mean()
    line = _nlu_line(found.heldout_seeds, {})[1].text
    assert f"{small.idxmin()} ({number(small.min())}, mean over {stored.table['seed'].nunique()} seeds)" in line
    params = stored.paired.set_index("model").loc["nlu-small-params"]
    assert f"by {params['mean_diff']:+.3f} ({int(params['wins_of_against'])} of {int(params['seeds'])} seeds" in line


def test_companion_runs_of_one_benchmark_make_one_table_1_sorted_with_stratified_tau_and_delta_to_params():
    from reports.build import benchmark_runs
    from reports.section_benchmark import main_correlations, table1

    names = ["table1-trained-cpu", "baselines-trained-cpu"]
    found = discover([str(REPO / "results" / n) for n in names] + [str(REPO / "results" / "across-benchmarks.csv")])
    runs = benchmark_runs(found)
    assert len(runs) == 1 and [p.name for p in runs[0].parts] == names
    joined = runs[0]
    rows = pd.concat([pd.read_csv(REPO / "results" / n / "rows.csv") for n in names])
    assert set(joined.proxies) == set(rows["proxy"]) and len(joined.rows) == len(rows)
    correlations = main_correlations(joined, 1000, 0)
    assert correlations is not None and set(correlations.frame.index) == set(rows["proxy"])
    table = table1(joined, correlations, None, found.across)
    taus = [float(r[3].text.split(" ")[0]) for r in table.rows]
    assert taus == sorted(taus, reverse=True) and table.rows[0][3].text.endswith("★")
    by_label = {r[0].text: r for r in table.rows}
    stratified = pd.concat([pd.read_csv(REPO / "results" / n / "stratified-all.csv") for n in names]).set_index("proxy")
    across = pd.read_csv(REPO / "results" / "across-benchmarks.csv").set_index(["benchmark", "proxy"])
    w_pca = by_label[joined.label("w-pca")]
    assert w_pca[table.header.index("stratified τ")].text == signed(stratified.loc["w-pca", "kendall_tau"])
    delta = across.loc[("flexibert:bert-benchmark", "w-pca")]
    assert w_pca[table.header.index("Δτ vs #Params [95% CI]")].text.startswith(signed(delta["delta_params_tau"]) + " [")
    assert table.provenance[0].source == " + ".join(str(REPO / "results" / n) for n in names)


def test_a_joined_run_reads_what_an_analysis_of_all_its_parts_stored_in_the_first(tmp_path):
    """`bench stratify A B` / `bench ceiling A B` write into A only: the joined run still shows B's proxies."""
    from reports.build import benchmark_runs
    from reports.section_benchmark import stratified_taus

    names = ["table1-trained-cpu", "baselines-trained-cpu"]
    for name in names:
        shutil.copytree(REPO / "results" / name, tmp_path / name)
    for file in ("stratified-all.csv", "ceiling-shares.csv", "ceilings.csv", "predictor.csv", "predictor-splits.csv"):
        (tmp_path / names[1] / file).unlink(missing_ok=True)
    joined = benchmark_runs(discover([str(tmp_path / n) for n in names]))[0]
    stored = pd.read_csv(tmp_path / names[0] / "stratified-all.csv").set_index("proxy")
    assert stratified_taus(joined)["flops"] == pytest.approx(stored.loc["flops", "kendall_tau"])
    assert {"flops", "w-pca"} <= set(joined.ceiling_shares["proxy"])
    assert joined.predictor is not None


def test_evidence_made_from_fewer_entries_than_the_run_now_has_is_flagged_not_shown(tmp_path):
    root = tmp_path / "results"
    shutil.copytree(REPO / "results" / RUN, root / RUN)
    run = root / RUN
    assert main(["ceiling", str(run), "--n-sim", "10"]) == 0
    assert main(["predictor", str(run), "--k", "3", "--repeats", "2", "--trees", "5"]) == 0
    assert not any(k.startswith("stale-") for k in _blocks(root))
    rows = pd.read_csv(run / "rows.csv", dtype=str, keep_default_na=False)  # as stored: NaN values stay "nan"
    dropped = rows["arch_hash"].iloc[0]
    rows[rows["arch_hash"] != dropped].to_csv(run / "rows.csv", index=False)  # as if the analyses were made with one more architecture
    blocks = _blocks(root)
    for name in ("ceilings", "predictor"):
        stale = blocks[f"stale-{name}-{RUN}"]
        assert isinstance(stale, Missing) and "the run now has 9" in stale.what
    assert f"ceiling-{RUN}" not in blocks and f"predictor-{RUN}" not in blocks


def test_a_long_answer_column_is_wrapped_in_the_pdf_not_shrunk():
    from reports.model import Cell
    from reports.pdf import MARGIN, PAGE, WRAPPED_SIZE, _cell_lines, _layout, _text_width

    answer = "; ".join(f"finding {i}: τ +0.{i:03d} [+0.1, +0.2]" for i in range(40))
    table = Table("t", "t", "c", ["Question", "Answer"], [[Cell("Best proxy", "label"), Cell(answer, "ours")]])
    size, widths, wrapped = _layout(table)
    assert (size, wrapped) == (WRAPPED_SIZE, 1) and widths.sum() == pytest.approx(PAGE[0] - 2 * MARGIN)
    lines = _cell_lines(answer, widths[1], size)
    assert len(lines) > 3 and " ".join(lines) == answer
    assert max(_text_width(line, size) for line in lines) <= widths[1]
    narrow = Table("n", "n", "c", ["a", "b"], [[Cell("x"), Cell("y")]])
    assert _layout(narrow)[2] is None


def test_assumed_noise_the_data_rule_out_is_left_out_of_the_shares_table_and_named(tmp_path):
    name = "lts-gpt2-lm1b-cpu"
    shutil.copytree(REPO / "results" / name, tmp_path / name)
    report = build_report(discover([str(tmp_path / name)]), n_boot=20, progress=False)
    table = next(b for b in report.blocks() if b.key == f"ceiling-shares-{name}")
    shares = pd.read_csv(tmp_path / name / "ceiling-shares.csv")
    shares = shares[shares["task"] == "neg_valid_ppl"]
    top = shares.groupby("sigma_source")["kendall_share"].max()
    kept, dropped = [s for s in top.index if top[s] <= 1], [s for s in top.index if top[s] > 1]
    assert kept and dropped  # on this benchmark the best proxies exceed the ceiling of the larger assumed σ
    assert table.groups[1] == ("share of the ceiling", len(kept))
    assert table.header[2:2 + len(kept)] == [s.replace("assumed ", "σ = ") for s in sorted(kept, key=lambda s: float(s.split()[1]))]
    note = next(n for n in table.notes if n.startswith("Left out, ruled out by the data"))
    assert all(s.removeprefix("assumed ") in note for s in dropped)
