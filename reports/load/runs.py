"""Proxy runs (kind ``proxy-run``, made by ``bench run``) as a report reads them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from bench.store import schema
from reports.load.files import optional_csv, read_json, read_rows

#: Name of the folder that holds ablation runs (``scripts/ablations.sh`` writes ``results/ablation/<setting>``).
ABLATION_FOLDER = "ablation"


def is_ablation_folder(name: str) -> bool:
    """Whether a folder holds ablation runs: it is named :data:`ABLATION_FOLDER` or ends in ``-ablation`` (``lts-ablation``)."""
    return name == ABLATION_FOLDER or name.endswith(f"-{ABLATION_FOLDER}")


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
        parts: for companion runs joined into one (:func:`join_companions`), the runs joined;
            empty for a run read from one directory.
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
    parts: list["ProxyRun"] = field(default_factory=list)

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
    def n_entries(self) -> int:
        """Benchmark entries with a finite main-task score whose architecture has stored rows (the
        ``n`` every statistic over all of them was made from)."""
        if self.truth is None or self.rows.empty:
            return 0
        truth = self.truth[(self.truth["task"].astype(str) == self.main_task) & self.truth["arch_hash"].isin(set(self.rows["arch_hash"]))]
        return int(pd.to_numeric(truth["score"], errors="coerce").notna().sum())

    @property
    def benchmark_label(self) -> str:
        """``space:name`` of the benchmark, as ``bench across`` names it (``flexibert:bert-benchmark``)."""
        return f"{self.config.get('space', '?')}:{self.benchmark[0]}"

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
        if self.parts:
            return [p for part in self.parts for p in part.proxies]
        configured = list(self.config.get("proxies", {}))
        stored = list(dict.fromkeys(self.rows["proxy"])) if not self.rows.empty else []
        return configured or stored

    @property
    def is_ablation(self) -> bool:
        """Whether the run is one setting of an ablation.

        A run does not store this role: its manifest records an ordinary ``bench run``
        whose config differs from the reference in one setting, and which run is the
        reference is not stored either. So the folder it was written to decides (a path
        component named as :func:`is_ablation_folder` says, as ``scripts/ablations.sh`` writes and
        ``results/lts-ablation/`` holds).
        """
        return any(is_ablation_folder(part) for part in self.path.parts)

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
        if self.parts:
            return all(part.complete for part in self.parts)
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
        if self.parts:
            for part in self.parts:
                part.reload_statistics()
            self._join_statistics()
            return
        self.correlations = optional_csv(self.path / schema.correlations_file("all"))
        self.table1 = optional_csv(self.path / schema.TABLE1)
        self.stability = optional_csv(self.path / schema.STABILITY)
        self.stratified = optional_csv(self.path / schema.stratified_file("all"))
        self.ceilings = optional_csv(self.path / schema.CEILINGS)
        self.ceiling_shares = optional_csv(self.path / schema.CEILING_SHARES)
        self.predictor = optional_csv(self.path / schema.PREDICTOR)

    def _join_statistics(self) -> None:
        """The parts' statistics as one run's: the tables the parts store are joined (a proxy's row from
        the first part that has it; a table an analysis command wrote into the first part for all the
        companion runs covers them alone); ceilings and predictor curves come from the first part storing
        them (the one with the most proxies: ``bench ceiling`` / ``bench predictor`` given all the
        companion runs write into the first)."""
        def joined(name: str, keys: list[str]) -> pd.DataFrame | None:
            tables = [t for t in (getattr(part, name) for part in self.parts) if t is not None]
            if not tables:
                return None
            frame = pd.concat(tables, ignore_index=True)
            return frame.drop_duplicates([k for k in keys if k in frame.columns])

        def first(name: str) -> pd.DataFrame | None:
            return next((getattr(part, name) for part in self.parts if getattr(part, name) is not None), None)

        self.correlations = joined("correlations", ["seed", "split", "proxy", "task"])
        self.table1 = joined("table1", ["proxy"])
        self.stability = None
        self.stratified = joined("stratified", ["proxy", "task", "split"])
        self.ceilings = first("ceilings")
        self.ceiling_shares = joined("ceiling_shares", ["proxy", "task", "sigma_source"])
        self.predictor = first("predictor")


def proxy_labels(runs: list[ProxyRun]) -> dict[str, str]:
    """Proxy name -> the label its runs stored (the first run that has it)."""
    labels: dict[str, str] = {}
    for run in runs:
        for proxy in run.proxy_info:
            labels.setdefault(proxy, run.label(proxy))
    return labels


def _companion_key(run: ProxyRun) -> tuple[Any, ...]:
    config = {k: v for k, v in run.config.items() if k != "proxies"}
    return (json.dumps(config, sort_keys=True, default=str), tuple(sorted(set(run.rows["arch_hash"]))))


def join_companions(runs: list[ProxyRun]) -> list[ProxyRun]:
    """Runs of one benchmark made with the same config except their proxies (disjoint), over the same
    architectures, joined into one run (e.g. the registered proxies and the size baselines of one
    benchmark, scored as two runs); the others as they are, in the given order.

    The joined run's rows, proxy info and statistics are those of its parts (most proxies first);
    its path and manifest are the first part's; :attr:`ProxyRun.parts` lists them all.
    """
    groups: dict[tuple[Any, ...], list[ProxyRun]] = {}
    for run in runs:
        groups.setdefault(_companion_key(run), []).append(run)
    out: list[ProxyRun] = []
    for group in groups.values():  # in the order of each group's first run
        proxies = [set(r.rows["proxy"]) for r in group]
        disjoint = sum(len(p) for p in proxies) == len(set().union(*proxies))
        if len(group) == 1 or not disjoint:
            out.extend(group)
            continue
        parts = sorted(group, key=lambda r: (-r.rows["proxy"].nunique(), r.name))
        head = parts[0]
        info: dict[str, dict[str, Any]] = {}
        for part in parts:
            info.update({k: v for k, v in part.proxy_info.items() if k not in info})
        merged = ProxyRun(path=head.path, name=" + ".join(p.name for p in parts), manifest=head.manifest,
                          rows=pd.concat([p.rows for p in parts], ignore_index=True), truth=head.truth, proxy_info=info,
                          proxy_info_stored=all(p.proxy_info_stored for p in parts), benchmark_info=head.benchmark_info, parts=parts)
        merged._join_statistics()
        out.append(merged)
    return out


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
