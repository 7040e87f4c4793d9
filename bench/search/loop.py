"""Genetic and random architecture search with any fitness, over any space that declares a
genome (:meth:`spaces.base.SearchSpace.genome`).

The genetic algorithm (paper Sec. 6.2.1; its structure follows the evolutionary searcher of
the reference code, ra225/W-PCA ``spos.py``, itself SPOS's):

1. Generation 0: the user's ``--initial`` architectures, then architectures drawn uniformly
   from the space and kept when feasible and new, up to ``population``.
2. Every later generation: the parents are the ``select`` best architectures evaluated so
   far (all generations, as the reference's ``keep_top_k``; elitist), and
   :func:`bench.search.operators.breed` breeds ``population`` new feasible children from them
   (uniform crossover, per-gene mutation, random fill-ins). Every generation therefore scores
   exactly ``population`` new architectures.
3. After ``generations`` generations the best architecture evaluated is the result.

``random`` search scores the same number of architectures, ``population`` new feasible
uniform draws per generation, and its generation 0 is the GA's.

Random choices come from generators derived from (seed, purpose, space, generation), not
from the fitness, so every proxy's search starts from the same population. Fitness values
decide everything else; they come from the search directory's cache when present
(:mod:`bench.store.search`), so a resumed search replays the finished generations and
continues identically. Each generation's new architectures are computed sorted by their
genes, so consecutive architectures share prefixes (:mod:`bench.search.prefix`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from tqdm import tqdm

from bench.errors import UserError
from bench.search.fitness import Fitness
from bench.search.operators import GAParams, breed, sample_feasible
from bench.search.summary import search_summary
from bench.seeding import derive_rng
from bench.store import schema
from bench.store.search import Evaluation, SearchStore
from proxies.capture import TRANSIENT

log = logging.getLogger(__name__)

METHODS = ("ga", "random")


def search_space(name: str):
    """The space called ``name``, if it declares a genome (it can be searched).

    Raises:
        UserError: for a space without a genome, listing the searchable spaces.
    """
    from spaces import get_space, list_spaces

    space = get_space(name)
    if space.genome() is None:
        searchable = [s for s in list_spaces() if get_space(s).genome() is not None]
        raise UserError(f"space {name!r} cannot be searched (no fixed-length genome); searchable spaces: {', '.join(searchable)}")
    return space


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
    limit = space.genome().limit
    return {
        "kind": "search",
        "space": space.name,
        "param_limit": limit.limit if limit is not None else None,
        "limit_accounting": limit.accounting if limit is not None else None,
        "method": method,
        "settings": settings,
        "seed": seed,
        "initial": [json.loads(arch_json(a)) for a in initial],
        "fitness": fitness.config(),
    }


def check_initial(space, archs: Sequence[Any], source: str) -> list:
    """Parse user-given architectures and check them against the genome's parameter limit.

    Raises:
        UserError: naming the architecture, the position and the allowed values.
    """
    from spaces.errors import SpaceError

    genome = space.genome()
    parsed = []
    for position, item in enumerate(archs):
        try:
            arch = genome.check_feasible(space.parse(item))
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
    from bench.store.runs import device_description
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

    genes = space.genome().genes

    def evaluate(archs: list) -> tuple[int, int]:
        hashes = {a: arch_hash(a) for a in archs}
        missing = [a for a in archs if hashes[a] not in cache]
        hits = len(archs) - len(missing)
        for rows in fitness.compute(sorted(missing, key=genes)):
            transient = [row for row in rows if row["status"] == TRANSIENT]
            if transient:  # the search cannot go on without this value, and must not store the failure as one
                store.record_failures(transient)
                raise UserError(
                    f"a fitness evaluation failed for a reason that may not recur ({transient[0]['error']}); "
                    "the evaluations so far are stored; rerun the same command to resume"
                )
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
            store.write_table(schema.TRACE, trace, list(schema.TRACE_FIELDS))
            store.write_table(schema.POPULATION, population_rows, list(schema.POPULATION_FIELDS))
            done = generation + 1 == params.generations
            summary = search_summary(space, fitness, method, params, state.evaluations, ranked(state, fitness.higher_is_better), trace, previous + [session], extra_cost, done)
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
