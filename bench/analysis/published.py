"""Our values against the benchmark authors' published proxy values, architecture by architecture.

``BERT_results_activation.csv`` (aaronserianni/training-free-nas) holds, per FlexiBERT benchmark
ID, the values of their ``BERT_metrics.ipynb``. :data:`PUBLISHED_COLUMNS` pairs each proxy of
:mod:`proxies.published` (and ``params``) with the column its definition reproduces. For each pair,
:func:`published_comparison` reports, over the benchmark IDs both have a finite value for, the
Spearman ρ and Kendall τ between our value and theirs, and each side's Spearman ρ against the
GLUE mean (so the published ranking claim can be checked proxy by proxy).
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd
from scipy import stats

#: Proxy name -> the published CSV column its definition reproduces.
PUBLISHED_COLUMNS: Mapping[str, str] = {
    "published-synaptic-diversity": "Synaptic Diversity",
    "published-synaptic-saliency": "Synaptic Saliency",
    "published-activation-distance": "Activation Distance Normalized",
    "published-jacov": "Jacobian Score",
    "published-jacobian-cosine": "Jacobian Score Normalized",
    "params": "Number of Parameters",
    "published-head-importance": "Head Importance",
    "published-head-confidence": "Head Confidence",
    "published-softmax-confidence": "Head Softmax Confidence",
}
PUBLISHED_FILE = "flexibert/BERT_results_activation.csv"
GLUE_COLUMN = "GLUE Score"
FIELDS = ("proxy", "column", "n", "n_missing", "spearman_rho", "kendall_tau", "ours_rho_glue", "published_rho_glue")


def _rho(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.spearmanr(a, b).statistic) if len(a) > 2 else math.nan


def published_comparison(rows: pd.DataFrame, truth: pd.DataFrame, published: pd.DataFrame, seed: int) -> pd.DataFrame:
    """One row per proxy of :data:`PUBLISHED_COLUMNS` present in ``rows`` (see the module docstring).

    ``rows`` are a run's result rows, ``truth`` its ground truth (``bench_id``, ``arch_hash``, ``task``,
    ``score``), ``published`` the CSV (``ID`` and the value columns); ``n_missing`` counts the IDs
    without a finite value on either side (failed or NaN rows are counted there, never dropped silently).
    """
    ids = truth[["bench_id", "arch_hash"]].drop_duplicates()
    glue = truth[truth["task"] == "glue"].set_index("bench_id")["score"]
    out = []
    for proxy, column in PUBLISHED_COLUMNS.items():
        ours = rows[(rows["proxy"] == proxy) & (rows["seed"] == seed)].set_index("arch_hash")["value"]
        if ours.empty or column not in published.columns:
            continue
        frame = ids.assign(ours=ids["arch_hash"].map(ours)).merge(
            published[["ID", column]].rename(columns={"ID": "bench_id", column: "theirs"}), on="bench_id", how="left"
        )
        frame["glue"] = frame["bench_id"].map(glue)
        finite = frame[np.isfinite(frame["ours"].astype(float)) & np.isfinite(frame["theirs"].astype(float))]
        a, b, g = finite["ours"].to_numpy(float), finite["theirs"].to_numpy(float), finite["glue"].to_numpy(float)
        out.append({
            "proxy": proxy,
            "column": column,
            "n": len(finite),
            "n_missing": len(frame) - len(finite),
            "spearman_rho": _rho(a, b),
            "kendall_tau": float(stats.kendalltau(a, b).statistic) if len(a) > 2 else math.nan,
            "ours_rho_glue": _rho(a, g),
            "published_rho_glue": _rho(b, g),
        })
    return pd.DataFrame(out, columns=list(FIELDS))
