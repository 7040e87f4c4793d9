"""Proxies across benchmarks: does a proxy's standing hold on other models?

For one benchmark (a run, or runs over the same architectures) and every proxy ``p``:
Kendall τ and Spearman ρ against the main task, the size-stratified τ
(:func:`bench.analysis.stats.stratified_correlation`), and the paired bootstrap difference
``Δτ = τ(p) − τ(s*)``, ``Δρ`` likewise, to the benchmark's best size descriptor ``s*`` (the one
of :data:`SIZE_DESCRIPTORS` with the highest τ on that benchmark: chosen on the same data, so
the comparison favours the baseline), and the same to #Params (``delta_params_tau``, ...).
Proxies are ranked by τ within each benchmark (1 = best);
the summary gives each proxy's mean rank over the benchmarks it was scored on and on how many
its Δτ interval lies above zero (beats size) or below (loses to size). ``size_descriptor`` marks
the rows of the size descriptors themselves.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from bench.analysis.stats import kendall, paired_difference, spearman, stratified_correlation
from bench.seeding import derive_rng

#: Proxies that describe model size; the best of them on a benchmark is its size baseline.
SIZE_DESCRIPTORS: tuple[str, ...] = ("params", "params-nonemb", "flops", "layers", "hidden-size", "layers-x-hidden")


def benchmark_rows(benchmark: str, values: pd.DataFrame, truth: np.ndarray, strata: np.ndarray,
                   directions: Mapping[str, bool], n_boot: int, seed: int) -> pd.DataFrame:
    """One row per proxy of ``values`` (columns) on one benchmark (see the module docstring)."""
    oriented = {p: values[p].to_numpy(float) * (1.0 if directions.get(p, True) else -1.0) for p in values.columns}

    def tau(p: str) -> float:
        finite = np.isfinite(oriented[p]) & np.isfinite(truth)
        return kendall(oriented[p][finite], truth[finite]) if finite.sum() >= 3 else float("nan")

    sizes = [p for p in oriented if p in SIZE_DESCRIPTORS]
    best_size = max(sizes, key=lambda p: np.nan_to_num(tau(p), nan=-np.inf)) if sizes else None
    records = []
    for p, column in oriented.items():
        finite = np.isfinite(column) & np.isfinite(truth)
        strat = stratified_correlation(column, truth, strata, n_boot=0)
        record = {"benchmark": benchmark, "proxy": p, "n": int(finite.sum()), "kendall_tau": tau(p),
                  "spearman_rho": spearman(column[finite], truth[finite]) if finite.sum() >= 3 else float("nan"),
                  "stratified_tau": strat["kendall_tau"], "strata": strat["strata"], "best_size": best_size or "",
                  "size_descriptor": p in SIZE_DESCRIPTORS}
        for baseline, prefix in ((best_size, "delta"), ("params" if "params" in oriented else None, "delta_params")):
            if baseline is None or p == baseline:
                continue
            diffs = {d.statistic: d for d in paired_difference(column, oriented[baseline], truth, (p, baseline), benchmark, n_boot, seed)}
            for stat, short in (("kendall_tau", "tau"), ("spearman_rho", "rho")):
                d = diffs[stat]
                record.update({f"{prefix}_{short}": d.difference, f"{prefix}_{short}_lo": d.lo, f"{prefix}_{short}_hi": d.hi})
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    frame["rank"] = frame["kendall_tau"].rank(ascending=False, method="min")
    frame["n_boot"], frame["bootstrap_seed"] = n_boot, seed
    return frame


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per proxy over the benchmarks: mean rank, mean τ and stratified τ, and counts of
    benchmarks where its Δτ interval to the best size descriptor is above / below zero."""
    grouped = table.groupby("proxy")
    out = pd.DataFrame({
        "benchmarks": grouped.size(),
        "size_descriptor": grouped["proxy"].first().isin(SIZE_DESCRIPTORS),
        "mean_rank": grouped["rank"].mean(),
        "mean_kendall_tau": grouped["kendall_tau"].mean(),
        "mean_stratified_tau": grouped["stratified_tau"].mean(),
        "beats_size": grouped.apply(lambda g: int((g.get("delta_tau_lo", pd.Series(dtype=float)) > 0).sum()), include_groups=False),
        "loses_to_size": grouped.apply(lambda g: int((g.get("delta_tau_hi", pd.Series(dtype=float)) < 0).sum()), include_groups=False),
    })
    return out.sort_values(["mean_rank", "proxy"]).reset_index()


def bootstrap_seed(seed: int, benchmark: str) -> int:
    """The resampling seed of one benchmark's paired differences."""
    return int(derive_rng(seed, "across", benchmark).integers(0, 2**31 - 1))
