"""Statistics of proxies against ground truth, with bootstrap confidence intervals.

Per proxy and task (architectures whose proxy value is NaN or failed are excluded and
counted, never dropped silently):

* Kendall τ (scipy's τ-b, ties handled), Spearman ρ (Pearson correlation of average ranks)
  and Pearson r, all signed;
* precision at top-k: the share of the proxy's top k architectures that are among the true
  top k, for k = 5% and 10% of the architectures (at least one);
* best true rank among the proxy's top k (1 = the best architecture was found).

Intervals are percentile bootstrap intervals over architectures (pairs resampled with
replacement, ``n_boot`` times, seeded by (seed, proxy, task)). :func:`paired_difference`
resamples two proxies on the same architectures for the interval of their difference;
:func:`stratified_correlation` correlates within groups of architectures that share a
size stratum (the space's :meth:`~spaces.base.SearchSpace.stratum`, :func:`stratum_of`;
FlexiBERT: depth and hidden size) and averages weighted by group size.

A proxy whose ``higher_is_better`` is false is negated before top-k selection (its
correlations keep their sign).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from bench.seeding import derive_rng, derive_seed

TOP_FRACTIONS: tuple[float, ...] = (0.05, 0.10)


@dataclass(frozen=True)
class Correlation:
    """Statistics of one proxy against one task, with 95% bootstrap CIs (``_lo``/``_hi``)."""

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
    pearson_r: float = float("nan")
    pearson_lo: float = float("nan")
    pearson_hi: float = float("nan")
    precision_at_5: float = float("nan")
    precision_at_5_lo: float = float("nan")
    precision_at_5_hi: float = float("nan")
    precision_at_10: float = float("nan")
    precision_at_10_lo: float = float("nan")
    precision_at_10_hi: float = float("nan")
    best_rank_at_5: float = float("nan")
    best_rank_at_5_lo: float = float("nan")
    best_rank_at_5_hi: float = float("nan")
    best_rank_at_10: float = float("nan")
    best_rank_at_10_lo: float = float("nan")
    best_rank_at_10_hi: float = float("nan")


def kendall(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall τ-b (NaN when either input is constant or has fewer than two points)."""
    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    return float(scipy_stats.kendalltau(x, y).statistic)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman ρ with average ranks for ties (NaN when either input is constant or has fewer than two points)."""
    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    return float(scipy_stats.spearmanr(x, y).statistic)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r (NaN when either input is constant)."""
    if np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def top_k(n: int, fraction: float) -> int:
    """Size of the top ``fraction`` of ``n`` architectures (at least one)."""
    return max(1, int(round(fraction * n)))


def precision_at(x: np.ndarray, y: np.ndarray, fraction: float) -> float:
    """Share of the top-k by ``x`` that are in the top-k by ``y`` (ties broken by position)."""
    k = top_k(len(x), fraction)
    predicted = np.argsort(-x, kind="stable")[:k]
    true = np.argsort(-y, kind="stable")[:k]
    return float(len(np.intersect1d(predicted, true))) / k


def best_true_rank(x: np.ndarray, y: np.ndarray, fraction: float) -> float:
    """Best true rank (1 = best by ``y``) among the top-k by ``x``."""
    k = top_k(len(x), fraction)
    predicted = np.argsort(-x, kind="stable")[:k]
    ranks = scipy_stats.rankdata(-y, method="min")
    return float(ranks[predicted].min())


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "kendall": kendall,
    "spearman": spearman,
    "pearson": pearson,
    "precision_at_5": lambda x, y: precision_at(x, y, 0.05),
    "precision_at_10": lambda x, y: precision_at(x, y, 0.10),
    "best_rank_at_5": lambda x, y: best_true_rank(x, y, 0.05),
    "best_rank_at_10": lambda x, y: best_true_rank(x, y, 0.10),
}
_FIELDS = {
    "kendall": ("kendall_tau", "kendall_lo", "kendall_hi"),
    "spearman": ("spearman_rho", "spearman_lo", "spearman_hi"),
    "pearson": ("pearson_r", "pearson_lo", "pearson_hi"),
    **{name: (name, f"{name}_lo", f"{name}_hi") for name in ("precision_at_5", "precision_at_10", "best_rank_at_5", "best_rank_at_10")},
}


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the finite samples (NaN when there are none)."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return (float("nan"), float("nan"))
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high)


def _row_ranks(values: np.ndarray) -> np.ndarray:
    return scipy_stats.rankdata(values, axis=-1)


def _row_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(1) / np.sqrt((a**2).sum(1) * (b**2).sum(1))


def bootstrap_samples(x: np.ndarray, y: np.ndarray, n_boot: int, rng: np.random.Generator, metrics: tuple[str, ...] = tuple(METRICS)) -> dict[str, np.ndarray]:
    """Bootstrap distribution of each metric over resampled (x, y) pairs."""
    index = rng.integers(0, len(x), size=(n_boot, len(x)))
    xs, ys = x[index], y[index]
    out: dict[str, np.ndarray] = {}
    if "spearman" in metrics:
        out["spearman"] = _row_correlation(_row_ranks(xs), _row_ranks(ys))
    if "pearson" in metrics:
        out["pearson"] = _row_correlation(xs.astype(float), ys.astype(float))
    for name in metrics:
        if name not in out:
            out[name] = np.array([METRICS[name](a, b) for a, b in zip(xs, ys)])
    return out


