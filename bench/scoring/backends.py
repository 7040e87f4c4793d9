"""Where scoring work runs: this process, joblib worker processes, or a dask.distributed cluster.

Each backend takes tasks (:class:`bench.scoring.runner.Task`) and yields each task's result
rows as soon as they exist, in any order; the caller appends them to the store.
"""

from __future__ import annotations

from typing import Any, Iterator

from bench.config import ScoringSettings
from bench.errors import UserError
from bench.scoring.score import score_task


def execute(tasks: list[Any], settings: ScoringSettings, jobs: int, backend: str = "joblib", scheduler: str | None = None) -> Iterator[list[dict[str, Any]]]:
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


def _execute_dask(tasks: list[Any], settings: ScoringSettings, scheduler: str | None) -> Iterator[list[dict[str, Any]]]:
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
