"""Noise ceilings: the noise estimate, the Gaussian and simulated ceilings against synthetic data
with a known answer, determinism, and `bench ceiling` on a stored run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.analysis.ceiling import (
    NoiseEstimate,
    assumed_sigmas,
    ceiling,
    ceiling_table,
    gaussian_ceilings,
    reliability,
    replicate_sigma,
    shares,
)
from bench.cli.main import main


def test_replicate_sigma_is_the_pooled_within_group_sd():
    groups = [[1.0, 3.0], [2.0, 2.5, 3.0], [7.0], [float("nan"), 4.0]]
    # within-group sums of squares: 2.0 and 0.5, degrees of freedom 1 and 2; singletons skipped
    estimate = replicate_sigma(groups)
    assert estimate.groups == 2 and estimate.dof == 3 and estimate.source == "replicates"
    assert estimate.sigma == pytest.approx(math.sqrt(2.5 / 3))


def test_replicate_sigma_recovers_the_noise_of_synthetic_pairs():
    rng = np.random.default_rng(1)
    truth = rng.normal(0, 3, 4000)
    pairs = np.stack([truth + rng.normal(0, 0.6, 4000), truth + rng.normal(0, 0.6, 4000)], axis=1)
    assert replicate_sigma(pairs.tolist()).sigma == pytest.approx(0.6, rel=0.03)


@pytest.mark.parametrize("sigma", [0.3, 1.0])
def test_gaussian_ceiling_is_the_correlation_of_truth_and_noisy_scores(sigma):
    rng = np.random.default_rng(2)
    truth = rng.normal(0, 1, 20000)
    observed = truth + rng.normal(0, sigma, truth.size)
    r = reliability(observed, sigma)
    assert r == pytest.approx(1 / (1 + sigma**2), abs=0.01)
    pearson, tau, rho = gaussian_ceilings(r)
    assert pearson == pytest.approx(stats.pearsonr(truth, observed)[0], abs=0.01)
    assert tau == pytest.approx(stats.kendalltau(truth, observed)[0], abs=0.01)
    assert rho == pytest.approx(stats.spearmanr(truth, observed)[0], abs=0.01)


def test_simulated_ceiling_matches_the_correlations_a_perfect_proxy_reaches():
    """A perfect proxy (the true quality) on benchmarks drawn from the model reaches the ceiling on average."""
    rng = np.random.default_rng(3)
    sigma, n = 0.8, 300
    truth = rng.normal(0, 1, n)
    reached = [stats.kendalltau(truth, truth + rng.normal(0, sigma, n))[0] for _ in range(300)]
    observed = truth + rng.normal(0, sigma, n)
    from bench.analysis.ceiling import NoiseEstimate

    result = ceiling("t", "all", observed, NoiseEstimate(sigma, "replicates", 1, 1), 500, np.random.default_rng(0))
    assert result.kendall_sim == pytest.approx(np.mean(reached), abs=0.03)
    assert result.kendall_sim_lo < np.mean(reached) < result.kendall_sim_hi
    assert result.kendall_ceiling == pytest.approx(result.kendall_sim, abs=0.03)


def test_a_stratum_no_wider_than_the_noise_has_no_ceiling():
    flat = np.array([1.0, 1.1, 0.9, 1.05])
    assert reliability(flat, 1.0) == 0.0
    assert gaussian_ceilings(0.0)[1] == 0.0
    zero = ceiling("t", "flat", flat, NoiseEstimate(1.0, "assumed", 0, 0), 50, np.random.default_rng(0))
    assert (zero.kendall_sim, zero.kendall_sim_lo, zero.kendall_sim_hi, zero.spearman_sim) == (0.0, 0.0, 0.0, 0.0)
    assert math.isnan(reliability(np.array([1.0, 2.0]), 0.1))


def test_assumed_sigmas_are_fractions_of_the_sd():
    grid = assumed_sigmas(4.0, (0.1, 0.5))
    assert [g.sigma for g in grid] == [0.4, 2.0] and [g.source for g in grid] == ["assumed 0.1 SD", "assumed 0.5 SD"]


def test_ceiling_table_is_deterministic_and_covers_every_stratum():
    rng = np.random.default_rng(4)
    scores = {"glue": rng.normal(0, 2, 40), "cola": rng.normal(0, 5, 40)}
    strata = np.array(["a"] * 20 + ["b"] * 20)
    noise = {"glue": [replicate_sigma([[0.0, 1.0]])], "cola": assumed_sigmas(5.0, (0.2,))}
    one = ceiling_table(scores, strata, noise, n_sim=50, seed=7)
    two = ceiling_table(scores, strata, noise, n_sim=50, seed=7)
    assert one == two
    assert [(c.task, c.stratum) for c in one] == [("glue", "all"), ("glue", "a"), ("glue", "b"), ("cola", "all"), ("cola", "a"), ("cola", "b")]
    assert ceiling_table(scores, strata, noise, n_sim=50, seed=8) != one


def test_shares_divide_by_the_stratum_weighted_ceiling():
    ceilings = pd.DataFrame({
        "task": ["glue"] * 3, "sigma_source": ["replicates"] * 3, "sigma": [0.5] * 3,
        "stratum": ["all", "a", "b"], "n": [30, 10, 20],
        "kendall_sim": [0.8, 0.4, 0.7], "spearman_sim": [0.9, 0.5, 0.8],
    })
    correlations = pd.DataFrame({"proxy": ["p"], "task": ["glue"], "kendall_tau": [0.4], "spearman_rho": [0.45]})
    stratified = pd.DataFrame({"proxy": ["p"], "task": ["glue"], "kendall_tau": [0.3], "spearman_rho": [0.2]})
    row = shares(correlations, ceilings, stratified).iloc[0]
    assert row["kendall_share"] == pytest.approx(0.5) and row["spearman_share"] == pytest.approx(0.5)
    assert row["stratified_tau_ceiling"] == pytest.approx((0.4 * 10 + 0.7 * 20) / 30)
    assert row["stratified_tau_share"] == pytest.approx(0.3 / 0.6)


def test_bench_ceiling_stores_ceilings_and_shares(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--proxies", "params,w-pca", "--limit", "12", "--batch-size", "2", "--seq-len", "8", "--no-progress", "--out", str(out)]) == 0
    assert main(["ceiling", str(out), "--n-sim", "20"]) == 0
    table = pd.read_csv(out / "ceilings.csv")
    tasks = 9
    assert len(table) == tasks * (1 + table["stratum"].nunique() - 1)
    glue = table[(table["task"] == "glue") & (table["stratum"] == "all")].iloc[0]
    assert glue["sigma_source"] == "replicates" and glue["replicate_groups"] == 9 and glue["n"] == 12
    assert glue["sigma"] == pytest.approx(0.603, abs=0.001)
    assert not (out / "ceiling-shares.csv").exists()
    assert main(["correlate", str(out), "--tasks", "all", "--bootstrap", "0"]) == 0
    assert main(["ceiling", str(out), "--n-sim", "20"]) == 0
    shared = pd.read_csv(out / "ceiling-shares.csv")
    assert set(shared["proxy"]) == {"params", "w-pca"} and len(shared) == 2 * tasks
    row = shared[(shared["proxy"] == "params") & (shared["task"] == "glue")].iloc[0]
    assert row["kendall_share"] == pytest.approx(row["kendall_tau"] / row["kendall_ceiling"])
    assert "noise ceilings of" in capsys.readouterr().out
    assert main(["ceiling", str(out), "--n-sim", "0"]) == 2
