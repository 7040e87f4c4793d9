"""Find and read stored results for a report, without changing anything on disk.

A report is built from result directories only (never by recomputing a proxy). Given one
or more paths, :func:`discover` walks them and sorts what it finds:

* **proxy runs** (``bench run``): a directory with ``manifest.json`` and ``rows.csv``;
  ``ground_truth.csv``, ``proxies.json``, ``correlations.csv``, ``table1.csv`` and
  ``stability.csv`` are read when present. A run is an *ablation run* when a component of
  its path is named ``ablation``; a *stability run* when its config has two or more seeds.
* **cost files**: a JSON file with ``time_1000_evaluations_s`` and ``machine`` (written
  by ``scripts/benchmark_proxies.py``, normally ``results/benchmarks/proxy_cost.json``).
* **ablation tables**: a CSV with the columns ``run, setting, proxy, kendall_tau,
  spearman_rho`` (written by ``bench ablation ... --out``).
* **search results** (``bench search``): a directory with ``manifest.json``,
  :data:`SEARCH_BEST` and :data:`SEARCH_TRACE`.
* **evaluation results** (``bench evaluate``): a directory with ``manifest.json`` and
  :data:`EVAL_METRICS`.

Files another process is still writing are read as they are: a torn last line of
``rows.csv`` is ignored (not repaired), a directory whose manifest cannot be parsed yet is
listed in :attr:`Results.skipped` with the reason. ``docs/reports.md`` documents every
file name and column.

Example:
    >>> results = discover(["results"])            # doctest: +SKIP
    >>> [run.name for run in results.runs]         # doctest: +SKIP
    ['table1-trained-cpu', 'seed-stability-trained-cpu']
"""

from __future__ import annotations

import io
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from bench.errors import UserError
from bench.store.schema import GROUND_TRUTH, MANIFEST, PROXY_INFO, ROWS

log = logging.getLogger(__name__)

#: Best architecture of a search: JSON object (see docs/reports.md).
SEARCH_BEST = "best_arch.json"
#: Search trace: CSV with one row per generation (see docs/reports.md).
SEARCH_TRACE = "trace.csv"
#: Search summary: JSON with space, method, fitness, best, cost (optional).
SEARCH_SUMMARY = "summary.json"
#: Evaluation metrics: CSV with columns model, task, metric, value, split, ... (see docs/reports.md).
EVAL_METRICS = "metrics.csv"
ABLATION_COLUMNS = frozenset({"run", "setting", "proxy", "kendall_tau", "spearman_rho"})
#: Columns of a seed table written by ``scripts/heldout_seeds.py``.
HELDOUT_COLUMNS = frozenset({"model", "space", "seed", "heldout_kd_loss"})


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
        correlations, table1, stability: the statistics files when a command wrote them.
    """

    path: Path
    name: str
    manifest: dict[str, Any]
    rows: pd.DataFrame
    truth: pd.DataFrame | None
    proxy_info: dict[str, dict[str, Any]]
    proxy_info_stored: bool
    correlations: pd.DataFrame | None = None
    table1: pd.DataFrame | None = None
    stability: pd.DataFrame | None = None

    @property
    def config(self) -> dict[str, Any]:
        return self.manifest.get("config", {})

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
        return "ablation" in self.path.parts

    @property
    def is_stability(self) -> bool:
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
    """An ablation table written by ``bench ablation ... --out``."""

    path: Path
    table: pd.DataFrame


@dataclass
class HeldoutSeedsFile:
    """Held-out distillation losses over training seeds (``scripts/heldout_seeds.py``), with
    its paired comparisons (``<stem>-paired.csv`` beside it) when they were written."""

    path: Path
    table: pd.DataFrame
    paired: pd.DataFrame | None = None


@dataclass
class SearchResult:
    """A ``bench search`` directory (``bench/search_store.py``).

    Read: ``manifest.json``, :data:`SEARCH_BEST` (the best architecture's JSON form, for
    the NLU spaces a list of block indices), :data:`SEARCH_TRACE` (one row per generation:
    ``generation``, ``best_fitness`` (best so far), ``generation_mean``, ...) and, when
    present, :data:`SEARCH_SUMMARY` (space, method, fitness name and label, best
    architecture with its parameter counts, cost: wall seconds, device, evaluations).
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
        return str(self.summary.get("space") or self.config.get("space") or _split_name(self.path.name)[0])

    @property
    def method(self) -> str:
        """The fitness (a proxy name, or ``spos`` for any SPOS supernet fitness such as
        ``spos-mlm-loss``), which names the search in the tables."""
        fitness = self.summary.get("fitness") or {}
        config_fitness = self.config.get("fitness")
        if isinstance(config_fitness, dict):
            config_fitness = config_fitness.get("name")
        name = str(fitness.get("name") or config_fitness or self.config.get("proxy") or _split_name(self.path.name)[1])
        return "spos" if name.startswith("spos") else name

    @property
    def key(self) -> str:
        return f"{self.space}/{self.method}"

    @property
    def label(self) -> str:
        return str((self.summary.get("fitness") or {}).get("label") or self.method)

    @property
    def arch(self) -> Any:
        """The best architecture (the JSON of :data:`SEARCH_BEST`)."""
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

    Columns used (``bench/train/evaluate.py``): ``model``, ``task``, ``metric``, ``value``,
    ``split``, ``status`` and, to find which search a model came from, ``space`` and ``arch``.
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


