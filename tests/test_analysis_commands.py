"""Seed stability, Table 1, the regression check, and the dask backend."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.cli.main import main
from bench.analysis.stability import kendall_w, stability_table
from bench.analysis.verify import compare, verify
from proxies.registry import REGISTRY

SMALL = ["--batch-size", "2", "--seq-len", "8", "--no-progress"]


def test_kendall_w_extremes_and_formula():
    identical = np.tile(np.arange(1, 6), (4, 1)).astype(float)
    assert kendall_w(identical) == pytest.approx(1.0)
    reversed_pair = np.array([[1, 2, 3, 4], [4, 3, 2, 1]], dtype=float)
    assert kendall_w(reversed_pair) == pytest.approx(0.0)
    rng = np.random.default_rng(0)
    ranks = np.array([rng.permutation(6) + 1 for _ in range(3)], dtype=float)
    # W relates to the mean pairwise Spearman rho: rho_bar = (m W - 1) / (m - 1)
    rhos = [stats.spearmanr(a, b).statistic for i, a in enumerate(ranks) for b in ranks[i + 1:]]
    assert np.mean(rhos) == pytest.approx((3 * kendall_w(ranks) - 1) / 2)
    tied = np.array([[1.5, 1.5, 3.0], [1.5, 1.5, 3.0]])
    assert kendall_w(tied) == pytest.approx(1.0)  # identical rankings with a tie


def test_stability_table_on_synthetic_rows():
    rows = []
    for seed in range(3):
        for arch in range(4):
            rows.append({"proxy": "stable", "seed": seed, "arch_hash": f"a{arch}", "value": float(arch)})
            rows.append({"proxy": "noisy", "seed": seed, "arch_hash": f"a{arch}", "value": float((arch * (seed + 1)) % 4)})
    table = stability_table(pd.DataFrame(rows)).set_index("proxy")
    assert table.loc["stable", "kendall_w"] == pytest.approx(1.0)
    assert table.loc["stable", "rank_cv"] == pytest.approx(0.0)
    assert table.loc["noisy", "kendall_w"] < 1.0 and table.loc["noisy", "rank_cv"] > 0


def test_deciles_selection_and_stability_command(tmp_path, capsys):
    out = tmp_path / "seeds"
    assert main(["run", "--proxies", "params,v-pca", "--archs", "deciles", "--seed", "0-2", *SMALL, "--out", str(out)]) == 0
    rows = pd.read_csv(out / "rows.csv")
    assert rows["arch_hash"].nunique() == 10 and sorted(rows["seed"].unique()) == [0, 1, 2]
    truth = pd.read_csv(out / "ground_truth.csv")
    glue = truth[truth["task"] == "glue"]["score"].to_numpy()
    full = pd.read_csv(out / "ground_truth.csv")  # one architecture per decile: scores strictly spread
    assert len(np.unique(glue)) == 10 and full["bench_id"].nunique() == 10
    capsys.readouterr()
    assert main(["stability", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Kendall W" in printed
    table = pd.read_csv(out / "stability.csv").set_index("proxy")
    assert table.loc["params", "kendall_w"] == pytest.approx(1.0)  # parameter counts do not depend on the seed
    assert table.loc["params", "value_cv"] == pytest.approx(0.0)


def test_table1_command(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--proxies", "all", "--limit", "8", *SMALL, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["table1", str(out), "--bootstrap", "20", "--costs", str(tmp_path / "none.json")]) == 0
    printed = capsys.readouterr().out
    assert "W-PCA" in printed and "0.513" in printed and "time column missing" in printed
    table = pd.read_csv(out / "table1.csv")
    assert list(table["proxy"][:8]) == ["synaptic-diversity", "synaptic-saliency", "activation-distance", "jacobian-cosine", "head-importance", "head-confidence", "v-pca", "w-pca"]


def test_compare_flags_only_moves_beyond_tolerance():
    reference = pd.DataFrame({"proxy": ["a", "b"], "task": ["glue", "glue"], "kendall_tau": [0.5, 0.2], "spearman_rho": [0.6, np.nan]})
    current = pd.DataFrame({"proxy": ["a", "b"], "task": ["glue", "glue"], "kendall_tau": [0.52, 0.3], "spearman_rho": [0.6, np.nan]})
    drifts = compare(reference, current, 0.03)
    assert [(d.proxy, d.statistic) for d in drifts] == [("b", "kendall_tau")]


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "run"
    assert main(["run", "--proxies", "params,v-pca,softmax-confidence", "--limit", "12", *SMALL, "--out", str(out)]) == 0
    return out


def test_verify_passes_on_an_unchanged_harness(reference_run):
    drifts, changed = verify(reference_run, 0.0)
    assert drifts == [] and changed == []


def test_verify_fails_when_a_proxy_is_deliberately_changed(reference_run, capsys):
    original = REGISTRY._specs["v-pca"]

    def broken_v_pca(ctx):
        return -original.fn(ctx)  # a sign error

    REGISTRY._specs["v-pca"] = dataclasses.replace(original, fn=broken_v_pca)
    try:
        assert main(["verify", str(reference_run)]) == 1
    finally:
        REGISTRY._specs["v-pca"] = original
    printed = capsys.readouterr().out
    assert "moved by more than 0.03" in printed and "v-pca / glue / kendall_tau" in printed
    assert "params" not in printed.split("moved by more than")[1]


def test_verify_reports_a_changed_proxy_version(reference_run, capsys):
    original = REGISTRY._specs["params"]
    REGISTRY._specs["params"] = dataclasses.replace(original, version="2")
    try:
        assert main(["verify", str(reference_run)]) == 1
    finally:
        REGISTRY._specs["params"] = original
    assert "params: reference version 1, registered version 2" in capsys.readouterr().out


@pytest.mark.slow
def test_dask_backend_on_a_local_cluster_gives_the_same_rows(tmp_path):
    distributed = pytest.importorskip("distributed")
    args = ["run", "--proxies", "params,v-pca,head-importance", "--limit", "4", *SMALL]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert main([*args, "--out", str(tmp_path / "dask"), "--backend", "dask", "--scheduler", cluster.scheduler_address]) == 0
    key = ["arch_hash", "proxy"]
    local = pd.read_csv(tmp_path / "local" / "rows.csv").sort_values(key).reset_index(drop=True)
    remote = pd.read_csv(tmp_path / "dask" / "rows.csv").sort_values(key).reset_index(drop=True)
    assert len(remote) == 12
    pd.testing.assert_series_equal(local["value"], remote["value"])


def test_dask_backend_without_scheduler_is_a_clear_error(tmp_path, capsys):
    assert main(["run", "--backend", "dask", "--limit", "2", *SMALL, "--out", str(tmp_path / "x")]) == 2
    assert "--backend dask needs --scheduler ADDRESS" in capsys.readouterr().err
