"""Rank correlations of proxies with ground truth, with bootstrap confidence intervals.

Kendall τ is scipy's τ-b (ties handled), Spearman ρ the Pearson correlation of average
ranks; both are signed. Confidence intervals are percentile bootstrap intervals over
architectures (pairs resampled with replacement, ``n_boot`` times, seeded). Architectures
whose proxy value is NaN or failed are excluded and counted, never dropped silently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from bench.seeding import derive_rng


@dataclass(frozen=True)
class Correlation:
    """τ and ρ of one proxy against one task, with 95% bootstrap CIs."""

    proxy: str
    task: str
    n: int
    n_excluded: int
    kendall_tau: float
    kendall_lo: float
    kendall_hi: float
    spearman_rho: float
    spearman_lo: float
    spearman_hi: float


def kendall(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall τ-b."""
    return float(scipy_stats.kendalltau(x, y).statistic)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman ρ (average ranks for ties)."""
    return float(scipy_stats.spearmanr(x, y).statistic)


def _rank_rows(values: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis of a 2-D array."""
    return scipy_stats.rankdata(values, axis=-1)


def bootstrap_ci(x: np.ndarray, y: np.ndarray, n_boot: int, rng: np.random.Generator, level: float = 0.95) -> tuple[tuple[float, float], tuple[float, float]]:
    """Percentile bootstrap intervals of (Kendall τ, Spearman ρ)."""
    n = len(x)
    index = rng.integers(0, n, size=(n_boot, n))
    xs, ys = x[index], y[index]
    rx, ry = _rank_rows(xs), _rank_rows(ys)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rhos = (rx * ry).sum(1) / np.sqrt((rx**2).sum(1) * (ry**2).sum(1))
    taus = np.array([scipy_stats.kendalltau(a, b).statistic for a, b in zip(xs, ys)])
    alpha = (1.0 - level) / 2.0

    def interval(samples: np.ndarray) -> tuple[float, float]:
        finite = samples[np.isfinite(samples)]
        if finite.size == 0:
            return (float("nan"), float("nan"))
        low, high = np.quantile(finite, [alpha, 1.0 - alpha])
        return float(low), float(high)

    return interval(taus), interval(rhos)


def correlate(values: pd.Series, truth: pd.Series, proxy: str, task: str, n_boot: int = 1000, seed: int = 0) -> Correlation:
    """Correlate proxy values with ground truth, aligned by index.

    Args:
        values: proxy value per architecture (NaN for failed or non-finite values).
        truth: ground-truth score per architecture, same index.
        n_boot: bootstrap resamples (0 disables the intervals).
        seed: seed of the resampling; the stream also depends on ``proxy`` and ``task``.
    """
    joined = pd.concat([values.rename("value"), truth.rename("truth")], axis=1, join="inner")
    finite = np.isfinite(joined["value"].to_numpy(dtype=float)) & np.isfinite(joined["truth"].to_numpy(dtype=float))
    x = joined["value"].to_numpy(dtype=float)[finite]
    y = joined["truth"].to_numpy(dtype=float)[finite]
    excluded = int((~finite).sum())
    if len(x) < 3:
        nan = float("nan")
        return Correlation(proxy, task, len(x), excluded, nan, nan, nan, nan, nan, nan)
    tau, rho = kendall(x, y), spearman(x, y)
    if n_boot > 0:
        (tau_lo, tau_hi), (rho_lo, rho_hi) = bootstrap_ci(x, y, n_boot, derive_rng(seed, "bootstrap", proxy, task))
    else:
        tau_lo = tau_hi = rho_lo = rho_hi = float("nan")
    return Correlation(proxy, task, len(x), excluded, tau, tau_lo, tau_hi, rho, rho_lo, rho_hi)


def correlation_table(rows: pd.DataFrame, truth: pd.DataFrame, seed: int, tasks: list[str], n_boot: int = 1000, boot_seed: int = 0) -> pd.DataFrame:
    """τ/ρ of every proxy in ``rows`` (for one init ``seed``) against every task.

    Args:
        rows: the store's result rows.
        truth: the store's ground truth (bench_id, arch_hash, task, score).
        seed: which initialisation seed's values to use.
        tasks: ground-truth tasks to correlate against.
    """
    chosen = rows[rows["seed"].astype(int) == int(seed)]
    records = []
    for proxy, group in chosen.groupby("proxy", sort=True):
        per_arch = group.set_index("arch_hash")["value"].astype(float)
        for task in tasks:
            scores = truth[(truth["task"] == task) & truth["arch_hash"].isin(per_arch.index)]
            values = scores["arch_hash"].map(per_arch)  # one point per benchmark entry
            result = correlate(values.reset_index(drop=True), scores["score"].reset_index(drop=True), proxy, task, n_boot, boot_seed)
            records.append(asdict(result))
    return pd.DataFrame.from_records(records)