@dataclass
class Results:
    """Everything :func:`discover` found."""

    roots: list[Path]
    runs: list[ProxyRun] = field(default_factory=list)
    costs: list[CostFile] = field(default_factory=list)
    ablations: list[AblationFile] = field(default_factory=list)
    searches: list[SearchResult] = field(default_factory=list)
    evaluations: list[EvaluationResult] = field(default_factory=list)
    heldout_seeds: list[HeldoutSeedsFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.runs or self.costs or self.ablations or self.searches or self.evaluations or self.heldout_seeds)


def _split_name(name: str) -> tuple[str, str]:
    """``nlu-small-w-pca`` -> (``nlu-small``, ``w-pca``): the space is the first two parts."""
    parts = name.split("-")
    if len(parts) >= 3 and parts[0] == "nlu":
        return "-".join(parts[:2]), "-".join(parts[2:])
    return name, ""


def read_complete_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    """A CSV another process may be appending to: everything after the last newline is ignored.

    The file is not modified (the writers cut a torn line themselves when they reopen it).
    """
    content = path.read_bytes()
    content = content[: content.rfind(b"\n") + 1]
    return pd.read_csv(io.BytesIO(content), **kwargs) if content.strip() else pd.DataFrame()


def read_rows(path: Path) -> pd.DataFrame:
    """Complete rows of a ``rows.csv`` another process may be appending to.

    Everything after the last newline (a row being written) is ignored; the file is not
    modified. Column types as :meth:`bench.store.runs.RunStore.rows`.
    """
    rows = read_complete_csv(path, dtype={"arch_hash": str, "proxy_version": str, "error": str}, keep_default_na=False, na_values={"value": ["nan", "NaN"]})
    if rows.empty:
        return pd.DataFrame(columns=["space", "arch_id", "arch_hash", "arch", "proxy", "proxy_version", "seed", "value", "seconds", "pass_seconds", "status", "error"])
    return rows


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _optional_csv(path: Path, **kwargs: Any) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None
    return frame if not frame.empty else None


def load_run(path: Path, name: str) -> ProxyRun:
    """Read one ``bench run`` directory.

    Raises:
        ValueError: when the manifest cannot be parsed or ``rows.csv`` holds no complete row.
    """
    manifest = _read_json(path / MANIFEST)
    rows = read_rows(path / ROWS)
    if rows.empty:
        raise ValueError("rows.csv holds no complete row yet")
    truth = _optional_csv(path / GROUND_TRUTH, dtype={"arch_hash": str})
    info_path = path / PROXY_INFO
    info = {item["proxy"]: item for item in _read_json(info_path)} if info_path.is_file() else {}  # type: ignore[union-attr]
    return ProxyRun(
        path=path,
        name=name,
        manifest=manifest,
        rows=rows,
        truth=truth,
        proxy_info=info,
        proxy_info_stored=info_path.is_file(),
        correlations=_optional_csv(path / "correlations.csv"),
        table1=_optional_csv(path / "table1.csv"),
        stability=_optional_csv(path / "stability.csv"),
    )


