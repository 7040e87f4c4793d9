"""Noise ceilings: how well could any proxy correlate with a ground truth that is itself noisy?

Model. A benchmark's score of architecture ``i`` is ``y_i = t_i + e_i``: a true quality
``t_i`` plus training noise ``e_i ~ N(0, σ²)``, independent of ``t`` and of the same size for
every architecture. The best possible proxy ranks by ``t``; its correlation with ``y`` is the
ceiling.

* **σ from replicates**: architectures trained more than once give the pooled within-group
  variance ``σ̂² = Σ_g Σ_j (y_gj − ȳ_g)² / Σ_g (n_g − 1)`` (for pairs, ``mean((y_a − y_b)²) / 2``).
  The assumption that σ of the replicated architectures holds for all is stated with every
  result (FlexiBERT's nine replicates are all 2-layer models).
* **Reliability** of a set ``S`` of architectures: ``R = max(0, 1 − σ² / s²_y)`` with ``s²_y``
  the sample variance of ``y`` over ``S`` (the share of the observed variance that is true
  variance; Spearman–Brown's single-measurement reliability). A stratum whose spread is no
  larger than the noise has ``R = 0``: nothing in it can be ranked, and its ceilings are 0.
* **Gaussian ceilings**: ``r* = √R`` (Pearson of ``t`` with ``y``) and, for bivariate normal
  ``(t, y)``, ``τ* = (2/π) arcsin r*`` and ``ρ* = (6/π) arcsin(r*/2)``.
* **Simulated ceilings** (no normality of ``t`` assumed): ``t̂ = ȳ + √R (y − ȳ)`` keeps the
  observed order with the true variance; ``n_sim`` draws ``y* = t̂ + e*`` give Kendall τ and
  Spearman ρ of ``(t̂, y*)``: their mean is the ceiling and their 2.5–97.5 percentiles the
  spread a perfect proxy would show on this many architectures.

Where a benchmark has no replicates, σ is assumed: :func:`assumed_sigmas` gives a grid of σ as
fractions of the benchmark's standard deviation, so the sensitivity of the ceiling is shown.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from bench.analysis.stats import kendall, spearman

#: σ as fractions of the benchmark's SD, for benchmarks without replicates.
ASSUMED_FRACTIONS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.5)


@dataclass(frozen=True)
class NoiseEstimate:
    """σ of the training noise and where it comes from."""

    sigma: float
    source: str  # "replicates" or "assumed"
    groups: int  # replicate groups used (0 when assumed)
    dof: int  # Σ (n_g − 1)


@dataclass(frozen=True)
class Ceiling:
    """The ceiling of one set of architectures (a task, over all of them or one stratum)."""

    task: str
    stratum: str
    n: int
    sigma: float
    sigma_source: str
    replicate_groups: int
    sd: float
    reliability: float
    pearson_ceiling: float
    kendall_ceiling: float
    spearman_ceiling: float
    kendall_sim: float
    kendall_sim_lo: float
    kendall_sim_hi: float
    spearman_sim: float
    spearman_sim_lo: float
    spearman_sim_hi: float

    def record(self) -> dict[str, float | int | str]:
        return asdict(self)


def replicate_sigma(groups: Iterable[Sequence[float]]) -> NoiseEstimate:
    """Pooled within-group SD of replicated scores (groups with fewer than two finite scores are skipped)."""
    squares, dof, used = 0.0, 0, 0
    for group in groups:
        values = np.asarray([v for v in group if math.isfinite(v)], dtype=float)
        if len(values) < 2:
            continue
        squares += float(((values - values.mean()) ** 2).sum())
        dof += len(values) - 1
        used += 1
    sigma = math.sqrt(squares / dof) if dof else float("nan")
    return NoiseEstimate(sigma, "replicates", used, dof)


def assumed_sigmas(sd: float, fractions: Sequence[float] = ASSUMED_FRACTIONS) -> list[NoiseEstimate]:
    """Assumed σ values as fractions of the benchmark's SD (no replicates to estimate it from)."""
    return [NoiseEstimate(f * sd, f"assumed {f:g} SD", 0, 0) for f in fractions]


