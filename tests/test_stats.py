"""Statistics against scipy, bootstrap intervals, NaN accounting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.analysis.stats import bootstrap_ci, correlate, correlation_table


def test_point_estimates_equal_scipy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = 0.5 * x + rng.normal(size=200)
    x[::7] = np.round(x[::7])  # some ties
    result = correlate(pd.Series(x), pd.Series(y), "p", "glue", n_boot=0)
    assert result.kendall_tau == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)
    assert result.spearman_rho == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert result.n == 200 and result.n_excluded == 0


def test_signs_are_kept():
    x = np.arange(50.0)
    result = correlate(pd.Series(x), pd.Series(-x), "p", "glue", n_boot=0)
    assert result.kendall_tau == pytest.approx(-1.0) and result.spearman_rho == pytest.approx(-1.0)


def test_bootstrap_matches_scipy_bootstrap_and_is_seeded():
    rng = np.random.default_rng(1)
    x = rng.normal(size=120)
    y = x + rng.normal(size=120)
    (tau_lo, tau_hi), (rho_lo, rho_hi) = bootstrap_ci(x, y, 2000, np.random.default_rng(5))
    again = bootstrap_ci(x, y, 2000, np.random.default_rng(5))
    assert again == ((tau_lo, tau_hi), (rho_lo, rho_hi))
    reference = stats.bootstrap(
        (x, y), lambda a, b: stats.spearmanr(a, b).statistic, paired=True, vectorized=False,
        n_resamples=2000, method="percentile", random_state=np.random.default_rng(7),
    ).confidence_interval
    assert rho_lo == pytest.approx(reference.low, abs=0.03) and rho_hi == pytest.approx(reference.high, abs=0.03)
    point = stats.kendalltau(x, y).statistic
    assert tau_lo < point < tau_hi


def test_nan_values_are_excluded_and_counted():
    x = pd.Series([1.0, 2.0, np.nan, 4.0, 5.0, np.inf, 7.0])
    y = pd.Series([1.0, 3.0, 2.0, 4.0, 6.0, 5.0, 7.0])
    result = correlate(x, y, "p", "glue", n_boot=100)
    assert result.n == 5 and result.n_excluded == 2
    finite = np.isfinite(x)
    assert result.kendall_tau == pytest.approx(stats.kendalltau(x[finite], y[finite]).statistic)


def test_table_gives_one_point_per_benchmark_entry_and_skips_unscored():
    rows = pd.DataFrame({
        "arch_hash": ["a", "b", "c", "a", "b", "c"],
        "proxy": ["p"] * 3 + ["q"] * 3,
        "seed": [0] * 6,
        "value": [1.0, 2.0, 3.0, 3.0, np.nan, 1.0],
    })
    truth = pd.DataFrame({
        "bench_id": [0, 1, 2, 3, 4],
        "arch_hash": ["a", "b", "c", "a", "z"],  # 'a' appears twice, 'z' not scored yet
        "task": ["glue"] * 5,
        "score": [1.0, 2.0, 3.0, 1.5, 9.0],
    })
    table = correlation_table(rows, truth, seed=0, tasks=["glue"], n_boot=0).set_index("proxy")
    assert table.loc["p", "n"] == 4 and table.loc["p", "n_excluded"] == 0
    assert table.loc["q", "n"] == 3 and table.loc["q", "n_excluded"] == 1
    expected = stats.kendalltau([1, 2, 3, 1], [1, 2, 3, 1.5]).statistic
    assert table.loc["p", "kendall_tau"] == pytest.approx(expected)


def test_pearson_precision_and_best_rank_by_hand():
    from bench.analysis.stats import best_true_rank, pearson, precision_at

    x = np.array([10.0, 9.0, 8.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0] * 2)  # n = 20: top 10% = 2
    y = np.arange(20.0)[::-1]  # architecture 0 is the best, 19 the worst
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y).statistic)
    # proxy's top 2 are positions 0 and 10 (value 10); true top 2 are positions 0 and 1
    assert precision_at(x, y, 0.10) == pytest.approx(0.5)
    assert best_true_rank(x, y, 0.10) == 1.0
    assert best_true_rank(-x, y, 0.05) == 4.0  # proxy's top 1 is position 3 (value -1): true rank 4


def test_correlate_reports_all_statistics_with_intervals():
    rng = np.random.default_rng(3)
    x = rng.normal(size=300)
    y = x + rng.normal(size=300)
    result = correlate(pd.Series(x), pd.Series(y), "p", "glue", n_boot=200)
    assert result.pearson_r == pytest.approx(stats.pearsonr(x, y).statistic)
    for name in ("kendall", "spearman", "pearson", "precision_at_5", "precision_at_10", "best_rank_at_5"):
        value = {"kendall": result.kendall_tau, "spearman": result.spearman_rho, "pearson": result.pearson_r}.get(name, getattr(result, name, None))
        low = getattr(result, f"{name}_lo")
        high = getattr(result, f"{name}_hi")
        assert low <= value <= high, name
    lower = correlate(pd.Series(-x), pd.Series(y), "p", "glue", n_boot=0, higher_is_better=False)
    assert lower.precision_at_10 == result.precision_at_10 and lower.kendall_tau == pytest.approx(-result.kendall_tau)


def test_paired_difference_interval():
    from bench.analysis.stats import paired_difference

    rng = np.random.default_rng(4)
    y = rng.normal(size=400)
    good = y + 0.3 * rng.normal(size=400)
    bad = y + 3.0 * rng.normal(size=400)
    diffs = {d.statistic: d for d in paired_difference(good, bad, y, ("good", "bad"), "glue", n_boot=500)}
    tau = diffs["kendall_tau"]
    assert tau.difference == pytest.approx(stats.kendalltau(good, y).statistic - stats.kendalltau(bad, y).statistic)
    assert tau.excludes_zero and tau.lo > 0
    same = {d.statistic: d for d in paired_difference(good, good, y, ("a", "a"), "glue", n_boot=100)}
    assert same["spearman_rho"].difference == 0.0 and not same["spearman_rho"].excludes_zero


def test_stratified_correlation_removes_between_group_signal():
    from bench.analysis.stats import stratified_correlation, stratum_of

    rng = np.random.default_rng(5)
    strata = np.repeat(np.array(["2x128", "4x256"]), 50)
    size = np.where(strata == "4x256", 10.0, 0.0)
    truth = size + rng.normal(size=100)
    proxy = size + rng.normal(size=100)  # knows the size only
    overall = stats.kendalltau(proxy, truth).statistic
    within = stratified_correlation(proxy, truth, strata, n_boot=100)
    assert overall > 0.4 and abs(within["kendall_tau"]) < 0.2 and within["strata"] == 2
    by_hand = np.mean([stats.kendalltau(proxy[strata == s], truth[strata == s]).statistic for s in ("2x128", "4x256")])
    assert within["kendall_tau"] == pytest.approx(by_hand)
    from spaces import arch_json, get_space

    flexibert = get_space("flexibert")
    assert stratum_of(flexibert, arch_json(flexibert.arch_at(0))) == "2x128"
    assert stratum_of(flexibert, arch_json(flexibert.arch_at(flexibert.size() - 1))) == "4x256"
    assert stratum_of(get_space("nlu-tiny"), "[1,2,3,4,5,6]") == "all"  # the NLU spaces declare no strata


def test_split_is_a_fixed_half_by_architecture():
    from bench.analysis.stats import select_split, split_of

    hashes = [f"h{i}" for i in range(11)]
    halves = split_of(hashes + ["h0"], seed=0)
    assert list(halves.values()).count("tune") == 5 and len(halves) == 11
    assert split_of(hashes, seed=0) == halves and split_of(hashes, seed=1) != halves
    truth = pd.DataFrame({"arch_hash": hashes, "task": "glue", "score": range(11)})
    rows = pd.DataFrame({"arch_hash": hashes, "proxy": "p", "seed": 0, "value": range(11)})
    tune_rows, tune_truth = select_split(rows, truth, "tune")
    test_rows, _ = select_split(rows, truth, "test")
    assert set(tune_rows["arch_hash"]).isdisjoint(test_rows["arch_hash"])
    assert len(tune_rows) + len(test_rows) == 11 and len(tune_truth) == 5
