"""Genetic and random architecture search over the NLU spaces with any fitness.

The genetic algorithm (paper Sec. 6.2.1; its structure follows the evolutionary searcher of
the reference code, ra225/W-PCA ``spos.py``, itself SPOS's):

1. Generation 0: the user's ``--initial`` architectures, then architectures drawn uniformly
   from the space and kept when feasible and new, up to ``population``.
2. Every later generation: the parents are the ``select`` best architectures evaluated so
   far (all generations, as the reference's ``keep_top_k``; elitist). A child takes two
   parents drawn uniformly from them and, with probability ``crossover``, inherits each
   layer's block from either parent with probability 1/2 (uniform crossover), otherwise
   copies the first; then every layer is replaced, with probability ``mutation``, by a block
   index drawn uniformly from all 12 (the reference's mutation). A child that is over the
   parameter limit, or that was evaluated before, is discarded without being scored and
   another is bred (at most ``10 × population`` tries, as the reference); remaining slots
   are filled with new feasible random architectures. Every generation therefore scores
   exactly ``population`` new architectures.
3. After ``generations`` generations the best architecture evaluated is the result.

``random`` search scores the same number of architectures, ``population`` new feasible
uniform draws per generation, and its generation 0 is the GA's.

Random choices come from generators derived from (seed, purpose, space, generation), not
from the fitness, so every proxy's search starts from the same population. Fitness values
decide everything else; they come from the search directory's cache when present
(:mod:`bench.store.search`), so a resumed search replays the finished generations and
continues identically.

:class:`ProxyFitness` scores with a registered proxy through the machinery of ``bench run``
(:func:`bench.scoring.runner.score_task`, same batch, seeds and options), or, for proxies with a
prefix rule, through :class:`bench.search.prefix.PrefixProxyScorer`, whose values are identical
(checked against the uncached path on the first architecture of every session).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Protocol, Sequence

import numpy as np
from tqdm import tqdm

from bench.errors import UserError

if TYPE_CHECKING:
    from bench.config import RunConfig, ScoringSettings
from bench.store.search import POPULATION, TRACE, Evaluation, SearchStore
from bench.seeding import derive_rng

log = logging.getLogger(__name__)

METHODS = ("ga", "random")
MAX_BREED_TRIES = 10  # × population, as the reference's max_iters
MAX_SAMPLE_DRAWS = 200_000
TRACE_COLUMNS = [
    "generation", "evaluations", "best_fitness", "best_arch", "generation_best", "generation_mean",
    "generation_failed", "parents", "bred", "infeasible_resampled", "duplicate_resampled", "random_fill",
    "computed", "cache_hits", "seconds",
]
POPULATION_COLUMNS = ["generation", "arch", "arch_hash", "origin", "fitness", "status"]


@dataclass(frozen=True)
class GAParams:
    """Settings of a search.

    Attributes:
        population: architectures scored per generation (paper: 50).
        generations: number of generations (paper: 40).
        crossover: probability that a child is bred by uniform crossover (paper: 1).
        mutation: per-layer mutation probability (paper: 0.1).
        select: number of best architectures that parent the next generation.
    """

    population: int = 50
    generations: int = 40
    crossover: float = 1.0
    mutation: float = 0.1
    select: int = 10

    def check(self) -> None:
        """Raises UserError for settings out of range."""
        if self.population < 1:
            raise UserError(f"--population must be >= 1, got {self.population}")
        if self.generations < 1:
            raise UserError(f"--generations must be >= 1, got {self.generations}")
        if not 0.0 <= self.crossover <= 1.0:
            raise UserError(f"--crossover is a probability in [0, 1], got {self.crossover}")
        if not 0.0 <= self.mutation <= 1.0:
            raise UserError(f"--mutation is a probability in [0, 1], got {self.mutation}")
        if self.select < 1:
            raise UserError(f"--select must be >= 1, got {self.select}")


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
        """Score ``archs``; yields each architecture's result rows as soon as they exist."""

    def session_info(self) -> dict[str, Any]:
        """Statistics of this session (prefix reuse), for the cost record."""


