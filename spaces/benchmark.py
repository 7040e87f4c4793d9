"""Declarations of a space's benchmarks: trained architectures with ground-truth scores.

A space lists its benchmarks in :meth:`spaces.base.SearchSpace.benchmarks`. A benchmark names
its data file by its path inside the reference data (the harness finds and verifies it,
``bench.data.resolve``; the file must be listed there with its published checksum) and
gives the loader that reads the resolved file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class BenchmarkEntry:
    """One trained architecture of a benchmark with its scores (task -> score)."""

    id: int
    arch: Any
    scores: dict[str, float]


@dataclass(frozen=True)
class Benchmark:
    """A set of trained architectures of one space with their ground-truth scores.

    Attributes:
        name: the benchmark's name inside its space.
        file: the data file's path inside the reference data (e.g. ``flexibert/BERT_benchmark.json``).
        load: ``resolved path -> entries``; every entry has a score for every task in ``tasks``;
            raises SpaceError for a file it cannot read.
        tasks: the ground-truth tasks, the main task first.
        main_task: the task architectures are ranked by (e.g. a mean over the others).
        main_label: how messages name the main task (e.g. ``GLUE mean``).
        files: further data files the loader reads, by their paths inside the reference data,
            or a function of the resolved ``file`` that lists them (when ``file`` is their
            index); they are found and verified in the same directory tree as ``file`` before
            ``load`` is called with the resolved ``file``.

    Scores are oriented so that higher is better: a benchmark whose measure is better when
    lower (perplexity) stores it negated under a task name that says so (``neg_valid_ppl``).
    """

    name: str
    file: str
    load: Callable[[Path], list[BenchmarkEntry]]
    tasks: tuple[str, ...]
    main_task: str
    main_label: str
    files: tuple[str, ...] | Callable[[Path], tuple[str, ...]] = ()

    def further_files(self, resolved: Path) -> tuple[str, ...]:
        """The paths of :attr:`files` for the resolved main file."""
        return self.files(resolved) if callable(self.files) else tuple(self.files)

    def __post_init__(self) -> None:
        if not self.tasks or self.tasks[0] != self.main_task:
            raise ValueError(f"benchmark {self.name!r}: the main task {self.main_task!r} must come first in tasks {self.tasks}")