def bootstrap_ci(x: np.ndarray, y: np.ndarray, n_boot: int, rng: np.random.Generator, level: float = 0.95) -> tuple[tuple[float, float], tuple[float, float]]:
    """Percentile bootstrap intervals of (Kendall τ, Spearman ρ)."""
    samples = bootstrap_samples(x, y, n_boot, rng, ("kendall", "spearman"))
    return percentile_interval(samples["kendall"], level), percentile_interval(samples["spearman"], level)


def _finite_pairs(values: pd.Series, truth: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    joined = pd.concat([values.rename("value"), truth.rename("truth")], axis=1, join="inner")
    x = joined["value"].to_numpy(dtype=float)
    y = joined["truth"].to_numpy(dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)
    return x[finite], y[finite], int((~finite).sum())


def correlate(values: pd.Series, truth: pd.Series, proxy: str, task: str, n_boot: int = 1000, seed: int = 0, higher_is_better: bool = True) -> Correlation:
    """All statistics of proxy values against ground truth, aligned by index.

    Args:
        values: proxy value per architecture (NaN for failed or non-finite values).
        truth: ground-truth score per architecture, same index.
        n_boot: bootstrap resamples (0 disables the intervals).
        seed: seed of the resampling; the stream also depends on ``proxy`` and ``task``.
        higher_is_better: the proxy's direction, for the top-k statistics.
    """
    x, y, excluded = _finite_pairs(values, truth)
    if len(x) < 3:
        return Correlation(proxy, task, len(x), excluded, *([float("nan")] * 6))
    oriented = x if higher_is_better else -x
    fields: dict[str, float] = {}
    for name, fn in METRICS.items():
        value_field, lo_field, hi_field = _FIELDS[name]
        source = oriented if name.startswith(("precision", "best_rank")) else x
        fields[value_field] = fn(source, y)
        fields[lo_field] = fields[hi_field] = float("nan")
    if n_boot > 0:
        rng = derive_rng(seed, "bootstrap", proxy, task)
        index = rng.integers(0, len(x), size=(n_boot, len(x)))
        for name in METRICS:
            source = oriented if name.startswith(("precision", "best_rank")) else x
            samples = bootstrap_samples_from_index(source, y, index, name)
            fields[_FIELDS[name][1]], fields[_FIELDS[name][2]] = percentile_interval(samples)
    return Correlation(proxy=proxy, task=task, n=len(x), n_excluded=excluded, **fields)


def bootstrap_samples_from_index(x: np.ndarray, y: np.ndarray, index: np.ndarray, metric: str) -> np.ndarray:
    """One metric over the resamples given by an (n_boot, n) index matrix."""
    xs, ys = x[index], y[index]
    if metric == "spearman":
        return _row_correlation(_row_ranks(xs), _row_ranks(ys))
    if metric == "pearson":
        return _row_correlation(xs, ys)
    return np.array([METRICS[metric](a, b) for a, b in zip(xs, ys)])


def split_of(arch_hashes: pd.Series | list[str], seed: int = 0) -> dict[str, str]:
    """A fixed, seeded half split of architectures: ``tune`` or ``test`` per architecture hash.

    The hashes are ordered by ``derive_seed(seed, "split", hash)``; the first half is ``tune``.
    Splitting by architecture keeps duplicated benchmark entries on one side.
    """
    unique = sorted(set(arch_hashes), key=lambda h: derive_seed(seed, "split", h))
    half = len(unique) // 2
    return {h: ("tune" if i < half else "test") for i, h in enumerate(unique)}


def select_split(rows: pd.DataFrame, truth: pd.DataFrame, split: str, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Restrict rows and ground truth to the ``tune`` or ``test`` half (``all``: unchanged)."""
    if split == "all":
        return rows, truth
    if split not in ("tune", "test"):
        raise ValueError(f"split must be tune, test or all, got {split!r}")
    halves = split_of(truth["arch_hash"], seed)
    keep = {h for h, side in halves.items() if side == split}
    return rows[rows["arch_hash"].isin(keep)], truth[truth["arch_hash"].isin(keep)]


def _aligned(rows: pd.DataFrame, truth: pd.DataFrame, proxy: str, task: str) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    per_arch = rows[rows["proxy"] == proxy].set_index("arch_hash")["value"].astype(float)
    scores = truth[(truth["task"] == task) & truth["arch_hash"].isin(per_arch.index)].reset_index(drop=True)
    return scores["arch_hash"].map(per_arch), scores["score"], scores


def correlation_table(
    rows: pd.DataFrame,
    truth: pd.DataFrame,
    seed: int,
    tasks: list[str],
    n_boot: int = 1000,
    boot_seed: int = 0,
    directions: Mapping[str, bool] | None = None,
) -> pd.DataFrame:
    """Statistics of every proxy in ``rows`` (for one init ``seed``) against every task.

    One point per benchmark entry (duplicated architectures count once per entry); entries
    whose architecture was not scored are left out.

    Args:
        rows: the store's result rows.
        truth: the store's ground truth (bench_id, arch_hash, task, score).
        seed: which initialisation seed's values to use.
        tasks: ground-truth tasks to correlate against.
        directions: proxy -> higher_is_better (default: higher is better).
    """
    chosen = rows[rows["seed"].astype(int) == int(seed)]
    records = []
    for proxy in sorted(chosen["proxy"].unique()):
        for task in tasks:
            values, scores, _ = _aligned(chosen, truth, proxy, task)
            better = True if directions is None else directions.get(proxy, True)
            records.append(asdict(correlate(values, scores, proxy, task, n_boot, boot_seed, better)))
    return pd.DataFrame.from_records(records)


@dataclass(frozen=True)
class PairedDifference:
    """Statistic(A) − statistic(B) on the same architectures, with a paired bootstrap CI."""

    proxy_a: str
    proxy_b: str
    task: str
    statistic: str
    n: int
    a: float
    b: float
    difference: float
    lo: float
    hi: float

    @property
    def excludes_zero(self) -> bool:
        return bool(self.lo > 0 or self.hi < 0)


def paired_difference(a: np.ndarray, b: np.ndarray, y: np.ndarray, proxies: tuple[str, str], task: str, n_boot: int = 2000, seed: int = 0) -> list[PairedDifference]:
    """Differences of Kendall τ and Spearman ρ between two proxies on the same architectures.

    Each resample draws one set of architectures and evaluates both proxies on it, so the
    interval reflects the paired design.
    """
    finite = np.isfinite(a) & np.isfinite(b) & np.isfinite(y)
    a, b, y = a[finite], b[finite], y[finite]
    if len(y) < 2:  # a proxy without values here (e.g. failed on every architecture): nothing to compare
        nan = float("nan")
        return [PairedDifference(proxies[0], proxies[1], task, name, len(y), nan, nan, nan, nan, nan) for name in ("kendall_tau", "spearman_rho")]
    rng = derive_rng(seed, "paired", *proxies, task)
    index = rng.integers(0, len(y), size=(n_boot, len(y)))
    out = []
    for metric, name in (("kendall", "kendall_tau"), ("spearman", "spearman_rho")):
        point_a, point_b = METRICS[metric](a, y), METRICS[metric](b, y)
        diffs = bootstrap_samples_from_index(a, y, index, metric) - bootstrap_samples_from_index(b, y, index, metric)
        lo, hi = percentile_interval(diffs)
        out.append(PairedDifference(proxies[0], proxies[1], task, name, len(y), point_a, point_b, point_a - point_b, lo, hi))
    return out


def stratum_of(space, arch_json: str) -> str:
    """The size stratum ``space.stratum`` of an architecture of ``space`` given as JSON text
    (the ``arch`` column of a run's rows)."""
    return space.stratum(space.parse(json.loads(arch_json)))


def stratified_correlation(values: np.ndarray, truth: np.ndarray, strata: np.ndarray, n_boot: int = 1000, rng: np.random.Generator | None = None) -> dict[str, float]:
    """Kendall τ and Spearman ρ within strata, averaged weighted by stratum size.

    Strata with fewer than 3 finite points are left out. The interval resamples
    architectures within each stratum.
    """
    finite = np.isfinite(values) & np.isfinite(truth)
    values, truth, strata = values[finite], truth[finite], strata[finite]
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    groups = [g for g in groups if len(g) >= 3]
    if not groups:
        return {"kendall_tau": float("nan"), "spearman_rho": float("nan"), "kendall_lo": float("nan"), "kendall_hi": float("nan"), "spearman_lo": float("nan"), "spearman_hi": float("nan"), "n": 0, "strata": 0}
    weights = np.array([len(g) for g in groups], dtype=float)

    def weighted(index_sets: list[np.ndarray]) -> tuple[float, float]:
        taus = np.array([kendall(values[i], truth[i]) for i in index_sets])
        rhos = np.array([spearman(values[i], truth[i]) for i in index_sets])
        ok = np.isfinite(taus) & np.isfinite(rhos)
        if not ok.any():  # constant within every stratum (e.g. depth itself)
            return float("nan"), float("nan")
        return float(np.average(taus[ok], weights=weights[ok])), float(np.average(rhos[ok], weights=weights[ok]))

    tau, rho = weighted(groups)
    result = {"kendall_tau": tau, "spearman_rho": rho, "n": int(weights.sum()), "strata": len(groups)}
    if n_boot > 0:
        rng = rng or np.random.default_rng(0)
        samples = np.array([weighted([g[rng.integers(0, len(g), len(g))] for g in groups]) for _ in range(n_boot)])
        result["kendall_lo"], result["kendall_hi"] = percentile_interval(samples[:, 0])
        result["spearman_lo"], result["spearman_hi"] = percentile_interval(samples[:, 1])
    else:
        result.update(kendall_lo=float("nan"), kendall_hi=float("nan"), spearman_lo=float("nan"), spearman_hi=float("nan"))
    return result
