"""Result files outside result directories, recognised by their content (they have no manifest).

* **cost files**: a JSON object with ``time_1000_evaluations_s`` and ``machine`` (written by
  ``scripts/benchmark_proxies.py``, normally ``results/benchmarks/proxy_cost.json``);
* **ablation tables**: a CSV whose header holds :data:`bench.store.schema.ABLATION_COLUMNS`
  (written by ``bench ablation ... --out``, or stored by ``bench report``);
* **seed tables**: a CSV whose header holds :data:`bench.store.schema.HELDOUT_COLUMNS`
  (``scripts/heldout_seeds.py``), with ``<stem>-paired.csv`` beside it when written;
* **cross-benchmark tables**: a CSV whose header holds :data:`bench.store.schema.ACROSS_COLUMNS`
  (``bench across``), with ``<stem>-summary.csv`` beside it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bench.store import schema
from reports.load.files import bootstrap_settings, csv_header, optional_csv, read_json, written_by_report

log = logging.getLogger(__name__)


@dataclass
class CostFile:
    """``proxy_cost.json``: per-proxy cost measured by ``scripts/benchmark_proxies.py``."""

    path: Path
    data: dict[str, Any]

    @property
    def machine(self) -> str:
        return str(self.data.get("machine", "unknown machine"))

    @property
    def time_1000(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.data.get("time_1000_evaluations_s", {}).items()}


@dataclass
class AblationFile:
    """An ablation table: written by ``bench ablation ... --out``, or stored by ``bench report``
    from the ablation runs (:attr:`by_report`; then ``n_boot`` records its bootstrap)."""

    path: Path
    table: pd.DataFrame

    @property
    def by_report(self) -> bool:
        return written_by_report(self.table)

    @property
    def n_boot(self) -> int | None:
        return bootstrap_settings(self.table)[0]


@dataclass
class HeldoutSeedsFile:
    """Held-out distillation losses over training seeds (``scripts/heldout_seeds.py``), with
    its paired comparisons (``<stem>-paired.csv`` beside it) when they were written."""

    path: Path
    table: pd.DataFrame
    paired: pd.DataFrame | None = None


@dataclass
class AcrossFile:
    """Every proxy on several benchmarks (``bench across``), with its per-proxy summary when found."""

    path: Path
    table: pd.DataFrame
    summary: pd.DataFrame | None = None


def read_ablation(path: Path) -> AblationFile | None:
    """The ablation table at ``path``, or ``None`` when it is not one (or cannot be read)."""
    if not schema.ABLATION_COLUMNS <= csv_header(path):
        return None
    table = optional_csv(path)
    return None if table is None else AblationFile(path, table)


def read_loose_file(path: Path) -> CostFile | AblationFile | HeldoutSeedsFile | AcrossFile | None:
    """What the file at ``path`` holds, by its content; ``None`` for anything else."""
    if path.suffix == ".json":
        try:
            data = read_json(path)
        except (json.JSONDecodeError, UnicodeDecodeError, OSError):
            return None
        if isinstance(data, dict) and "time_1000_evaluations_s" in data and "machine" in data:
            return CostFile(path, data)
        return None
    if path.suffix != ".csv":
        return None
    header = csv_header(path)
    if schema.ABLATION_COLUMNS <= header:
        return read_ablation(path)
    if schema.HELDOUT_COLUMNS <= header:
        table = optional_csv(path)
        return None if table is None else HeldoutSeedsFile(path, table, optional_csv(path.with_name(f"{path.stem}-paired.csv")))
    if schema.ACROSS_COLUMNS <= header:
        table = optional_csv(path)
        return None if table is None else AcrossFile(path, table, optional_csv(path.with_name(f"{path.stem}-summary.csv")))
    return None
