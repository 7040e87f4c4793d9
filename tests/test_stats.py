"""Statistics against scipy, bootstrap intervals, NaN accounting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.stats import bootstrap_ci, correlate, correlation_table


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
