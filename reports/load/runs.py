"""Proxy runs (kind ``proxy-run``, made by ``bench run``) as a report reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from bench.store import schema
from reports.load.files import optional_csv, read_json, read_rows

#: Name of the folder that holds ablation runs (``scripts/ablations.sh`` writes ``results/ablation/<setting>``).
ABLATION_FOLDER = "ablation"


@dataclass
class ProxyRun:
    """One ``bench run`` directory as stored.

    Attributes:
        path: the directory.
        name: its path relative to the discovery root (for display).
        manifest: the parsed ``manifest.json``.
        rows: the complete rows of ``rows.csv`` (a torn last line is left out).
        truth: ``ground_truth.csv`` or ``None``.
        proxy_info: proxy -> stored label, version, direction, gradient use.
        proxy_info_stored: ``False`` for older runs without ``proxies.json`` (labels then
            fall back to proxy names, and the report says so).
        benchmark_info: ``benchmark.json`` (empty for runs stored before it existed).
        correlations, table1, stability: the statistics files when a command (an analysis
            command, or ``bench report``) stored them.
        stratified, ceilings, ceiling_shares, predictor: the size-stratified correlations
            (``bench stratify``), the noise ceilings and each proxy's share of them (``bench
            ceiling``) and the few-shot predictor curves (``bench predictor``), when stored.
    """

    path: Path
    name: str
    manifest: dict[str, Any]
    rows: pd.DataFrame
    truth: pd.DataFrame | None
    proxy_info: dict[str, dict[str, Any]]
    proxy_info_stored: bool
    benchmark_info: dict[str, Any] = field(default_factory=dict)
    correlations: pd.DataFrame | None = None
    table1: pd.DataFrame | None = None
    stability: pd.DataFrame | None = None
    stratified: pd.DataFrame | None = None
    ceilings: pd.DataFrame | None = None
    ceiling_shares: pd.DataFrame | None = None
    predictor: pd.DataFrame | None = None

    @property
    def config(self) -> dict[str, Any]:
        return self.manifest.get("config", {})

    @cached_property
    def benchmark(self) -> tuple[str, str, str]:
        """``(name, main task, main task's label)`` of the benchmark the ground truth comes from.

        Read from ``benchmark.json`` (written with the ground truth); for runs stored before it
        existed: FlexiBERT's ``("", "glue", "GLUE mean")`` when the ground truth has a ``glue``
        task, else the first task of the ground truth (a benchmark lists its main task first)
        as its own label.
        """
        info = self.benchmark_info
        if info.get("main_task"):
            return str(info.get("name", "")), str(info["main_task"]), str(info.get("main_label", info["main_task"]))
        tasks = list(dict.fromkeys(self.truth["task"].astype(str))) if self.truth is not None and len(self.truth) else []
        if not tasks or "glue" in tasks:
            return "", "glue", "GLUE mean"
        return "", tasks[0], tasks[0]

    @property
    def main_task(self) -> str:
        """The ground-truth task architectures are ranked by (``glue``, ``neg_valid_ppl``, ...)."""
        return self.benchmark[1]

    @property
    def seeds(self) -> list[int]:
        return [int(s) for s in self.config.get("seeds", [0])]

    @property
    def proxies(self) -> list[str]:
        """Proxies of the run, in the order of its config (else of its rows)."""
        configured = list(self.config.get("proxies", {}))
        stored = list(dict.fromkeys(self.rows["proxy"])) if not self.rows.empty else []
        return configured or stored

    @property
    def is_ablation(self) -> bool:
        """Whether the run is one setting of an ablation.

        A run does not store this role: its manifest records an ordinary ``bench run``
        whose config differs from the reference in one setting, and which run is the
        reference is not stored either. So the folder it was written to decides (a path
        component named :data:`ABLATION_FOLDER`, as ``scripts/ablations.sh`` writes).
        """
        return ABLATION_FOLDER in self.path.parts

    @property
    def is_stability(self) -> bool:
        """Whether the config records two or more initialisation seeds."""
        return len(self.seeds) >= 2

    @property
    def n_archs_planned(self) -> int | None:
        value = self.config.get("num_archs")
        return int(value) if value is not None else None

    @property
    def n_archs_scored(self) -> int:
        return int(self.rows["arch_hash"].nunique()) if not self.rows.empty else 0

    @property
    def complete(self) -> bool:
        """Whether every planned architecture × proxy × seed has a stored row."""
        planned = self.n_archs_planned
        if planned is None:
            return True
        return len(self.rows) >= planned * len(self.seeds) * max(1, len(self.proxies))

    def label(self, proxy: str) -> str:
        return str(self.proxy_info.get(proxy, {}).get("label", proxy))

    def gradient_free(self, proxy: str) -> bool | None:
        value = self.proxy_info.get(proxy, {}).get("gradient_free")
        return None if value is None else bool(value)

    def values(self, seed: int | None = None) -> pd.DataFrame:
        """Architectures × proxies of one seed's values (NaN for failed values)."""
        seed = self.seeds[0] if seed is None else seed
        chosen = self.rows[self.rows["seed"].astype(int) == int(seed)]
        return chosen.pivot_table(index="arch_hash", columns="proxy", values="value", aggfunc="first", dropna=False)

    def reload_statistics(self) -> None:
        """Read the statistics files again (after a command stored one)."""
        self.correlations = optional_csv(self.path / schema.correlations_file("all"))
        self.table1 = optional_csv(self.path / schema.TABLE1)
        self.stability = optional_csv(self.path / schema.STABILITY)
        self.stratified = optional_csv(self.path / schema.stratified_file("all"))
        self.ceilings = optional_csv(self.path / schema.CEILINGS)
        self.ceiling_shares = optional_csv(self.path / schema.CEILING_SHARES)
        self.predictor = optional_csv(self.path / schema.PREDICTOR)


def load_run(path: Path, name: str, manifest: dict[str, Any] | None = None) -> ProxyRun:
    """Read one ``proxy-run`` directory (``manifest`` when the caller already parsed it).

    Raises:
        ValueError: when the manifest cannot be parsed or ``rows.csv`` holds no complete row.
    """
    manifest = read_json(path / schema.MANIFEST) if manifest is None else manifest
    rows = read_rows(path / schema.ROWS)
    if rows.empty:
        raise ValueError(f"{schema.ROWS} holds no complete row yet")
    truth = optional_csv(path / schema.GROUND_TRUTH, dtype={"arch_hash": str})
    info_path = path / schema.PROXY_INFO
    info = {item["proxy"]: item for item in read_json(info_path)} if info_path.is_file() else {}
    benchmark_path = path / schema.BENCHMARK_INFO
    benchmark = read_json(benchmark_path) if benchmark_path.is_file() else {}
    run = ProxyRun(path=path, name=name, manifest=manifest, rows=rows, truth=truth, proxy_info=info, proxy_info_stored=info_path.is_file(),
                   benchmark_info=benchmark if isinstance(benchmark, dict) else {})
    run.reload_statistics()
    return run