# --- operators --------------------------------------------------------------------------------


def search_space(name: str):
    """The space called ``name``, if the search can handle it.

    Raises:
        UserError: for a space without a fixed-length genome and a parameter limit.
    """
    from spaces import get_space

    space = get_space(name)
    if not (hasattr(space, "depth") and hasattr(space, "num_choices") and hasattr(space, "is_feasible")):
        from spaces import list_spaces

        searchable = [s for s in list_spaces() if hasattr(get_space(s), "num_choices")]
        raise UserError(f"space {name!r} cannot be searched (no fixed-length genome); searchable spaces: {', '.join(searchable)}")
    return space


def sample_feasible(space, rng: np.random.Generator, count: int, seen: set) -> list:
    """``count`` new (not in ``seen``), distinct, feasible architectures drawn uniformly.

    Uniform draws over the whole space, rejected when over the parameter limit or seen:
    the result is uniform over the feasible architectures not seen yet.

    Raises:
        UserError: when ``MAX_SAMPLE_DRAWS`` draws per wanted architecture do not suffice.
    """
    found: list = []
    taken = set(seen)
    draws = 0
    while len(found) < count:
        draws += 1
        if draws > MAX_SAMPLE_DRAWS * max(count, 1):
            raise UserError(f"{space.name}: found only {len(found)} of {count} new feasible architectures; the space is exhausted")
        arch = space.sample(rng)
        if arch in taken or not space.is_feasible(arch):
            continue
        taken.add(arch)
        found.append(arch)
    return found


def uniform_crossover(rng: np.random.Generator, first: tuple[int, ...], second: tuple[int, ...]) -> tuple[int, ...]:
    """Each layer's block from ``first`` or ``second`` with probability 1/2."""
    take_first = rng.random(len(first)) < 0.5
    return tuple(a if t else b for a, b, t in zip(first, second, take_first))


def mutate(rng: np.random.Generator, genes: tuple[int, ...], probability: float, choices: int) -> tuple[int, ...]:
    """Replace each layer's block, with ``probability``, by one drawn uniformly from ``choices``."""
    hit = rng.random(len(genes)) < probability
    draws = rng.integers(0, choices, len(genes))
    return tuple(int(d) if h else g for g, d, h in zip(genes, draws, hit))


def breed(space, rng: np.random.Generator, parents: Sequence[Any], params: GAParams, seen: set) -> tuple[list, Counter]:
    """One generation of children of ``parents`` (see the module docstring).

    Returns:
        The ``params.population`` children (feasible, new, distinct) and counts of bred
        children, infeasible and duplicate children resampled, and random fill-ins.
    """
    from spaces.nlu import NluArch

    stats: Counter = Counter()
    children: list = []
    taken = set(seen)
    tries = 0
    while parents and len(children) < params.population and tries < MAX_BREED_TRIES * params.population:
        tries += 1
        first = parents[int(rng.integers(len(parents)))].blocks
        second = parents[int(rng.integers(len(parents)))].blocks
        genes = uniform_crossover(rng, first, second) if rng.random() < params.crossover else first
        child = NluArch(mutate(rng, genes, params.mutation, space.num_choices))
        if not space.is_feasible(child):
            stats["infeasible_resampled"] += 1
            continue
        if child in taken:
            stats["duplicate_resampled"] += 1
            continue
        taken.add(child)
        children.append(child)
    stats["bred"] = len(children)
    fill = sample_feasible(space, rng, params.population - len(children), taken)
    stats["random_fill"] = len(fill)
    return children + fill, stats


# --- the search -------------------------------------------------------------------------------


@dataclass
class _State:
    evaluations: dict[Any, Evaluation] = field(default_factory=dict)
    order: dict[Any, int] = field(default_factory=dict)
    computed: int = 0
    cache_hits: int = 0


