"""`bench across`: every proxy on several benchmarks, checked against scipy on the committed
smoke references (FlexiBERT and both LTS families)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.cli.main import main

RESULTS = Path(__file__).resolve().parent.parent / "results"
RUNS = ["regression-smoke", "regression-smoke-lts-gpt2-wt103", "regression-smoke-lts-transxl-wt103"]


def _oriented(run: Path, proxy: str, task: str) -> tuple[np.ndarray, np.ndarray]:
    rows = pd.read_csv(run / "rows.csv", dtype={"arch_hash": str})
    truth = pd.read_csv(run / "ground_truth.csv", dtype={"arch_hash": str})
    truth = truth[truth["task"] == task].set_index("arch_hash")["score"]
    values = rows[rows["proxy"] == proxy].set_index("arch_hash")["value"]
    info = {p["proxy"]: p for p in json.loads((run / "proxies.json").read_text())} if (run / "proxies.json").is_file() else {}
    sign = -1.0 if info.get(proxy, {}).get("higher_is_better") is False else 1.0
    return sign * values.loc[truth.index].to_numpy(float), truth.to_numpy(float)


@pytest.fixture(scope="module")
def across(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = tmp_path_factory.mktemp("across") / "across.csv"
    assert main(["across", *[str(RESULTS / r) for r in RUNS], "--out", str(out), "--bootstrap", "200"]) == 0
    return pd.read_csv(out), pd.read_csv(out.with_name("across-summary.csv"))


def test_every_proxy_on_every_benchmark_with_scipys_tau_and_rho(across):
    table, _ = across
    assert set(table["benchmark"]) == {"flexibert:bert-benchmark", "lts:gpt2-wt103", "lts:transxl-wt103"}
    assert table.groupby("benchmark")["proxy"].nunique().to_dict() == {
        name: pd.read_csv(RESULTS / run / "rows.csv")["proxy"].nunique()
        for name, run in zip(["flexibert:bert-benchmark", "lts:gpt2-wt103", "lts:transxl-wt103"], RUNS)}
    for run, task, name in [(RUNS[0], "glue", "flexibert:bert-benchmark"), (RUNS[1], "neg_valid_ppl", "lts:gpt2-wt103")]:
        for proxy in ("w-pca", "synaptic-saliency", "params"):
            x, y = _oriented(RESULTS / run, proxy, task)
            row = table[(table["benchmark"] == name) & (table["proxy"] == proxy)].iloc[0]
            assert row["kendall_tau"] == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)
            assert row["spearman_rho"] == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)


def test_differences_are_to_the_best_size_descriptor_and_ranks_follow_tau(across):
    table, summary = across
    for name, group in table.groupby("benchmark"):
        sizes = group[group["proxy"].isin(["params", "params-nonemb", "flops", "layers", "hidden-size", "layers-x-hidden"])]
        best = sizes.loc[sizes["kendall_tau"].idxmax(), "proxy"]
        assert set(group["best_size"]) == {best}
        assert set(group.loc[group["size_descriptor"], "proxy"]) == set(sizes["proxy"])
        tau_best = group.set_index("proxy").loc[best, "kendall_tau"]
        others = group[group["proxy"] != best]
        complete = others[others["n"] == group["n"].max()]  # a proxy with failed values is compared on the architectures both scored
        assert len(complete) >= len(others) - 2
        np.testing.assert_allclose(complete["delta_tau"], complete["kendall_tau"] - tau_best, atol=1e-12)
        assert others.loc[others["n"] == 0, "delta_tau"].isna().all()
        scored = others.dropna(subset=["delta_tau"])
        assert (scored["delta_tau_lo"] <= scored["delta_tau"] + 1e-12).all() and (scored["delta_tau"] <= scored["delta_tau_hi"] + 1e-12).all()
        assert group.loc[group["kendall_tau"].idxmax(), "rank"] == 1
        tau_params = group.set_index("proxy").loc["params", "kendall_tau"]
        not_params = group[(group["proxy"] != "params") & (group["n"] == group["n"].max())]
        np.testing.assert_allclose(not_params["delta_params_tau"], not_params["kendall_tau"] - tau_params, atol=1e-12)
    mean_rank = table.groupby("proxy")["rank"].mean()
    np.testing.assert_allclose(summary.set_index("proxy").loc[mean_rank.index, "mean_rank"], mean_rank)
    assert summary.set_index("proxy")["benchmarks"].to_dict() == table.groupby("proxy").size().to_dict()
    assert list(summary["mean_rank"]) == sorted(summary["mean_rank"])
    assert set(summary.loc[summary["size_descriptor"], "proxy"]) == set(table.loc[table["size_descriptor"], "proxy"])


def test_one_benchmark_given_twice_is_refused(tmp_path, capsys):
    run = str(RESULTS / RUNS[1])
    assert main(["across", run, run, "--out", str(tmp_path / "a.csv"), "--bootstrap", "0"]) == 2
    assert "benchmark lts:gpt2-wt103 is given twice; join runs of one benchmark with commas" in capsys.readouterr().err