def reliability(scores: np.ndarray, sigma: float) -> float:
    """``max(0, 1 − σ² / s²)`` over the finite ``scores`` (NaN with fewer than 3)."""
    scores = scores[np.isfinite(scores)]
    if len(scores) < 3 or not math.isfinite(sigma):
        return float("nan")
    variance = float(np.var(scores, ddof=1))
    if variance <= 0:
        return 0.0
    return max(0.0, 1.0 - sigma**2 / variance)


def gaussian_ceilings(r: float) -> tuple[float, float, float]:
    """``(r*, τ*, ρ*)`` for reliability ``r`` under bivariate normality."""
    if not math.isfinite(r):
        return (float("nan"),) * 3
    pearson = math.sqrt(r)
    return pearson, 2 / math.pi * math.asin(pearson), 6 / math.pi * math.asin(pearson / 2)


def simulated_ceilings(scores: np.ndarray, sigma: float, n_sim: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_sim, 2)`` Kendall τ and Spearman ρ of ``(t̂, t̂ + e*)`` (see the module docstring).

    With reliability 0 the true qualities are all equal: nothing can be ranked, and every draw's
    ceiling is 0 (as the Gaussian ceiling of ``R = 0``), not undefined.
    """
    scores = scores[np.isfinite(scores)]
    r = reliability(scores, sigma)
    if not math.isfinite(r) or n_sim < 1:
        return np.full((0, 2), np.nan)
    if r == 0:
        return np.zeros((n_sim, 2))
    truth = scores.mean() + math.sqrt(r) * (scores - scores.mean())
    draws = truth[None, :] + rng.normal(0.0, sigma, (n_sim, len(truth)))
    return np.array([(kendall(truth, d), spearman(truth, d)) for d in draws])


def ceiling(task: str, stratum: str, scores: np.ndarray, noise: NoiseEstimate, n_sim: int, rng: np.random.Generator) -> Ceiling:
    """The ceiling of one set of scores under one noise estimate."""
    scores = np.asarray(scores, dtype=float)
    finite = scores[np.isfinite(scores)]
    r = reliability(finite, noise.sigma)
    pearson, tau, rho = gaussian_ceilings(r)
    sims = simulated_ceilings(finite, noise.sigma, n_sim, rng)
    if len(sims) and np.isfinite(sims).any():
        tau_s, rho_s = np.nanmean(sims, axis=0)
        tau_lo, tau_hi = np.nanpercentile(sims[:, 0], [2.5, 97.5])
        rho_lo, rho_hi = np.nanpercentile(sims[:, 1], [2.5, 97.5])
    else:
        tau_s = rho_s = tau_lo = tau_hi = rho_lo = rho_hi = float("nan")
    sd = float(np.std(finite, ddof=1)) if len(finite) > 1 else float("nan")
    return Ceiling(
        task, stratum, len(finite), noise.sigma, noise.source, noise.groups, sd, r, pearson, tau, rho,
        float(tau_s), float(tau_lo), float(tau_hi), float(rho_s), float(rho_lo), float(rho_hi),
    )


def ceiling_table(
    scores: Mapping[str, np.ndarray],
    strata: np.ndarray,
    noise: Mapping[str, Sequence[NoiseEstimate]],
    n_sim: int = 1000,
    seed: int = 0,
) -> list[Ceiling]:
    """Ceilings per task, over all architectures (stratum ``all``) and within each stratum.

    Args:
        scores: task -> one score per architecture (NaN allowed, left out).
        strata: the stratum of each architecture.
        noise: task -> the noise estimates to evaluate (one from replicates, or an assumed grid).
        n_sim: simulated replicate draws per ceiling.
        seed: seeds the draws (each ceiling gets its own stream, derived from task, stratum, σ).
    """
    from bench.seeding import derive_rng

    out = []
    strata = np.asarray(strata)
    for task, values in scores.items():
        values = np.asarray(values, dtype=float)
        groups = [("all", np.ones(len(values), dtype=bool))] + [(str(s), strata == s) for s in sorted(set(strata.tolist()))]
        for estimate in noise[task]:
            for name, mask in groups:
                rng = derive_rng(seed, "ceiling", task, name, estimate.source)
                out.append(ceiling(task, name, values[mask], estimate, n_sim, rng))
    return out


def replicate_groups(entries: Sequence, task: str, key) -> list[list[float]]:
    """Scores of ``task`` grouped by architecture (``key(entry.arch)``), for groups trained more than once."""
    grouped: dict[str, list[float]] = {}
    for entry in entries:
        grouped.setdefault(key(entry.arch), []).append(float(entry.scores[task]))
    return [scores for scores in grouped.values() if len(scores) > 1]


def noise_estimates(entries: Sequence, tasks: Sequence[str], key, sd: Mapping[str, float]) -> dict[str, list[NoiseEstimate]]:
    """Per task: σ from the benchmark's replicates, or the assumed grid (:func:`assumed_sigmas`) when it has none."""
    out = {}
    for task in tasks:
        estimate = replicate_sigma(replicate_groups(entries, task, key))
        out[task] = [estimate] if estimate.groups else assumed_sigmas(sd[task])
    return out


