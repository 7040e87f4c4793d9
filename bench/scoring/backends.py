"""Where scoring work runs: this process, joblib worker processes, or a dask.distributed cluster.

Each backend takes tasks (:class:`bench.scoring.score.Task`) and yields each task's outcome
as soon as it exists, in any order: its result rows, or a :class:`LostTask` when the worker
that ran it was lost (the rows of a lost task are not stored, so a rerun scores it again).
Before any task runs, :func:`check_backend` checks the environment where the tasks will run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from bench.config import ScoringSettings
from bench.errors import UserError
from bench.scoring.score import Task, check_environment, score_task

#: Seconds a dask client waits for the scheduler and for its first worker.
DASK_TIMEOUT_S = 20


@dataclass(frozen=True)
class LostTask:
    """A task whose worker died or was lost before it returned (a failure that may not recur)."""

    task: Task
    reason: str


class WorkersLost(UserError):
    """The joblib worker pool broke (a worker process was killed); the remaining tasks were not scored."""


def check_backend(settings: ScoringSettings, backend: str, scheduler: str | None) -> None:
    """Check the environment of the workers once: this process for joblib, every dask worker for dask.

    Raises:
        UserError: naming the problem (no scheduler, no workers, a worker without the data or
            the vocabulary) and the fix.
    """
    if backend != "dask":
        check_environment(settings)
        return
    with _dask_client(scheduler) as client:
        try:
            client.wait_for_workers(1, timeout=DASK_TIMEOUT_S)
        except TimeoutError:
            raise UserError(f"the dask scheduler at {scheduler} has no workers after {DASK_TIMEOUT_S} s; start one with `dask worker {scheduler}`") from None
        for worker, problem in client.run(_worker_problem, settings).items():
            if problem:
                raise UserError(f"dask worker {worker}: {problem}")


def _worker_problem(settings: ScoringSettings) -> str:
    """The one-line problem of a worker's environment, or ``""`` (run on each dask worker)."""
    from bench.errors import user_errors

    try:
        check_environment(settings)
    except user_errors() as exc:
        return str(exc)
    return ""


def execute(tasks: list[Task], settings: ScoringSettings, jobs: int, backend: str = "joblib", scheduler: str | None = None) -> Iterator[list[dict[str, Any]] | LostTask]:
    """Score tasks and yield each task's rows (or a :class:`LostTask`) as it finishes.

    ``joblib``: in this process (``jobs=1``) or in ``jobs`` worker processes.
    ``dask``: on the dask.distributed cluster whose scheduler is at ``scheduler``; a task whose
    worker is lost is rescheduled by dask, and reported lost only when dask gives up on it.

    Raises:
        WorkersLost: when a joblib worker process dies (the tasks not yet returned are not scored).
    """
    if backend == "dask":
        yield from _execute_dask(tasks, settings, scheduler)
        return
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield score_task(task, settings)
        return
    from joblib import Parallel, delayed
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    parallel = Parallel(n_jobs=jobs, return_as="generator_unordered", backend="loky")
    try:
        yield from parallel(delayed(score_task)(task, settings) for task in tasks)
    except TerminatedWorkerError as exc:
        raise WorkersLost(f"a worker process died ({str(exc).splitlines()[0]})") from exc


class _dask_client:
    """``with _dask_client(address) as client``: a connected client, closed on exit."""

    def __init__(self, scheduler: str | None) -> None:
        if not scheduler:
            raise UserError("--backend dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
        try:
            from distributed import Client
        except ImportError as exc:
            raise UserError("the dask backend needs the 'distributed' package: pip install 'dask[distributed]'") from exc
        try:
            self.client = Client(scheduler, timeout=f"{DASK_TIMEOUT_S}s")
        except OSError as exc:
            raise UserError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from exc

    def __enter__(self):
        return self.client

    def __exit__(self, *exc_info) -> None:
        self.client.close()


def dask_worker_threads(scheduler: str | None) -> int:
    """Threads of all workers of the dask cluster at ``scheduler`` (at least 1)."""
    with _dask_client(scheduler) as client:
        return max(1, sum(client.nthreads().values()))


def dask_map(fn: Callable[..., Any], argument_tuples: list[tuple], scheduler: str | None) -> Iterator[Any]:
    """``fn(*arguments)`` for each tuple on the dask cluster at ``scheduler``, yielded as they finish.

    Raises:
        WorkersLost: when dask gives up on a task because its workers died.
    """
    for _, result, lost in _dask_outcomes(fn, argument_tuples, scheduler):
        if lost:
            raise WorkersLost(f"a dask task was lost with its worker ({lost})")
        yield result


def _execute_dask(tasks: list[Task], settings: ScoringSettings, scheduler: str | None) -> Iterator[list[dict[str, Any]] | LostTask]:
    for index, result, lost in _dask_outcomes(score_task, [(task, settings) for task in tasks], scheduler):
        yield LostTask(tasks[index], lost) if lost else result


def _dask_outcomes(fn: Callable[..., Any], argument_tuples: list[tuple], scheduler: str | None) -> Iterator[tuple[int, Any, str]]:
    """``(index, fn(*argument_tuples[index]), "")`` as each task finishes on the cluster, or
    ``(index, None, reason)`` for a task dask gave up on because its workers died."""
    from distributed import KilledWorker, as_completed

    with _dask_client(scheduler) as client:
        futures = [client.submit(fn, *arguments, pure=False) for arguments in argument_tuples]
        index_of = {future.key: index for index, future in enumerate(futures)}
        for future in as_completed(futures):
            try:
                yield index_of[future.key], future.result(), ""
            except (KilledWorker, OSError) as exc:
                yield index_of[future.key], None, f"{type(exc).__name__}: {exc}"
