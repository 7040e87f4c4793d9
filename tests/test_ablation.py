"""`bench ablation`: τ/ρ per proxy and run on the shared architectures, run labels, cost columns."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats

from bench.analysis.ablation import ablation_table
from bench.cli.main import main

TINY = ["--space", "flexibert", "--archs", "benchmark", "--batch-size", "2", "--seq-len", "8", "--no-progress"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ablation")
    assert main(["run", "--proxies", "params,v-pca", "--limit", "6", *TINY, "--out", str(root / "reference")]) == 0
    assert main(["run", "--proxies", "v-pca", "--limit", "6", *TINY, "--proxy-option", "v-pca.eta=0.9", "--out", str(root / "eta")]) == 0
    return root


def test_values_labels_and_costs(runs):
    table = ablation_table([runs / "reference", runs / "eta"])
    assert list(dict.fromkeys(table["setting"])) == ["reference", "eta=0.9"]
    eta_rows = pd.read_csv(runs / "eta" / "rows.csv", dtype={"arch_hash": str})
    common = set(eta_rows["arch_hash"])
    truth = pd.read_csv(runs / "reference" / "ground_truth.csv", dtype={"arch_hash": str})
    truth = truth[truth["task"] == "glue"].set_index("arch_hash")["score"]
    for run, setting in ((runs / "reference", "reference"), (runs / "eta", "eta=0.9")):
        rows = pd.read_csv(run / "rows.csv", dtype={"arch_hash": str})
        rows = rows[rows["arch_hash"].isin(common) & (rows["proxy"] == "v-pca")].set_index("arch_hash")
        row = table[(table["setting"] == setting) & (table["proxy"] == "v-pca")].iloc[0]
        assert row["n"] == len(common) == 6
        assert row["kendall_tau"] == pytest.approx(stats.kendalltau(rows["value"], truth[rows.index]).statistic, nan_ok=True)
        assert row["spearman_rho"] == pytest.approx(stats.spearmanr(rows["value"], truth[rows.index]).statistic, nan_ok=True)
        assert row["median_seconds"] == pytest.approx(rows["seconds"].median())
    assert set(table[table["setting"] == "eta=0.9"]["proxy"]) == {"v-pca"}
