"""Search directories: the crash-safe record of one architecture search.

A search directory is a run directory (:class:`bench.store.runs.RunStore`) plus the search's
own files:

``manifest.json``   command, config (space, method, GA settings, fitness with its version,
                    options, batch and data checksums, seed), versions, git revision,
                    device, start time. A rerun with a different config is refused.
``rows.csv``        the evaluation cache: one row per architecture scored, keyed by
                    (space, architecture hash, fitness name, fitness version, seed) and
                    appended (write + fsync) as soon as the architecture is scored. The
                    fitness options and the batch are fixed by the manifest, so the key
                    identifies the computation. A value is never computed twice: a
                    resumed search reads every stored value back (exactly: floats are
                    stored with ``repr``) instead of recomputing it.
``proxies.json``    label, version and direction of the fitness.
``trace.csv``       one row per finished generation (best so far, generation best and
                    mean, resampled children, computed and cached evaluations, seconds),
                    rewritten atomically after every generation.
``population.csv``  every architecture proposed, with its generation, origin and fitness.
``summary.json``    the state of the search: settings, best architecture with both
                    parameter counts, the top architectures, cost per session (wall time,
                    CPU time of the main process, device, evaluations computed, cache hits,
                    prefix-reuse statistics), written atomically after every generation.
``best_arch.json``  the best architecture as its JSON form (``space.parse`` reads it).
``top_archs.json``  the ``select`` best architectures as a list (``bench run --archs`` reads it).

Interrupting a search at any point and rerunning the same command replays the finished
generations from the cache (their random choices are derived from the seed and the
generation number) and continues where the search stopped, with the result an
uninterrupted search gives.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from bench.store import schema
from bench.store.runs import RunStore
from bench.store.writer import write_atomic



@dataclass(frozen=True)
class Evaluation:
    """A stored fitness value and its status (``ok``, ``nan`` or ``error``)."""

    value: float
    status: str

    @property
    def valid(self) -> bool:
        """Whether the value can rank the architecture (finite and computed without error)."""
        return self.status == "ok" and math.isfinite(self.value)


def clean_json(obj: Any) -> Any:
    """``obj`` with non-finite floats replaced by ``None`` (strict JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    return obj


class SearchStore:
    """One search directory (see the module docstring)."""

    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.dir = Path(out_dir)
        self.runs = RunStore(self.dir)

    def open(self, config: Mapping[str, Any], command: list[str]) -> bool:
        """Start the search or resume it; ``True`` when resuming.

        Raises:
            UserError: when the directory holds another config or is not a search directory.
        """
        return self.runs.open(config, command, kind=schema.SEARCH)

    def manifest(self) -> dict[str, Any]:
        return self.runs.manifest()

    def cached(self, space: str, fitness: str, version: str, seed: int) -> dict[str, Evaluation]:
        """Architecture hash -> stored evaluation of this fitness, version and seed."""
        rows = self.runs.rows()
        if rows.empty:
            return {}
        keep = rows[(rows["space"] == space) & (rows["proxy"] == fitness) & (rows["proxy_version"].astype(str) == str(version)) & (rows["seed"].astype(int) == int(seed))]
        return {
            str(r.arch_hash): Evaluation(float(r.value), str(r.status))
            for r in keep[["arch_hash", "value", "status"]].itertuples(index=False)
        }

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append scored rows (one write and fsync)."""
        self.runs.append(rows)

    def record_failures(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Keep rows that failed for a reason that may not recur out of the cache (``failures.csv``)."""
        self.runs.record_failures(rows)

    def write_proxy_info(self, info: list[dict[str, Any]]) -> None:
        self.runs.write_proxy_info(info)

    def write_table(self, name: str, records: list[dict[str, Any]], columns: list[str]) -> None:
        """Rewrite ``trace.csv`` or ``population.csv`` atomically."""
        frame = pd.DataFrame(records, columns=columns)
        write_atomic(self.dir / name, frame.to_csv(index=False))

    def trace(self) -> pd.DataFrame:
        """The stored per-generation trace (empty before the first generation ends)."""
        path = self.dir / schema.TRACE
        if not path.is_file():
            return pd.DataFrame()
        return pd.read_csv(path, dtype={"best_arch": str})

    def summary(self) -> dict[str, Any] | None:
        """The stored summary, or ``None`` before the first generation ends."""
        path = self.dir / schema.SUMMARY
        if not path.is_file():
            return None
        return json.loads(path.read_text())

    def write_summary(self, summary: Mapping[str, Any]) -> None:
        write_atomic(self.dir / schema.SUMMARY, json.dumps(clean_json(summary), indent=2) + "\n")

    def write_best(self, best: list[int] | Any, top: list[Any]) -> None:
        """Write the best architecture's JSON form and the list of the top architectures."""
        write_atomic(self.dir / schema.BEST, json.dumps(best) + "\n")
        write_atomic(self.dir / schema.TOP, json.dumps(top) + "\n")
