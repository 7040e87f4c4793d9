"""Read one or several benchmark run directories as one table of proxy values.

Several runs over the same benchmark architectures (e.g. the Table 1 run and a run of the
size baselines) can be analysed together: their rows are concatenated (a proxy must come
from one run only), derived proxies (``derived.csv``, see :mod:`bench.analysis.combine`) are added,
and the ground truth of the first run is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from bench.errors import UserError
from bench.store import schema
from bench.store.runs import RunStore



@dataclass
class BenchmarkRuns:
    """Rows, ground truth and metadata of one or more runs."""

    dirs: list[Path]
    rows: pd.DataFrame
    truth: pd.DataFrame
    configs: list[dict[str, Any]]
    info: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return list(self.configs[0]["seeds"])

    def labels(self) -> dict[str, str]:
        return {name: item.get("label", name) for name, item in self.info.items()}

    def directions(self) -> dict[str, bool]:
        return {name: bool(item.get("higher_is_better", True)) for name, item in self.info.items()}


def load_runs(run_dirs: Sequence[str | Path], *, include_derived: bool = True) -> BenchmarkRuns:
    """Load and merge benchmark runs.

    Raises:
        UserError: for a directory that is not a benchmark run, an empty run, runs of
            different spaces, or a proxy present in two runs.
    """
    if not run_dirs:
        raise UserError("give at least one run directory")
    frames, configs, info = [], [], {}
    truth = None
    owner: dict[str, Path] = {}
    for directory in map(Path, run_dirs):
        store = RunStore(directory)
        config = store.manifest()["config"]
        run_truth = store.ground_truth()
        if run_truth is None:
            raise UserError(f"{directory} has no ground truth: only runs over --archs benchmark can be correlated")
        rows = store.rows()
        if rows.empty:
            raise UserError(f"{directory} holds no result rows yet; run or resume `bench run` first")
        if configs and config["space"] != configs[0]["space"]:
            raise UserError(f"{directory} is a {config['space']} run, {run_dirs[0]} a {configs[0]['space']} run; analyse runs of one space")
        derived_path = directory / schema.DERIVED
        if include_derived and derived_path.is_file():
            rows = pd.concat([rows, pd.read_csv(derived_path, dtype={"arch_hash": str, "proxy_version": str})], ignore_index=True)
        for proxy in rows["proxy"].unique():
            if proxy in owner:
                raise UserError(f"proxy {proxy!r} is in both {owner[proxy]} and {directory}; give each proxy's values once")
            owner[proxy] = directory
        frames.append(rows)
        configs.append(config)
        info.update(store.proxy_info())
        if include_derived and (directory / schema.DERIVED_INFO).is_file():
            for item in pd.read_csv(directory / schema.DERIVED_INFO).to_dict("records"):
                info[item["proxy"]] = item
        truth = run_truth if truth is None else truth
    return BenchmarkRuns([Path(d) for d in run_dirs], pd.concat(frames, ignore_index=True), truth, configs, info)
