"""Score architectures with proxies into a run directory.

Per architecture and seed: build the model (initialisation seeded by :func:`init_seed`:
``derive_seed(seed, "init", arch_hash)``, or ``derive_seed(seed, "init")`` for spaces whose
models are position-seeded), run the shared capture pass on the proxy batch,
evaluate every requested proxy, and append the rows to the store in one write. Work runs
in this process (``jobs=1``) or in joblib worker processes; each worker uses
``threads`` torch threads. Rows already in the store are skipped, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from tqdm import tqdm

from bench import data
from bench.cli.argtypes import read_arch_json
from bench.errors import UserError
from bench.init_schemes import reinitialise
from bench.inputs import TEXT_FILES, proxy_batch
from bench.seeding import derive_rng, derive_seed
from bench.store.runs import RunStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSettings:
    """Everything a worker needs to score one architecture (picklable)."""

    space: str
    variant: str
    proxies: tuple[str, ...]
    options: dict[str, dict[str, Any]]
    batch_size: int
    seq_len: int
    sample_seed: int
    text: str
    train_mode: bool
    loss: str = "token-ce"
    init: str = "default"
    plugins: tuple[str, ...] = ()
    data_dir: str | None = None
    threads: int = 0


@dataclass(frozen=True)
class Task:
    """One architecture × seed, with the proxies still missing for it."""

    arch_json: str
    arch_hash: str
    arch_id: int
    seed: int
    proxies: tuple[str, ...]


@dataclass
class ArchSelection:
    """The architectures of a run and, for benchmark runs, their ground truth and its data file."""

    archs: list[Any]
    description: Any
    ground_truth: list[dict[str, Any]] = field(default_factory=list)
    data_files: tuple[str, ...] = ()


def select_archs(space, spec: str, limit: int | None, sample_seed: int, data_dir: str | None) -> ArchSelection:
    """Resolve ``--archs``: ``benchmark``, ``deciles``, a count ``N`` sampled uniformly, or a JSON file.

    ``benchmark`` and ``deciles`` read the space's default benchmark
    (:func:`bench.scoring.benchmarks.default_benchmark`; FlexiBERT's: GLUE mean, 8 tasks).
    ``--limit K`` keeps K architectures: for ``benchmark`` they are spread evenly over the
    ranking by the benchmark's main task, so a small subset still spans the whole score range.
    ``deciles`` is one benchmark architecture per main-task decile, the one at the middle
    of the decile (the seed-stability set of the paper's Figure 4).

    Raises:
        UserError: for a bad spec, an unreadable file or a space without a benchmark.
    """
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be a positive integer, got {limit}")
    if spec in ("benchmark", "deciles"):
        from bench.scoring.benchmarks import default_benchmark, load_entries
        from spaces import arch_hash

        benchmark = default_benchmark(space)
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
        return ArchSelection(archs, {spec: benchmark.file, "limit": limit}, truth, (benchmark.file,))
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
        raise UserError(f"--archs {spec!r} is neither 'benchmark', 'deciles', a number, nor an existing JSON file")
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


def run_config(settings: RunSettings, selection: ArchSelection, seeds: Sequence[int], scale: str) -> dict[str, Any]:
    """The config recorded in the manifest; a rerun must match it to resume."""
    from proxies import get_proxy

    return {
        "space": settings.space,
        "variant": settings.variant,
        "archs": selection.description,
        "num_archs": len(selection.archs),
        "sample_seed": settings.sample_seed,
        "seeds": list(seeds),
        "proxies": {name: {"version": get_proxy(name).version, "options": settings.options[name]} for name in settings.proxies},
        "scale": scale,
        "batch_size": settings.batch_size,
        "seq_len": settings.seq_len,
        "text": settings.text,
        "mode": "train" if settings.train_mode else "eval",
        "loss": settings.loss,
        **({"init": settings.init} if settings.init != "default" else {}),
        "plugins": list(settings.plugins),
        "data": data.data_checksums([TEXT_FILES[settings.text], *selection.data_files]),
    }


def init_seed(space, seed: int, arch_hash: str) -> int:
    """The seed passed to ``space.build_model`` for an architecture and a run seed.

    ``derive_seed(seed, "init", arch_hash)``; position-seeded spaces (``space.position_seeded``,
    the NLU spaces) derive every block's weights from the seed and the block's position inside
    ``build_model``, so they get ``derive_seed(seed, "init")``, the same for every architecture.
    """
    if space.position_seeded:
        return derive_seed(seed, "init")
    return derive_seed(seed, "init", arch_hash)


@lru_cache(maxsize=2)
def _batch(batch_size: int, seq_len: int, seed: int, text: str, data_dir: str | None):
    return proxy_batch(batch_size, seq_len, derive_seed(seed, "proxy-batch"), text, data_dir)


def score_task(task: Task, settings: RunSettings) -> list[dict[str, Any]]:
    """Build one model and score it with the task's proxies; returns complete result rows."""
    import torch

    from proxies import get_proxy, load_plugins, score
    from spaces import get_space

    if settings.threads:
        torch.set_num_threads(settings.threads)
    load_plugins(settings.plugins)
    space = get_space(settings.space)
    specs = [get_proxy(name) for name in task.proxies]
    arch = space.parse(json.loads(task.arch_json))
    try:
        model = space.build_model(arch, init_seed(space, task.seed, task.arch_hash), settings.variant)
        reinitialise(model, settings.init, derive_seed(task.seed, "reinit", task.arch_hash))
        batch = _batch(settings.batch_size, settings.seq_len, settings.sample_seed, settings.text, settings.data_dir)
        results, pass_seconds = score(
            model,
            batch,
            specs,
            settings.options,
            train_mode=settings.train_mode,
            dropout_seed=derive_seed(task.seed, "dropout", task.arch_hash),
            loss=settings.loss,
            arch=arch,
        )
    except Exception as exc:  # a model that cannot be built or fed is recorded per proxy
        message = f"model failed: {type(exc).__name__}: {exc}"
        results = [_failed(spec, message) for spec in specs]
        pass_seconds = math.nan
    return [
        {
            "space": settings.space,
            "arch_id": task.arch_id,
            "arch_hash": task.arch_hash,
            "arch": task.arch_json,
            "proxy": r.proxy,
            "proxy_version": r.version,
            "seed": task.seed,
            "value": r.value,
            "seconds": r.seconds,
            "pass_seconds": pass_seconds,
            "status": r.status,
            "error": r.error,
        }
        for r in results
    ]


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


def _failed(spec, message: str):
    from proxies import ProxyResult

    return ProxyResult(spec.name, spec.version, math.nan, 0.0, "error", message)


def plan_tasks(space, selection: ArchSelection, seeds: Sequence[int], settings: RunSettings, done: set[tuple[str, ...]]) -> tuple[list[Task], int]:
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


def execute(tasks: list[Task], settings: RunSettings, jobs: int, backend: str = "joblib", scheduler: str | None = None) -> Iterator[list[dict[str, Any]]]:
    """Score tasks and yield each task's rows as it finishes.

    ``joblib``: in this process (``jobs=1``) or in ``jobs`` worker processes.
    ``dask``: on the dask.distributed cluster whose scheduler is at ``scheduler``.
    """
    if backend == "dask":
        yield from _execute_dask(tasks, settings, scheduler)
        return
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield score_task(task, settings)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=jobs, return_as="generator_unordered", backend="loky")
    yield from parallel(delayed(score_task)(task, settings) for task in tasks)


def _execute_dask(tasks: list[Task], settings: RunSettings, scheduler: str | None) -> Iterator[list[dict[str, Any]]]:
    if not scheduler:
        raise UserError("--backend dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise UserError("the dask backend needs the 'distributed' package: pip install 'dask[distributed]'") from exc
    try:
        client = Client(scheduler, timeout="20s")
    except OSError as exc:
        raise UserError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from exc
    try:
        futures = client.map(score_task, tasks, settings=settings, pure=False)
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()


def make_settings(
    space,
    proxies: Sequence[str],
    options: dict[str, Any],
    scale,
    batch_size: int | None,
    seq_len: int | None,
    sample_seed: int,
    text: str,
    plugins: Sequence[str],
    data_dir: str | None,
    jobs: int,
    variant: str | None = None,
    train_mode: bool = False,
    loss: str = "token-ce",
    init: str = "default",
) -> RunSettings:
    """The settings of a scoring pass (``bench run`` and proxy searches): the scale's batch
    and sequence length unless given, one torch thread per worker when ``jobs > 1``.

    Raises:
        UserError: for an unknown text, loss or initialisation, or a sequence longer than 512.
    """
    from bench.init_schemes import INIT_SCHEMES
    from proxies.losses import LOSSES

    if text not in TEXT_FILES:
        raise UserError(f"unknown text source {text!r}; allowed: {', '.join(TEXT_FILES)}")
    if loss not in LOSSES:
        raise UserError(f"unknown loss {loss!r}; allowed: {', '.join(LOSSES)}")
    if init not in INIT_SCHEMES:
        raise UserError(f"unknown initialisation {init!r}; allowed: {', '.join(INIT_SCHEMES)}")
    settings = RunSettings(
        space=space.name,
        variant=space.check_variant(variant),
        proxies=tuple(proxies),
        options=options,
        batch_size=batch_size or scale.batch_size,
        seq_len=seq_len or scale.seq_len,
        sample_seed=sample_seed,
        text=text,
        train_mode=train_mode,
        loss=loss,
        init=init,
        plugins=tuple(plugins),
        data_dir=data_dir,
        threads=max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else 0,
    )
    if settings.seq_len > 512:
        raise UserError(f"sequence length {settings.seq_len} exceeds the models' 512 positions")
    return settings


def run(
    space_name: str,
    out_dir: str | os.PathLike,
    *,
    proxies: Sequence[str],
    options: dict[str, dict[str, Any]],
    archs: str = "benchmark",
    limit: int | None = None,
    seeds: Sequence[int] = (0,),
    scale: str = "smoke",
    batch_size: int | None = None,
    seq_len: int | None = None,
    sample_seed: int = 0,
    text: str = "wikitext-2",
    train_mode: bool = False,
    loss: str = "token-ce",
    init: str = "default",
    variant: str | None = None,
    plugins: Sequence[str] = (),
    data_dir: str | None = None,
    jobs: int = 1,
    backend: str = "joblib",
    scheduler: str | None = None,
    command: list[str] | None = None,
    progress: bool = True,
) -> RunStore:
    """Run (or resume) a scoring run and return its store."""
    from bench.scales import get_scale
    from spaces import get_space

    space = get_space(space_name)
    chosen_scale = get_scale(scale)
    if backend not in ("joblib", "dask"):
        raise UserError(f"unknown backend {backend!r}; allowed: joblib, dask")
    settings = make_settings(space, proxies, options, chosen_scale, batch_size, seq_len, sample_seed, text, plugins, data_dir, jobs,
                             variant=variant, train_mode=train_mode, loss=loss, init=init)
    selection = select_archs(space, archs, limit, sample_seed, data_dir)
    data.resolve(TEXT_FILES[text], data_dir)  # fail early on missing text, before any model is built
    store = RunStore(out_dir)
    resumed = store.open(run_config(settings, selection, seeds, chosen_scale.name), command or [])
    if selection.ground_truth:
        store.write_ground_truth(selection.ground_truth)
    store.write_proxy_info(proxy_info(settings.proxies))
    tasks, complete = plan_tasks(space, selection, seeds, settings, store.done_keys())
    total = complete + len(tasks)
    log.info("%s %s: %d architecture(s) x %d seed(s), %d done, %d to score", "resuming" if resumed else "starting", out_dir, len(selection.archs), len(seeds), complete, len(tasks))
    with tqdm(total=total, initial=complete, unit="arch", desc="scoring", disable=not progress or None, dynamic_ncols=True) as bar:
        for rows in execute(tasks, settings, jobs, backend, scheduler):
            store.append(rows)
            bar.update(1)
    return store