def shares(correlations: pd.DataFrame, ceilings: pd.DataFrame, stratified: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every proxy's correlation beside its ceiling and as a share of it.

    Over all architectures: τ / τ*_sim and ρ / ρ*_sim of stratum ``all``. Within strata (when a
    stratified table is given): the stratified τ and ρ beside the size-weighted mean of the
    strata's ceilings, the same weights :func:`bench.analysis.stats.stratified_correlation` uses.
    One row per proxy × task × noise estimate.
    """
    records = []
    for (task, source), group in ceilings.groupby(["task", "sigma_source"], sort=True):
        overall = group[group["stratum"] == "all"].iloc[0]
        inner = group[(group["stratum"] != "all") & (group["n"] >= 3)]
        weights = inner["n"].to_numpy(float)
        inner_tau = float(np.average(inner["kendall_sim"], weights=weights)) if len(inner) and np.isfinite(inner["kendall_sim"]).all() else float("nan")
        inner_rho = float(np.average(inner["spearman_sim"], weights=weights)) if len(inner) and np.isfinite(inner["spearman_sim"]).all() else float("nan")
        for row in correlations[correlations["task"] == task].itertuples():
            record = {
                "proxy": row.proxy, "task": task, "sigma_source": source, "sigma": float(overall["sigma"]),
                "kendall_tau": float(row.kendall_tau), "kendall_ceiling": float(overall["kendall_sim"]),
                "kendall_share": _share(row.kendall_tau, overall["kendall_sim"]),
                "spearman_rho": float(row.spearman_rho), "spearman_ceiling": float(overall["spearman_sim"]),
                "spearman_share": _share(row.spearman_rho, overall["spearman_sim"]),
                "stratified_tau": float("nan"), "stratified_tau_ceiling": inner_tau, "stratified_tau_share": float("nan"),
                "stratified_rho": float("nan"), "stratified_rho_ceiling": inner_rho, "stratified_rho_share": float("nan"),
            }
            if stratified is not None:
                match = stratified[(stratified["proxy"] == row.proxy) & (stratified["task"] == task)]
                if len(match):
                    tau, rho = float(match["kendall_tau"].iloc[0]), float(match["spearman_rho"].iloc[0])
                    record.update(stratified_tau=tau, stratified_tau_share=_share(tau, inner_tau), stratified_rho=rho, stratified_rho_share=_share(rho, inner_rho))
            records.append(record)
    return pd.DataFrame.from_records(records)


def _share(value: float, ceiling_value: float) -> float:
    value, ceiling_value = float(value), float(ceiling_value)
    if not (math.isfinite(value) and math.isfinite(ceiling_value)) or ceiling_value <= 0:
        return float("nan")
    return value / ceiling_value
