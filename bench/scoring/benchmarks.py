"""A space's benchmarks as the harness uses them: which one a run means, and its entries.

Spaces declare their benchmarks (:meth:`spaces.base.SearchSpace.benchmarks`,
:class:`spaces.benchmark.Benchmark`) with the path of the data file inside the reference
data; the file is found and verified here (:func:`bench.data.resolve`), since spaces do not
import the harness.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from bench import data
from bench.errors import UserError


def default_benchmark(space):
    """The space's default benchmark (the first it declares).

    Raises:
        UserError: for a space without a benchmark.
    """
    benchmarks = space.benchmarks()
    if not benchmarks:
        raise UserError(f"space {space.name!r} has no trained benchmark; use --archs N or --archs FILE.json")
    return next(iter(benchmarks.values()))


def named_benchmark(space, name: str | None):
    """The benchmark called ``name`` (the default one for ``None``).

    Raises:
        UserError: for a name the space does not declare, listing the ones it does.
    """
    if name is None:
        return default_benchmark(space)
    benchmarks = space.benchmarks()
    if name not in benchmarks:
        known = ", ".join(benchmarks) or "none"
        raise UserError(f"unknown benchmark {name!r} of space {space.name!r}; allowed: {known}")
    return benchmarks[name]


def load_entries(benchmark, data_dir: str | None) -> list:
    """The entries of ``benchmark``, read from its resolved and verified data files.

    Every file of :attr:`spaces.benchmark.Benchmark.files` is resolved and verified too; they
    must be found in the same directory tree as the main file, which the loader reads them from.

    Raises:
        UserError: for a file that cannot be found or verified (:func:`bench.data.resolve`), or
            further files found somewhere else than the main file.
        SpaceError: for a file the benchmark's loader cannot read.
    """
    main = data.resolve(benchmark.file, data_dir)
    root = Path(str(main)[: -len(benchmark.file)])
    for relpath in benchmark.further_files(main):
        path = data.resolve(relpath, data_dir)
        if path != root / relpath:
            raise UserError(f"{relpath} was found at {path}, not beside {main}; keep the files of benchmark "
                            f"{benchmark.name!r} in one data directory")
    return benchmark.load(main)


def run_benchmark(config: Mapping[str, Any]):
    """The benchmark a stored run's ground truth comes from.

    The run's config names its space and, under ``archs``, the data file of the benchmark
    it selected from (``{"benchmark": file}`` or ``{"deciles": file}``); a file no benchmark
    of the space declares means the default benchmark.

    Raises:
        UserError: for a space without a benchmark.
    """
    from spaces import get_space

    space = get_space(config["space"])
    default = default_benchmark(space)
    archs = config.get("archs") or {}
    files = {archs.get(key) for key in ("benchmark", "deciles")} if isinstance(archs, Mapping) else set()
    return next((b for b in space.benchmarks().values() if b.file in files), default)


def benchmark_info(space: str, benchmark) -> dict[str, Any]:
    """What ``benchmark.json`` records of a run's benchmark: space, name, main task and its label, tasks."""
    return {"space": space, "name": benchmark.name, "main_task": benchmark.main_task, "main_label": benchmark.main_label, "tasks": list(benchmark.tasks)}


def main_task(config: Mapping[str, Any]) -> str:
    """The main ground-truth task of a stored run's benchmark (``glue`` for FlexiBERT, ``neg_valid_ppl`` for LTS)."""
    return run_benchmark(config).main_task