def _sort_key(higher_is_better: bool):
    def key(item):
        arch, evaluation, order = item
        return (-evaluation.value if higher_is_better else evaluation.value, order)

    return key


def ranked(state: _State, higher_is_better: bool) -> list:
    """Architectures with a valid value, best first (ties: the one proposed first)."""
    items = [(a, e, state.order[a]) for a, e in state.evaluations.items() if e.valid]
    return [a for a, _, _ in sorted(items, key=_sort_key(higher_is_better))]


def search_config(space, method: str, params: GAParams, seed: int, fitness: Fitness, initial: Sequence[Any]) -> dict[str, Any]:
    """The manifest config of a search (a rerun must match it to resume)."""
    from spaces import arch_json

    settings: dict[str, Any] = {"population": params.population, "generations": params.generations}
    if method == "ga":
        settings.update(crossover=params.crossover, mutation=params.mutation, select=params.select)
    return {
        "kind": "search",
        "space": space.name,
        "param_limit": space.param_limit,
        "limit_accounting": "official (reference code)",
        "method": method,
        "settings": settings,
        "seed": seed,
        "initial": [json.loads(arch_json(a)) for a in initial],
        "fitness": fitness.config(),
    }


def check_initial(space, archs: Sequence[Any], source: str) -> list:
    """Parse user-given architectures and check them against the parameter limit.

    Raises:
        UserError: naming the architecture, the position and the allowed values.
    """
    from spaces.errors import SpaceError

    parsed = []
    for position, item in enumerate(archs):
        try:
            arch = space.check_feasible(space.parse(item))
        except SpaceError as exc:
            raise UserError(f"{source}, architecture {position}: {exc}") from exc
        if arch not in parsed:
            parsed.append(arch)
    return parsed


