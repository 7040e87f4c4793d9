"""Score architectures with proxies into a run directory.

:func:`run` selects the architectures (:func:`select_archs`), opens the store, plans the
(architecture, seed) tasks whose rows are missing (:func:`plan_tasks`), hands them to a
backend (:mod:`bench.scoring.backends`; each task is :func:`bench.scoring.score.score_task`)
and appends each task's rows in one write. Rows already in the store are skipped, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tqdm import tqdm

from bench import data
from bench.cli.argtypes import read_arch_json
from bench.errors import UserError
from bench.inputs import TEXT_FILES
from bench.seeding import derive_rng, derive_seed
from bench.config import RunConfig, ScoringSettings
from bench.scoring.backends import LostTask, WorkersLost, check_backend, execute
from bench.scoring.score import Task
from bench.store import schema
from bench.store.runs import RunStore
from proxies.capture import TRANSIENT

log = logging.getLogger(__name__)

@dataclass
class ArchSelection:
    """The architectures of a run and, for benchmark runs, their ground truth and its data file."""

    archs: list[Any]
    description: Any
    ground_truth: list[dict[str, Any]] = field(default_factory=list)
    data_files: tuple[str, ...] = ()
    benchmark: dict[str, Any] = field(default_factory=dict)


def select_archs(space, spec: str, limit: int | None, sample_seed: int, data_dir: str | None) -> ArchSelection:
    """Resolve ``--archs``: ``benchmark[:NAME]``, ``deciles[:NAME]``, a count ``N`` sampled uniformly, or a JSON file.

    ``benchmark`` and ``deciles`` read the space's benchmark called NAME, or its default one
    (:func:`bench.scoring.benchmarks.named_benchmark`; FlexiBERT's: GLUE mean, 8 tasks).
    ``--limit K`` keeps K architectures: for ``benchmark`` they are spread evenly over the
    ranking by the benchmark's main task, so a small subset still spans the whole score range.
    ``deciles`` is one benchmark architecture per main-task decile, the one at the middle
    of the decile (the seed-stability set of the paper's Figure 4).

    Raises:
        UserError: for a bad spec, an unreadable file or a space without a benchmark.
    """
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be a positive integer, got {limit}")
    kind, _, name = spec.partition(":")
    if kind in ("benchmark", "deciles"):
        from bench.scoring.benchmarks import benchmark_info, load_entries, named_benchmark
        from spaces import arch_hash

        benchmark = named_benchmark(space, name or None)
        spec = kind
        entries = load_entries(benchmark, data_dir)
        ranked = sorted(entries, key=lambda e: (e.scores[benchmark.main_task], e.id))
        if spec == "deciles":
            picks = [int((k + 0.5) * len(ranked) / 10) for k in range(10)]
            entries = [ranked[i] for i in picks][: limit or None]
        elif limit is not None and limit < len(entries):
            picks = np.unique(np.round(np.linspace(0, len(ranked) - 1, limit)).astype(int))
            entries = sorted((ranked[i] for i in picks), key=lambda e: e.id)
        truth = [
            {"bench_id": e.id, "arch_hash": arch_hash(e.arch), "task": task, "score": score}
            for e in entries
            for task, score in e.scores.items()
        ]
        archs = list(dict.fromkeys(e.arch for e in entries))
        return ArchSelection(archs, {spec: benchmark.file, "limit": limit}, truth, (benchmark.file,), benchmark_info(space.name, benchmark))
    if spec.isdigit():
        count = int(spec)
        if count < 1:
            raise UserError("--archs N needs N >= 1")
        rng = derive_rng(sample_seed, "sample-archs", space.name)
        chosen: dict[Any, None] = {}
        while len(chosen) < min(count, space.size()):
            chosen[space.sample(rng)] = None
        archs = list(chosen)[: limit or None]
        return ArchSelection(archs, {"sample": count, "limit": limit})
    path = Path(spec)
    if not path.is_file():
        raise UserError(f"--archs {spec!r} is neither 'benchmark[:NAME]', 'deciles[:NAME]', a number, nor an existing JSON file")
    raw = read_arch_json(path, "--archs")
    items = raw if isinstance(raw, list) else [raw]
    archs = []
    for position, item in enumerate(items):
        try:
            archs.append(space.parse(item))
        except ValueError as exc:
            raise UserError(f"{path}, architecture {position}: {exc}") from exc
    archs = list(dict.fromkeys(archs))[: limit or None]
    from spaces import arch_json

    digest = derive_seed(0, "arch-file", *[arch_json(a) for a in archs])
    return ArchSelection(archs, {"file": str(path), "digest": f"{digest:016x}", "limit": limit})


def proxy_info(names: Sequence[str]) -> list[dict[str, Any]]:
    """What reports need to know about the run's proxies (labels, direction, gradient use)."""
    from proxies import get_proxy

    return [
        {
            "proxy": spec.name,
            "label": spec.label,
            "version": spec.version,
            "gradient_free": spec.gradient_free,
            "higher_is_better": spec.higher_is_better,
            "description": spec.description,
        }
        for spec in (get_proxy(name) for name in names)
    ]


def plan_tasks(space, selection: ArchSelection, seeds: Sequence[int], settings: ScoringSettings, done: set[tuple[str, ...]]) -> tuple[list[Task], int]:
    """Tasks with at least one missing row, and the number of (arch, seed) pairs already complete."""
    from proxies import get_proxy
    from spaces import arch_hash, arch_json

    tasks, complete = [], 0
    for arch in selection.archs:
        digest, text, index = arch_hash(arch), arch_json(arch), space.index_of(arch)
        for seed in seeds:
            missing = tuple(
                name
                for name in settings.proxies
                if (settings.space, digest, name, get_proxy(name).version, str(seed)) not in done
            )
            if missing:
                tasks.append(Task(text, digest, index, seed, missing))
            else:
                complete += 1
    return tasks, complete


class IncompleteRun(UserError):
    """Some tasks failed for a reason that may not recur; the rest is stored and a rerun retries them."""


def failure_summary(messages: Sequence[str], limit: int = 3) -> str:
    """The most frequent failure messages with their counts, e.g. ``"MemoryError: ... (x3)"``."""
    counts = Counter(message.splitlines()[0][:200] if message else "(no message)" for message in messages)
    shown = "; ".join(f"{message} (x{count})" for message, count in counts.most_common(limit))
    return shown + (f"; and {len(counts) - limit} other reason(s)" if len(counts) > limit else "")


def run(config: RunConfig, out_dir: str | os.PathLike, *, command: list[str] | None = None, progress: bool = True) -> RunStore:
    """Run (or resume) a scoring run and return its store.

    Everything every architecture needs (the config's settings, the architectures, the text
    file, the vocabulary, the proxy input, plug-ins, the dask workers' environment) is checked
    before the run directory is opened, so a problem there writes nothing. One run at a time
    holds the directory. Rows whose failure may not recur (status ``transient``: out of memory)
    go to ``failures.csv`` instead of ``rows.csv``; tasks of a lost worker store nothing; both
    are scored again by a rerun.

    Raises:
        UserError: for a bad setting, a problem of the environment, a directory that holds
            another run or is in use by another process.
        IncompleteRun: after storing everything else, when tasks failed transiently or were lost.
    """
    from spaces import get_space

    settings = config.settings()
    space = get_space(config.space)
    selection = select_archs(space, config.archs, config.limit, config.sample_seed, config.data_dir)
    data.resolve(TEXT_FILES[config.text], config.data_dir)
    check_backend(settings, config.backend, config.scheduler)
    checksums = data.data_checksums([TEXT_FILES[settings.text], *selection.data_files])
    store = RunStore(out_dir)
    manifest_config = config.to_manifest(settings, selection.description, len(selection.archs), checksums)
    with store.hold():
        resumed = store.open(manifest_config, command or [], kind=schema.PROXY_RUN)
        invocation = store.begin_invocation()
        if selection.ground_truth:
            store.write_ground_truth(selection.ground_truth)
            store.write_benchmark_info(selection.benchmark)
        store.write_proxy_info(proxy_info(settings.proxies))
        tasks, complete = plan_tasks(space, selection, config.seeds, settings, store.done_keys())
        total = complete + len(tasks)
        log.info("%s %s: %d architecture(s) x %d seed(s), %d done, %d to score", "resuming" if resumed else "starting", out_dir, len(selection.archs), len(config.seeds), complete, len(tasks))
        retry: list[str] = []
        scored = 0
        threads: set[int] = set()
        with tqdm(total=total, initial=complete, unit="arch", desc="scoring", disable=not progress or None, dynamic_ncols=True) as bar:
            try:
                for outcome in execute(tasks, settings, config.jobs, config.backend, config.scheduler):
                    if isinstance(outcome, LostTask):
                        retry.append(f"worker lost: {outcome.reason}")
                        continue
                    threads.add(int(getattr(outcome, "threads", 0)))
                    failed = [row for row in outcome if row["status"] == TRANSIENT]
                    store.append(row for row in outcome if row["status"] != TRANSIENT)
                    store.record_failures(failed)
                    retry += [row["error"] for row in failed]
                    scored += 1
                    bar.update(1)
            except WorkersLost as exc:
                raise IncompleteRun(f"{exc}; {scored} of {len(tasks)} architecture(s) were scored and stored; rerun the same command to score the rest") from exc
            finally:
                store.end_invocation(invocation, scored=scored, worker_threads=threads, complete=scored == len(tasks) and not retry)
    if retry:
        raise IncompleteRun(
            f"{len(retry)} result(s) failed for a reason that may not recur and were not stored as results "
            f"({failure_summary(retry)}); the rest is stored; rerun the same command to retry them"
        )
    return store
