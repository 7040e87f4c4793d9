"""Seed stability of proxies (the paper's Figure 4 and Appendix B).

For a run over a few architectures × several initialisation seeds, per proxy:

* ``rank_cv``: for each architecture, the coefficient of variation (std / mean) of its rank
  among the run's architectures across seeds, averaged over architectures (0 = the ranking
  never changes);
* ``kendall_w``: Kendall's coefficient of concordance W of the per-seed rankings (1 = every
  seed ranks the architectures identically), with the correction for tied ranks;
* ``mean_pairwise_tau``: mean Kendall τ between the rankings of every pair of seeds;
* ``value_cv``: the coefficient of variation of the raw value per architecture, averaged.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats


def kendall_w(ranks: np.ndarray) -> float:
    """Kendall's W for an (m raters × n items) matrix of average ranks.

    ``W = 12 S / (m² (n³ − n) − m Σ_j T_j)`` with S the sum of squared deviations of the
    items' rank totals and ``T_j = Σ (t³ − t)`` over the groups of t tied items of rater j.
    """
    m, n = ranks.shape
    if n < 2 or m < 2:
        return float("nan")
    totals = ranks.sum(axis=0)
    spread = ((totals - totals.mean()) ** 2).sum()
    ties = sum(float(((counts**3) - counts).sum()) for counts in (np.unique(row, return_counts=True)[1] for row in ranks))
    denominator = m**2 * (n**3 - n) - m * ties
    return float(12.0 * spread / denominator) if denominator > 0 else float("nan")


def stability_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per-proxy stability statistics of a multi-seed run (rows of the store)."""
    records = []
    for proxy, group in rows.groupby("proxy", sort=True):
        table = group.pivot_table(index="seed", columns="arch_hash", values="value", aggfunc="first")
        finite = table.dropna(axis=1, how="any")
        excluded = table.shape[1] - finite.shape[1]
        values = finite.to_numpy(dtype=float)
        if values.shape[0] < 2 or values.shape[1] < 2:
            records.append({"proxy": proxy, "archs": values.shape[1], "seeds": values.shape[0], "excluded_archs": excluded,
                            "rank_cv": np.nan, "kendall_w": np.nan, "mean_pairwise_tau": np.nan, "value_cv": np.nan})
            continue
        ranks = stats.rankdata(values, axis=1)
        rank_cv = float(np.mean(ranks.std(axis=0) / ranks.mean(axis=0)))
        taus = [stats.kendalltau(a, b).statistic for a, b in itertools.combinations(values, 2)]
        with np.errstate(divide="ignore", invalid="ignore"):
            value_cv = float(np.nanmean(values.std(axis=0) / np.abs(values.mean(axis=0))))
        records.append({
            "proxy": proxy,
            "archs": values.shape[1],
            "seeds": values.shape[0],
            "excluded_archs": excluded,
            "rank_cv": rank_cv,
            "kendall_w": kendall_w(ranks),
            "mean_pairwise_tau": float(np.nanmean(taus)),
            "value_cv": value_cv,
        })
    return pd.DataFrame.from_records(records)