def run_search(
    space,
    fitness: Fitness,
    out_dir: str | os.PathLike,
    *,
    method: str = "ga",
    params: GAParams = GAParams(),
    initial: Sequence[Any] = (),
    command: list[str] | None = None,
    progress: bool = True,
    extra_cost: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a search into ``out_dir`` and return its summary.

    Args:
        space: a searchable space (:func:`search_space`).
        fitness: the fitness (its ``seed`` also seeds the search's random choices).
        out_dir: the search directory.
        method: ``ga`` or ``random``.
        params: population, generations and GA settings.
        initial: architectures placed in generation 0 (parsed and feasible).
        command: the command line, for the manifest.
        progress: draw a progress bar.
        extra_cost: recorded under ``cost`` in the summary (e.g. the supernet's training cost).

    Raises:
        UserError: for bad settings or a directory that holds another search.
    """
    from bench.store.manifest import device_description
    from spaces import arch_hash, arch_json

    if method not in METHODS:
        raise UserError(f"unknown search method {method!r}; allowed: {', '.join(METHODS)}")
    params.check()
    if len(initial) > params.population:
        raise UserError(f"{len(initial)} initial architectures do not fit in a population of {params.population}")
    seed = fitness.seed
    store = SearchStore(out_dir)
    resumed = store.open(search_config(space, method, params, seed, fitness, initial), command or [])
    store.write_proxy_info([{"proxy": fitness.name, "label": fitness.label, "version": fitness.version, "higher_is_better": fitness.higher_is_better}])
    cache = store.cached(space.name, fitness.name, fitness.version, seed)
    previous = (store.summary() or {}).get("cost", {}).get("sessions", []) if resumed else []
    session = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "device": device_description(), "resumed": resumed, "wall_seconds": 0.0, "cpu_seconds": 0.0, "computed": 0, "cache_hits": 0}
    wall0, cpu0 = time.perf_counter(), time.process_time()
    log.info("%s search %s: %s on %s, %d generation(s) x %d, %d cached evaluation(s)", "resuming" if resumed else "starting", out_dir, fitness.name, space.name, params.generations, params.population, len(cache))

    state = _State()
    trace: list[dict[str, Any]] = []
    population_rows: list[dict[str, Any]] = []
    seen: set = set()

    def evaluate(archs: list) -> tuple[int, int]:
        hashes = {a: arch_hash(a) for a in archs}
        missing = [a for a in archs if hashes[a] not in cache]
        hits = len(archs) - len(missing)
        for rows in fitness.compute(sorted(missing, key=lambda a: a.blocks)):
            store.append(rows)
            for row in rows:
                if row["proxy"] == fitness.name:
                    cache[row["arch_hash"]] = Evaluation(float(row["value"]), str(row["status"]))
        for arch in archs:
            if hashes[arch] not in cache:
                raise RuntimeError(f"the fitness returned no row for {arch_json(arch)}")
            state.evaluations[arch] = cache[hashes[arch]]
        return len(missing), hits

    bar = tqdm(total=params.generations, unit="gen", desc=f"{method} {fitness.name}", disable=not progress or None, dynamic_ncols=True)
    try:
        for generation in range(params.generations):
            begin = time.perf_counter()
            stats: Counter = Counter()
            if generation == 0:
                first = list(initial)
                rng = derive_rng(seed, "search-initial", space.name)
                candidates = first + sample_feasible(space, rng, params.population - len(first), seen | set(first))
                origins = ["initial"] * len(first) + ["random"] * (len(candidates) - len(first))
                parents: list = []
            elif method == "random":
                rng = derive_rng(seed, "search-random", space.name, generation)
                candidates = sample_feasible(space, rng, params.population, seen)
                origins = ["random"] * len(candidates)
                parents = []
            else:
                rng = derive_rng(seed, "search-ga", space.name, generation)
                parents = ranked(state, fitness.higher_is_better)[: params.select]
                candidates, stats = breed(space, rng, parents, params, seen)
                origins = ["child"] * stats["bred"] + ["random"] * stats["random_fill"]
            for arch in candidates:
                state.order[arch] = len(state.order)
            seen.update(candidates)
            computed, hits = evaluate(candidates)
            state.computed += computed
            state.cache_hits += hits
            values = [state.evaluations[a] for a in candidates]
            valid = [e.value for e in values if e.valid]
            best_arch = next(iter(ranked(state, fitness.higher_is_better)), None)
            trace.append({
                "generation": generation,
                "evaluations": len(state.evaluations),
                "best_fitness": state.evaluations[best_arch].value if best_arch is not None else math.nan,
                "best_arch": arch_json(best_arch) if best_arch is not None else "",
                "generation_best": (max(valid) if fitness.higher_is_better else min(valid)) if valid else math.nan,
                "generation_mean": float(np.mean(valid)) if valid else math.nan,
                "generation_failed": len(values) - len(valid),
                "parents": len(parents),
                "bred": stats["bred"],
                "infeasible_resampled": stats["infeasible_resampled"],
                "duplicate_resampled": stats["duplicate_resampled"],
                "random_fill": stats["random_fill"] if generation else len(candidates) - len(initial),
                "computed": computed,
                "cache_hits": hits,
                "seconds": time.perf_counter() - begin,
            })
            population_rows.extend(
                {"generation": generation, "arch": arch_json(a), "arch_hash": arch_hash(a), "origin": o, "fitness": state.evaluations[a].value, "status": state.evaluations[a].status}
                for a, o in zip(candidates, origins)
            )
            session.update(wall_seconds=time.perf_counter() - wall0, cpu_seconds=time.process_time() - cpu0, computed=state.computed, cache_hits=state.cache_hits, **fitness.session_info())
            store.write_table(TRACE, trace, TRACE_COLUMNS)
            store.write_table(POPULATION, population_rows, POPULATION_COLUMNS)
            done = generation + 1 == params.generations
            summary = _summary(space, fitness, method, params, state, trace, previous + [session], extra_cost, done)
            if best_arch is not None:
                top = ranked(state, fitness.higher_is_better)[: params.select]
                store.write_best(best_arch.to_json(), [a.to_json() for a in top])
            store.write_summary(summary)
            bar.update(1)
            if trace[-1]["best_fitness"] == trace[-1]["best_fitness"]:
                bar.set_postfix(best=f"{trace[-1]['best_fitness']:.6g}")
    finally:
        bar.close()
    return summary


def _summary(space, fitness: Fitness, method: str, params: GAParams, state: _State, trace: list, sessions: list, extra_cost: dict | None, done: bool) -> dict[str, Any]:
    from spaces import arch_json

    order = ranked(state, fitness.higher_is_better)
    best = order[0] if order else None

    def describe(arch) -> dict[str, Any]:
        return {
            "arch": arch.to_json(),
            "describe": arch.describe(),
            "fitness": state.evaluations[arch].value,
            "params_built": space.param_count(arch),
            "params_official": space.official_param_count(arch),
        }

    found = next((row["generation"] for row in trace if best is not None and row["best_arch"] == arch_json(best)), None)
    cost = {
        "sessions": sessions,
        "wall_seconds": sum(s["wall_seconds"] for s in sessions),
        "cpu_seconds_main_process": sum(s["cpu_seconds"] for s in sessions),
        "evaluations": len(state.evaluations),
        "evaluations_computed": sum(s["computed"] for s in sessions),
        "cache_hits": sum(s["cache_hits"] for s in sessions),
        "device": sessions[-1]["device"],
    }
    if extra_cost:
        cost.update(extra_cost)
    return {
        "status": "complete" if done else "running",
        "space": space.name,
        "param_limit": space.param_limit,
        "method": method,
        "settings": asdict(params),
        "fitness": {"name": fitness.name, "label": fitness.label, "version": fitness.version, "higher_is_better": fitness.higher_is_better, "seed": fitness.seed},
        "generations_done": len(trace),
        "best": {**describe(best), "generation_found": found, "feasible": space.is_feasible(best)} if best is not None else None,
        "top": [describe(a) for a in order[: params.select]],
        "cost": cost,
    }


# --- proxies as fitness -----------------------------------------------------------------------

_WORKER_SCORERS: dict[str, Any] = {}


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
    """

    def __init__(self, space, settings, seed: int, jobs: int = 1, prefix: bool = True, prefix_budget_mb: int = 1024) -> None:
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
        self.budget = int(prefix_budget_mb) << 20
        reason = prefix_unsupported(space, self.name, settings.train_mode) if prefix else "disabled (--no-prefix)"
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
        from bench.scoring.backends import execute

        archs = list(archs)
        if not archs:
            return
        if self.prefix_active and self.prefix_verified is None:
            yield self._verify(archs[0])
            archs = archs[1:]
        if not self.prefix_active:
            yield from execute([self._task(a) for a in archs], self.settings, self.jobs)
            return
        if self.jobs <= 1 or len(archs) <= 1:
            scorer = self._local_scorer()
            before = scorer.runner.stats()
            for arch in archs:
                yield scorer.score(arch)
            after = scorer.runner.stats()
            self._stats.update({k: after[k] - before[k] for k in ("layers_computed", "layers_reused")})
            return
        yield from self._parallel(archs)

    def _parallel(self, archs: list) -> Iterator[list[dict[str, Any]]]:
        """Contiguous chunks of the lexicographically sorted architectures, one joblib task each."""
        from joblib import Parallel, delayed

        from spaces import arch_json

        chunks = np.array_split(np.arange(len(archs)), min(len(archs), 2 * self.jobs))
        parallel = Parallel(n_jobs=self.jobs, return_as="generator_unordered", backend="loky")
        tasks = (delayed(_prefix_chunk)([arch_json(archs[i]) for i in chunk], self.settings, self.name, self.seed, self.budget) for chunk in chunks if len(chunk))
        for rows_list, stats in parallel(tasks):
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
