"""The summary record of a search (``summary.json``): status, settings, the best and top
architectures with their fitness and parameter counts, and the cost of every session."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Mapping, Sequence

from bench.search.fitness import Fitness
from bench.search.operators import GAParams
from bench.store.search import Evaluation


def search_summary(
    space,
    fitness: Fitness,
    method: str,
    params: GAParams,
    evaluations: Mapping[Any, Evaluation],
    order: Sequence[Any],
    trace: Sequence[dict[str, Any]],
    sessions: Sequence[dict[str, Any]],
    extra_cost: dict[str, Any] | None,
    done: bool,
) -> dict[str, Any]:
    """The summary of a search so far.

    Args:
        space: the searched space (it declares a genome).
        evaluations: architecture -> its evaluation, for every architecture evaluated.
        order: the architectures with a valid value, best first.
        trace: the trace rows of the generations done.
        sessions: the cost record of every session, the current one last.
        extra_cost: merged into ``cost`` (e.g. the supernet's training cost).
        done: whether every generation is done.

    Returns:
        ``params_official`` is the count the genome's parameter limit applies to and
        ``param_limit`` that limit (``None`` for a genome without one).
    """
    from spaces import arch_json

    genome = space.genome()
    limit = genome.limit
    best = order[0] if order else None

    def describe(arch) -> dict[str, Any]:
        return {
            "arch": arch.to_json(),
            "describe": arch.describe(),
            "fitness": evaluations[arch].value,
            "params_built": space.param_count(arch),
            "params_official": limit.count(arch) if limit is not None else None,
        }

    found = next((row["generation"] for row in trace if best is not None and row["best_arch"] == arch_json(best)), None)
    cost = {
        "sessions": list(sessions),
        "wall_seconds": sum(s["wall_seconds"] for s in sessions),
        "cpu_seconds_main_process": sum(s["cpu_seconds"] for s in sessions),
        "evaluations": len(evaluations),
        "evaluations_computed": sum(s["computed"] for s in sessions),
        "cache_hits": sum(s["cache_hits"] for s in sessions),
        "device": sessions[-1]["device"],
    }
    if extra_cost:
        cost.update(extra_cost)
    return {
        "status": "complete" if done else "running",
        "space": space.name,
        "param_limit": limit.limit if limit is not None else None,
        "method": method,
        "settings": asdict(params),
        "fitness": {"name": fitness.name, "label": fitness.label, "version": fitness.version, "higher_is_better": fitness.higher_is_better, "seed": fitness.seed},
        "generations_done": len(trace),
        "best": {**describe(best), "generation_found": found, "feasible": genome.is_feasible(best)} if best is not None else None,
        "top": [describe(a) for a in order[: params.select]],
        "cost": cost,
    }
