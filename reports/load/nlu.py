"""Searches (kind ``search``) and evaluations (kind ``evaluation``) as a report reads them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench.store import schema
from reports.load.files import read_complete_csv, read_json


@dataclass
class SearchResult:
    """A ``bench search`` / ``bench spos search`` directory (``bench/store/search.py``).

    Read: ``manifest.json``, :data:`~bench.store.schema.BEST` (the best architecture's JSON
    form, for the NLU spaces a list of block indices), :data:`~bench.store.schema.TRACE`
    (one row per generation: ``generation``, ``best_fitness`` (best so far),
    ``generation_mean``, ...) and, when present, :data:`~bench.store.schema.SUMMARY`
    (space, method, fitness name and label, best architecture with its parameter counts,
    cost: wall seconds, device, evaluations).
    """

    path: Path
    name: str
    manifest: dict[str, Any]
    best: Any
    trace: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        return self.manifest.get("config", {})

    @property
    def space(self) -> str:
        """The search space, from the summary, else the config (``unknown`` when neither records it)."""
        return str(self.summary.get("space") or self.config.get("space") or "unknown")

    @property
    def method(self) -> str:
        """The fitness (a proxy name, or ``spos`` for any SPOS supernet fitness such as
        ``spos-mlm-loss``), which names the search in the tables.

        From the summary's ``fitness.name``, else the config's ``fitness`` (a name, or a
        proxy fitness's ``name`` / ``proxy``), else the config's ``proxy``.
        """
        fitness = self.summary.get("fitness") or {}
        config_fitness = self.config.get("fitness")
        if isinstance(config_fitness, dict):
            config_fitness = config_fitness.get("name") or config_fitness.get("proxy")
        name = str(fitness.get("name") or config_fitness or self.config.get("proxy") or "unknown")
        return "spos" if name.startswith("spos") else name

    @property
    def key(self) -> str:
        return f"{self.space}/{self.method}"

    @property
    def label(self) -> str:
        return str((self.summary.get("fitness") or {}).get("label") or self.method)

    @property
    def algorithm(self) -> str:
        """How the search proposed architectures: ``ga`` (the paper's genetic search) or ``random``."""
        return str(self.config.get("method") or "ga")

    @property
    def display(self) -> str:
        """``W-PCA (nlu-small)``, or ``W-PCA, random search (nlu-small)`` for a non-genetic search."""
        how = "" if self.algorithm == "ga" else f", {self.algorithm} search"
        return f"{self.label}{how} ({self.space})"

    @property
    def arch(self) -> Any:
        """The best architecture (the JSON of :data:`~bench.store.schema.BEST`)."""
        best = (self.summary.get("best") or {}).get("arch")
        return best if best is not None else self.best

    @property
    def best_fitness(self) -> float | None:
        value = (self.summary.get("best") or {}).get("fitness")
        if value is None and "best_fitness" in self.trace and len(self.trace):
            value = self.trace["best_fitness"].iloc[-1]
        return None if value is None else float(value)

    @property
    def params(self) -> float | None:
        """Parameter count of the best architecture (the reference's accounting when stored)."""
        best = self.summary.get("best") or {}
        value = best.get("params_official", best.get("params_built"))
        return None if value is None else float(value)

    @property
    def cost(self) -> dict[str, Any]:
        return self.summary.get("cost") or {}

    @property
    def wall_seconds(self) -> float | None:
        value = self.cost.get("wall_seconds")
        if value is None and "seconds" in self.trace and len(self.trace):
            value = float(self.trace["seconds"].sum())
        return None if value is None else float(value)

    @property
    def device(self) -> str:
        return str(self.cost.get("device") or self.manifest.get("device") or "device not recorded")


@dataclass
class EvaluationResult:
    """A ``bench evaluate`` directory: ``metrics.csv`` rows of one or more trained models.

    Columns used (:data:`bench.store.schema.METRIC_FIELDS`): ``model``, ``task``, ``metric``,
    ``value``, ``split``, ``status`` and, to find which search a model came from, ``space``
    and ``arch``.
    """

    path: Path
    name: str
    manifest: dict[str, Any]
    metrics: pd.DataFrame

    def models(self) -> list[str]:
        return list(dict.fromkeys(self.metrics["model"].astype(str))) if "model" in self.metrics else [self.path.name]

    def rows_for(self, space: str, arch: Any = None, model: str | None = None) -> pd.DataFrame:
        """The rows of the model trained on ``arch`` in ``space`` (else the model named
        ``model``): its scores (status ``ok``) and the tasks stored as ``missing`` (no value;
        ``note`` says why)."""
        frame = self.metrics
        if "status" in frame:
            frame = frame[frame["status"].astype(str).isin(["ok", "", "missing"])]
        if arch is not None and {"space", "arch"} <= set(frame.columns):
            same = frame[(frame["space"].astype(str) == space) & frame["arch"].map(lambda a: _same_arch(a, arch))]
            if not same.empty:
                return same
        if model is not None and "model" in frame:
            return frame[frame["model"].astype(str) == model]
        return frame.iloc[0:0]


def _same_arch(stored: Any, arch: Any) -> bool:
    try:
        return json.loads(stored) == arch if isinstance(stored, str) else stored == arch
    except json.JSONDecodeError:
        return False


def load_search(path: Path, name: str, manifest: dict[str, Any] | None = None) -> SearchResult:
    """Read one ``search`` directory (see docs/reports.md for the files).

    Raises:
        ValueError, OSError: when a file is absent or cannot be parsed yet.
    """
    manifest = read_json(path / schema.MANIFEST) if manifest is None else manifest
    trace = pd.read_csv(path / schema.TRACE, dtype={"best_arch": str})
    summary = read_json(path / schema.SUMMARY) if (path / schema.SUMMARY).is_file() else {}
    best = read_json(path / schema.BEST)
    return SearchResult(path, name, manifest, best, trace, summary)


def load_evaluation(path: Path, name: str, manifest: dict[str, Any] | None = None) -> EvaluationResult:
    """Read one ``evaluation`` directory (see docs/reports.md for the files).

    Raises:
        ValueError, OSError: when ``metrics.csv`` is absent or lacks a needed column.
    """
    manifest = read_json(path / schema.MANIFEST) if manifest is None else manifest
    metrics = read_complete_csv(path / schema.METRICS, dtype={"arch": str, "split": str, "model": str}, keep_default_na=False, na_values={"value": [""]})
    missing = {"task", "metric", "value"} - set(metrics.columns)
    if missing:
        raise ValueError(f"{schema.METRICS} lacks the column(s) {', '.join(sorted(missing))}")
    return EvaluationResult(path, name, manifest, metrics)
