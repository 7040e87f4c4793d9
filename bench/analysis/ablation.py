"""Compare the same proxies across runs that differ in one setting (an ablation table).

Each run is labelled by how its config differs from the first run's (e.g. ``mode=train``,
``batch_size=8``, ``proxies.v-pca.options.eta=0.9``); the first run is the ``reference``.
Only the runs' shared architectures are compared, so every column rests on the same
benchmark entries. The cost of each proxy in each run is the median of its rows' ``seconds``
(the proxy's own time per architecture, as stored by the runner), next to the median time
of the run's shared forward/backward pass per architecture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from bench.errors import UserError
from bench.analysis.stats import correlation_table
from bench.store.runs import RunStore
from bench.store.manifest import config_differences

_IGNORED = ("proxies.", "num_archs", "archs.limit", "data.")  # data.*: digests of the input files


def run_label(reference: dict[str, Any], config: dict[str, Any], proxy: str) -> str:
    """Short label of what differs between two configs for one proxy (options of other proxies ignored)."""
    parts = []
    for diff in config_differences(reference, config):
        key, _, change = diff.partition(": ")
        if key.startswith(f"proxies.{proxy}.options."):
            parts.append(f"{key.split('.')[-1]}={change.split(' -> ')[1].strip(chr(34))}")
        elif not key.startswith(_IGNORED):
            parts.append(f"{key}={change.split(' -> ')[1].strip(chr(34))}")
    return ", ".join(parts) or "reference"


def ablation_table(run_dirs: Sequence[str | Path], task: str = "glue", n_boot: int = 0) -> pd.DataFrame:
    """τ/ρ of every proxy in every run, on the architectures all runs scored.

    Raises:
        UserError: for a run without ground truth, or runs that share no architecture.
    """
    stores = [RunStore(d) for d in run_dirs]
    configs = [s.manifest()["config"] for s in stores]
    rows = [s.rows() for s in stores]
    truths = [s.ground_truth() for s in stores]
    for directory, truth in zip(run_dirs, truths):
        if truth is None:
            raise UserError(f"{directory} has no ground truth; ablations compare benchmark runs")
    common = set.intersection(*(set(r["arch_hash"]) for r in rows))
    if not common:
        raise UserError("the runs share no scored architecture")
    # the same benchmark entries in every column (an architecture can have several entries)
    entries = set.intersection(*(set(t["bench_id"]) for t in truths))
    truths = [t[t["bench_id"].isin(entries)] for t in truths]
    records = []
    for directory, config, frame, truth in zip(run_dirs, configs, rows, truths):
        frame = frame[frame["arch_hash"].isin(common)]
        table = correlation_table(frame, truth, config["seeds"][0], [task], n_boot)
        seconds = frame.groupby("proxy")["seconds"].median()
        pass_seconds = frame.drop_duplicates("arch_hash")["pass_seconds"].median()
        for row in table.itertuples():
            records.append({
                "run": str(directory),
                "setting": run_label(configs[0], config, row.proxy),
                "proxy": row.proxy,
                "n": row.n,
                "n_excluded": row.n_excluded,
                "kendall_tau": row.kendall_tau,
                "kendall_lo": row.kendall_lo,
                "kendall_hi": row.kendall_hi,
                "spearman_rho": row.spearman_rho,
                "spearman_lo": row.spearman_lo,
                "spearman_hi": row.spearman_hi,
                "median_seconds": float(seconds.get(row.proxy, float("nan"))),
                "median_pass_seconds": float(pass_seconds),
                "config": json.dumps(config, sort_keys=True),
            })
    return pd.DataFrame.from_records(records)
