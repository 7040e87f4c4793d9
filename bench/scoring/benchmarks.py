"""A space's benchmarks as the harness uses them: which one a run means, and its entries.

Spaces declare their benchmarks (:meth:`spaces.base.SearchSpace.benchmarks`,
:class:`spaces.benchmark.Benchmark`) with the path of the data file inside the reference
data; the file is found and verified here (:func:`bench.data.resolve`), since spaces do not
import the harness.
"""

from __future__ import annotations

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


def load_entries(benchmark, data_dir: str | None) -> list:
    """The entries of ``benchmark``, read from its resolved and verified data file.

    Raises:
        UserError: for a file that cannot be found or verified (:func:`bench.data.resolve`).
        SpaceError: for a file the benchmark's loader cannot read.
    """
    return benchmark.load(data.resolve(benchmark.file, data_dir))


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
