"""What a search optimises: the :class:`Fitness` protocol and registered proxies as fitness.

:class:`ProxyFitness` scores with a registered proxy through the machinery of ``bench run``
(:func:`bench.scoring.score.score_task`, same batch, seeds and options), or, for proxies with a
prefix rule in a position-seeded space, through :class:`bench.search.prefix.PrefixProxyScorer`,
whose values are identical (checked against the uncached path on the first architecture of
every session).
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import Counter
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Iterator, Protocol, Sequence

import numpy as np

if TYPE_CHECKING:
    from bench.config import RunConfig, ScoringSettings

log = logging.getLogger(__name__)


class Fitness(Protocol):
    """What the search optimises: rows for new architectures, and how to compare values."""

    name: str
    label: str
    version: str
    higher_is_better: bool
    seed: int

    def config(self) -> dict[str, Any]:
        """Everything that determines the values (recorded in the manifest)."""

    def compute(self, archs: Sequence[Any]) -> Iterator[list[dict[str, Any]]]:
        """Score ``archs``; yields each architecture's result rows as soon as they exist.

        Every row has the fields of :data:`bench.store.runs.ROW_FIELDS`; the rows with
        ``proxy == name`` carry the fitness value of their ``arch_hash``.
        """

    def session_info(self) -> dict[str, Any]:
        """Statistics of this session (prefix reuse), for the cost record."""


_WORKER_SCORERS: dict[str, Any] = {}
_WORKER_LOCK = threading.Lock()  # a dask worker may run chunks on several threads of one process


def _settings_key(settings, proxy: str, seed: int, budget: int) -> str:
    return json.dumps([asdict(settings), proxy, seed, budget], sort_keys=True, default=str)


def _prefix_chunk(arch_jsons: list[str], settings, proxy: str, seed: int, budget: int) -> tuple[list[list[dict[str, Any]]], dict[str, int]]:
    """Score a chunk of architectures with prefix reuse in a worker (its scorer persists across chunks)."""
    import torch

    from bench.search.prefix import PrefixProxyScorer
    from proxies import load_plugins
    from spaces import get_space

    if settings.threads:
        torch.set_num_threads(settings.threads)
    load_plugins(settings.plugins)
    space = get_space(settings.space)
    key = _settings_key(settings, proxy, seed, budget)
    with _WORKER_LOCK:
        if key not in _WORKER_SCORERS:
            _WORKER_SCORERS.clear()
            _WORKER_SCORERS[key] = PrefixProxyScorer(space, settings, proxy, seed, budget)
        scorer = _WORKER_SCORERS[key]
        before = scorer.runner.stats()
        rows = [scorer.score(space.parse(json.loads(text))) for text in arch_jsons]
        after = scorer.runner.stats()
    return rows, {k: after[k] - before[k] for k in ("layers_computed", "layers_reused")}


class ProxyFitness:
    """A registered proxy as the search's fitness, computed like ``bench run`` computes it.

    Args:
        space: the searched space.
        settings: :class:`bench.config.ScoringSettings` with the one proxy (batch, text, options).
        seed: the initialisation seed (``bench run --seed``); it also seeds the search.
        jobs: worker processes (joblib) for each generation's new architectures.
        prefix: use prefix reuse when the proxy has a rule (values are identical).
        prefix_budget_mb: bound of the activation cache of each process.
        backend: ``joblib`` (``jobs`` local processes) or ``dask`` (the cluster at ``scheduler``);
            the values, the cache and resuming do not depend on it.
        scheduler: the dask scheduler address for ``backend="dask"``.
    """

    def __init__(
        self, space, settings, seed: int, jobs: int = 1, prefix: bool = True, prefix_budget_mb: int = 1024,
        backend: str = "joblib", scheduler: str | None = None,
    ) -> None:
        from bench.search.prefix import prefix_unsupported
        from proxies import get_proxy

        if len(settings.proxies) != 1:
            raise ValueError("a proxy fitness has exactly one proxy")
        self.space = space
        self.settings = settings
        self.spec = get_proxy(settings.proxies[0])
        self.name, self.label, self.version = self.spec.name, self.spec.label, self.spec.version
        self.higher_is_better = self.spec.higher_is_better
        self.seed = seed
        self.jobs = jobs
        self.backend, self.scheduler = backend, scheduler
        self._dask_threads: int | None = None
        self.budget = int(prefix_budget_mb) << 20
        reason = prefix_unsupported(space, self.name, settings.train_mode) if prefix else "disabled (--no-prefix)"
        if reason is None and settings.device != "cpu":
            reason = f"prefix reuse runs on the CPU; on {settings.device} each architecture is scored whole"
        self.prefix_reason = reason
        self.prefix_active = reason is None
        self.prefix_verified: bool | None = None
        self._scorer = None
        self._stats: Counter = Counter()

    def config(self) -> dict[str, Any]:
        from bench import data
        from bench.inputs import TEXT_FILES

        s = self.settings
        return {
            "kind": "proxy",
            "proxy": self.name,
            "version": self.version,
            "higher_is_better": self.higher_is_better,
            "options": s.options[self.name],
            "variant": s.variant,
            "batch_size": s.batch_size,
            "seq_len": s.seq_len,
            "sample_seed": s.sample_seed,
            "text": s.text,
            "mode": "train" if s.train_mode else "eval",
            "loss": s.loss,
            "plugins": list(s.plugins),
            "data": data.data_checksums([TEXT_FILES[s.text]]),
        }

    def session_info(self) -> dict[str, Any]:
        return {
            "prefix_reuse": {
                "active": self.prefix_active,
                "reason_inactive": self.prefix_reason,
                "verified_against_uncached": self.prefix_verified,
                **dict(self._stats),
            }
        }

    def _task(self, arch):
        from bench.scoring.score import Task
        from spaces import arch_hash, arch_json

        return Task(arch_json(arch), arch_hash(arch), self.space.index_of(arch), self.seed, (self.name,))

    def _local_scorer(self):
        from bench.search.prefix import PrefixProxyScorer

        if self._scorer is None:
            self._scorer = PrefixProxyScorer(self.space, self.settings, self.name, self.seed, self.budget)
        return self._scorer

    def _verify(self, arch) -> list[dict[str, Any]]:
        """Score ``arch`` both ways; keep prefix reuse only when the values are identical."""
        from bench.scoring.score import score_task

        plain = score_task(self._task(arch), self.settings)
        fast = self._local_scorer().score(arch)
        a, b = plain[0], fast[0]
        same = a["status"] == b["status"] and (a["value"] == b["value"] or (math.isnan(a["value"]) and math.isnan(b["value"])))
        self.prefix_verified = same
        if not same:
            self.prefix_active = False
            self.prefix_reason = f"prefix value {b['value']!r} ({b['status']}) differs from the uncached {a['value']!r} ({a['status']})"
            log.warning("prefix reuse disabled: %s", self.prefix_reason)
        return plain

    def compute(self, archs: Sequence[Any]) -> Iterator[list[dict[str, Any]]]:
        from bench.scoring.backends import LostTask, WorkersLost, execute

        archs = list(archs)
        if not archs:
            return
        if self.prefix_active and self.prefix_verified is None:
            yield self._verify(archs[0])
            archs = archs[1:]
        if not archs:
            return
        if not self.prefix_active:
            for outcome in execute([self._task(a) for a in archs], self.settings, self.jobs, self.backend, self.scheduler):
                if isinstance(outcome, LostTask):
                    raise WorkersLost(f"a fitness evaluation was lost with its dask worker ({outcome.reason})")
                yield outcome
            return
        if self.backend != "dask" and (self.jobs <= 1 or len(archs) <= 1):
            scorer = self._local_scorer()
            before = scorer.runner.stats()
            for arch in archs:
                yield scorer.score(arch)
            after = scorer.runner.stats()
            self._stats.update({k: after[k] - before[k] for k in ("layers_computed", "layers_reused")})
            return
        yield from self._parallel(archs)

    def _parallel(self, archs: list) -> Iterator[list[dict[str, Any]]]:
        """Contiguous chunks of the lexicographically sorted architectures, one joblib or dask task each
        (two per worker, so that each worker's prefix cache sees neighbouring architectures)."""
        from bench.scoring.backends import dask_map, dask_worker_threads
        from spaces import arch_json

        if self.backend == "dask" and self._dask_threads is None:
            self._dask_threads = dask_worker_threads(self.scheduler)  # once per search: chunking, not results, depends on it
        workers = self._dask_threads if self.backend == "dask" else self.jobs
        chunks = [chunk for chunk in np.array_split(np.arange(len(archs)), min(len(archs), 2 * workers)) if len(chunk)]
        payloads = [([arch_json(archs[i]) for i in chunk], self.settings, self.name, self.seed, self.budget) for chunk in chunks]
        if self.backend == "dask":
            results = dask_map(_prefix_chunk, payloads, self.scheduler)
        else:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=self.jobs, return_as="generator_unordered", backend="loky")(delayed(_prefix_chunk)(*p) for p in payloads)
        for rows_list, stats in results:
            self._stats.update(stats)
            yield from rows_list


def proxy_settings(config: "RunConfig") -> "ScoringSettings":
    """The worker settings of a proxy search: ``config``'s, which names exactly one proxy,
    with the conventions of ``bench run``; the input text is resolved here.

    Raises:
        UserError: for an unknown scale or text, or a sequence longer than 512.
    """
    from bench import data
    from bench.inputs import TEXT_FILES

    if len(config.proxies) != 1:
        raise ValueError(f"a proxy search has exactly one proxy, got {len(config.proxies)}")
    settings = config.settings()
    data.resolve(TEXT_FILES[config.text], config.data_dir)
    return settings
