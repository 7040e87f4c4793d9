"""Regression check: rerun a committed run's config and compare its correlations.

``verify(reference_dir)`` reads the reference run's manifest, scores the same
architectures with the same config into a fresh run directory, computes Kendall τ and
Spearman ρ of every proxy against every stored task for both (no bootstrap), and reports
every (proxy, task, statistic) that moved by more than the tolerance, or a proxy whose
definition version changed since the reference was made.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bench.errors import UserError
from bench.analysis.stats import correlation_table
from bench.store.runs import RunStore

DEFAULT_TOLERANCE = 0.03


@dataclass(frozen=True)
class Drift:
    """One statistic that moved beyond the tolerance."""

    proxy: str
    task: str
    statistic: str
    reference: float
    current: float

    def describe(self) -> str:
        return f"{self.proxy} / {self.task} / {self.statistic}: reference {self.reference:+.4f}, now {self.current:+.4f} (moved {self.current - self.reference:+.4f})"


def rerun_config(config: dict[str, Any], out_dir: Path, jobs: int = 1, progress: bool = False) -> RunStore:
    """Score the reference config again into ``out_dir``."""
    from bench.config import RunConfig
    from bench.scoring.runner import run

    return run(RunConfig.from_manifest(config, jobs=jobs), out_dir, command=["bench", "verify"], progress=progress)


def compare(reference: pd.DataFrame, current: pd.DataFrame, tolerance: float) -> list[Drift]:
    """Statistics of ``current`` that differ from ``reference`` by more than ``tolerance``."""
    drifts = []
    keyed = current.set_index(["proxy", "task"])
    for row in reference.itertuples():
        for statistic in ("kendall_tau", "spearman_rho"):
            ref = float(getattr(row, statistic))
            now = float(keyed.loc[(row.proxy, row.task), statistic]) if (row.proxy, row.task) in keyed.index else float("nan")
            same_nan = pd.isna(ref) and pd.isna(now)
            if not same_nan and not abs(now - ref) <= tolerance:
                drifts.append(Drift(row.proxy, row.task, statistic, ref, now))
    return drifts


def verify(reference_dir: str | Path, tolerance: float = DEFAULT_TOLERANCE, out_dir: str | Path | None = None, jobs: int = 1, progress: bool = False) -> tuple[list[Drift], list[str]]:
    """Rerun and compare; returns the drifts and the proxies whose version changed.

    Raises:
        UserError: when the reference is not a run with ground truth.
    """
    from proxies import get_proxy

    reference = RunStore(reference_dir)
    config = reference.manifest()["config"]
    truth = reference.ground_truth()
    if truth is None:
        raise UserError(f"{reference_dir} has no ground truth; only benchmark runs can be verified")
    changed = [
        f"{name}: reference version {spec['version']}, registered version {get_proxy(name).version}"
        for name, spec in config["proxies"].items()
        if get_proxy(name).version != spec["version"]
    ]
    if changed:
        return [], changed
    tasks = sorted(truth["task"].unique())
    seed = config["seeds"][0]
    expected = correlation_table(reference.rows(), truth, seed, tasks, n_boot=0)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(out_dir) if out_dir else Path(tmp) / "rerun"
        current_store = rerun_config(config, target, jobs=jobs, progress=progress)
        current = correlation_table(current_store.rows(), current_store.ground_truth(), seed, tasks, n_boot=0)
    return compare(expected, current, tolerance), []


def summary(drifts: list[Drift], changed: list[str], reference_dir: str | Path, tolerance: float) -> str:
    """Human-readable verdict."""
    if changed:
        return f"{reference_dir}: proxy definitions changed since the reference was made ({'; '.join(changed)}); regenerate the reference"
    if not drifts:
        return f"{reference_dir}: every Kendall tau and Spearman rho is within {tolerance} of the reference"
    lines = [f"{reference_dir}: {len(drifts)} statistic(s) moved by more than {tolerance}:"]
    lines += [f"  {d.describe()}" for d in drifts]
    return "\n".join(lines)
