"""Find stored results under given paths, dispatching on the kind each manifest records.

A directory with a ``manifest.json`` is a result directory; what it holds is the
``kind`` of its manifest (:func:`bench.store.schema.kind_of`), never guessed from its name
or files:

* ``proxy-run`` -> :class:`~reports.load.runs.ProxyRun`;
* ``search`` -> :class:`~reports.load.nlu.SearchResult`;
* ``evaluation`` -> :class:`~reports.load.nlu.EvaluationResult`;
* ``spos-supernet`` and ``training`` hold nothing a report shows (their evaluations do)
  and are listed in :attr:`Results.skipped`, as is a manifest without a kind (written
  before kinds existed: ``python scripts/migrate_manifests.py`` adds it).

A result directory's files and sub-folders are its own (not searched further). Files
elsewhere are read by their content (:mod:`reports.load.loose`). A directory whose files
cannot be read yet (another process is writing them) is skipped with the reason.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd

from bench.errors import UserError
from bench.store import schema
from reports.load.files import read_json
from reports.load.loose import AblationFile, AcrossFile, CostFile, HeldoutSeedsFile, read_loose_file
from reports.load.nlu import EvaluationResult, SearchResult, load_evaluation, load_search
from reports.load.runs import ProxyRun, load_run

log = logging.getLogger(__name__)

#: What to run for a manifest that records no kind.
MIGRATE_COMMAND = "python scripts/migrate_manifests.py"


@dataclass
class Results:
    """Everything :func:`discover` found; ``skipped`` holds (name, reason) of what it could not use."""

    roots: list[Path]
    runs: list[ProxyRun] = field(default_factory=list)
    costs: list[CostFile] = field(default_factory=list)
    ablations: list[AblationFile] = field(default_factory=list)
    searches: list[SearchResult] = field(default_factory=list)
    evaluations: list[EvaluationResult] = field(default_factory=list)
    heldout_seeds: list[HeldoutSeedsFile] = field(default_factory=list)
    across: list[AcrossFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.runs or self.costs or self.ablations or self.searches or self.evaluations or self.heldout_seeds or self.across)

    def add_file(self, path: Path) -> None:
        """Add the loose result file at ``path`` (nothing when it holds no result)."""
        found = read_loose_file(path)
        if isinstance(found, CostFile):
            self.costs.append(found)
        elif isinstance(found, AblationFile):
            self.ablations.append(found)
        elif isinstance(found, HeldoutSeedsFile):
            self.heldout_seeds.append(found)
        elif isinstance(found, AcrossFile):
            self.across.append(found)


_READERS: dict[str, tuple[Callable[[Path, str, dict[str, Any]], Any], str]] = {
    schema.PROXY_RUN: (load_run, "runs"),
    schema.SEARCH: (load_search, "searches"),
    schema.EVALUATION: (load_evaluation, "evaluations"),
}
_NOT_SHOWN = {
    schema.SUPERNET: "a SPOS supernet: the report shows the searches and evaluations made with it",
    schema.TRAINING: "a training directory: the report shows its evaluation (`bench evaluate`)",
}


def read_result_dir(path: Path, name: str, results: Results) -> None:
    """Read the result directory ``path`` into ``results`` by its manifest's kind (else skip it, with why)."""
    try:
        manifest = read_json(path / schema.MANIFEST)
    except (ValueError, OSError) as exc:
        results.skipped.append((name, f"could not be read ({exc}); it may still be being written"))
        return
    kind = schema.kind_of(manifest) if isinstance(manifest, dict) else None
    if kind is None:
        results.skipped.append((name, f"its {schema.MANIFEST} records no kind (written before kinds existed); run `{MIGRATE_COMMAND} {path.parent}` to add it"))
        return
    if kind in _NOT_SHOWN:
        results.skipped.append((name, _NOT_SHOWN[kind]))
        return
    reader, attribute = _READERS[kind]
    try:
        getattr(results, attribute).append(reader(path, name, manifest))
    except (ValueError, KeyError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        results.skipped.append((name, f"could not be read ({exc}); it may still be being written"))


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
        if root.is_file():
            results.add_file(root)
            continue
        base = root.parent if (root / schema.MANIFEST).is_file() else root
        for current, dirs, files in os.walk(root):
            dirs.sort()
            here = Path(current).resolve()
            if here in seen:
                dirs[:] = []
                continue
            seen.add(here)
            name = str(Path(current).relative_to(base)) if base != Path(current) else Path(current).name
            if (Path(current) / schema.MANIFEST).is_file():
                read_result_dir(Path(current), name, results)
                dirs[:] = []  # a result directory's files and sub-folders (checkpoints, ...) are its own
                continue
            for file in sorted(files):
                results.add_file(Path(current) / file)
    log.info(
        "found %d run(s), %d cost file(s), %d ablation table(s), %d search(es), %d evaluation(s); %d skipped",
        len(results.runs), len(results.costs), len(results.ablations), len(results.searches), len(results.evaluations), len(results.skipped),
    )
    return results