def load_search(path: Path, name: str) -> SearchResult:
    """Read one ``bench search`` directory (see docs/reports.md for the files)."""
    trace = pd.read_csv(path / SEARCH_TRACE, dtype={"best_arch": str})
    summary = _read_json(path / SEARCH_SUMMARY) if (path / SEARCH_SUMMARY).is_file() else {}
    best = json.loads((path / SEARCH_BEST).read_text(encoding="utf-8"))
    return SearchResult(path, name, _read_json(path / MANIFEST), best, trace, summary)


def load_evaluation(path: Path, name: str) -> EvaluationResult:
    """Read one ``bench evaluate`` directory (see docs/reports.md for the files)."""
    metrics = read_complete_csv(path / EVAL_METRICS, dtype={"arch": str, "split": str, "model": str}, keep_default_na=False, na_values={"value": [""]})
    missing = {"task", "metric", "value"} - set(metrics.columns)
    if missing:
        raise ValueError(f"{EVAL_METRICS} lacks the column(s) {', '.join(sorted(missing))}")
    return EvaluationResult(path, name, _read_json(path / MANIFEST), metrics)


def _csv_header(path: Path) -> set[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return {part.strip() for part in handle.readline().strip().split(",")}
    except (OSError, UnicodeDecodeError):
        return set()


def _classify_file(path: Path, name: str, results: Results) -> None:
    if path.suffix == ".json":
        try:
            data = _read_json(path)
        except (json.JSONDecodeError, UnicodeDecodeError, OSError):
            return
        if isinstance(data, dict) and "time_1000_evaluations_s" in data and "machine" in data:
            results.costs.append(CostFile(path, data))
    elif path.suffix == ".csv":
        header = _csv_header(path)
        is_ablation, is_heldout = ABLATION_COLUMNS <= header, HELDOUT_COLUMNS <= header
        table = _optional_csv(path) if is_ablation or is_heldout else None
        if table is None:
            return
        if is_ablation:
            results.ablations.append(AblationFile(path, table))
        else:
            results.heldout_seeds.append(HeldoutSeedsFile(path, table, _optional_csv(path.with_name(f"{path.stem}-paired.csv"))))


def _classify_dir(path: Path, name: str, results: Results) -> bool:
    """Read ``path`` if it is a result directory; ``True`` when it was one (or tried)."""
    if not (path / MANIFEST).is_file():
        return False
    try:
        if (path / SEARCH_BEST).is_file() and (path / SEARCH_TRACE).is_file():
            results.searches.append(load_search(path, name))  # a search directory also holds rows.csv (its cache)
        elif (path / ROWS).is_file():
            results.runs.append(load_run(path, name))
        elif (path / EVAL_METRICS).is_file():
            results.evaluations.append(load_evaluation(path, name))
        else:
            results.skipped.append((name, f"has {MANIFEST} but no {ROWS}, {SEARCH_BEST} + {SEARCH_TRACE}, or {EVAL_METRICS} (yet)"))
    except (ValueError, KeyError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        results.skipped.append((name, f"could not be read ({exc}); it may still be being written"))
    return True


def discover(paths: Iterable[str | os.PathLike]) -> Results:
    """Find every stored result under ``paths`` (directories, or result files).

    Raises:
        UserError: when a path does not exist.
    """
    roots = [Path(p) for p in paths]
    results = Results(roots=roots)
    seen: set[Path] = set()
    for root in roots:
        if not root.exists():
            raise UserError(f"{root} does not exist; give run directories made by `bench run`, or a folder holding them such as results/")
        base = root.parent if root.is_dir() and (root / MANIFEST).is_file() else root
        if root.is_file():
            _classify_file(root, root.name, results)
            continue
        for current, dirs, files in os.walk(root):
            dirs.sort()
            here = Path(current).resolve()
            if here in seen:
                dirs[:] = []
                continue
            seen.add(here)
            name = str(Path(current).relative_to(base)) if base != Path(current) else Path(current).name
            if _classify_dir(Path(current), name, results):
                dirs[:] = []  # a result directory's files and sub-folders (checkpoints, ...) are its own
                continue
            for file in sorted(files):
                _classify_file(Path(current) / file, str(Path(name) / file), results)
    log.info(
        "found %d run(s), %d cost file(s), %d ablation table(s), %d search(es), %d evaluation(s); %d skipped",
        len(results.runs), len(results.costs), len(results.ablations), len(results.searches), len(results.evaluations), len(results.skipped),
    )
    return results
