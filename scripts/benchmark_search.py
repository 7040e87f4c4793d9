"""Speed-up of prefix-activation reuse on a full genetic search, and a check that it changes nothing.

Runs the same search twice in one process, once through the uncached path of ``bench run``
(:func:`bench.scoring.runner.score_task` per architecture) and once with prefix reuse
(:class:`bench.search.prefix.PrefixProxyScorer`), after one warm-up evaluation of each path. It
records the wall and CPU time of each, the layers computed and reused, and checks that both
searches have the same trace (best and mean fitness of every generation), the same best
architecture and the same value for every architecture.

Usage:
    python scripts/benchmark_search.py --space nlu-tiny --proxy w-pca --scale smoke --out results/benchmarks/search_speed.json
    python scripts/benchmark_search.py --space nlu-small --scale cpu --population 50 --generations 40

The defaults are the paper's GA (population 50, 40 generations). Set OMP_WAIT_POLICY=PASSIVE
on a shared machine (see docs/search.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bench.config import RunConfig
from bench.search.fitness import ProxyFitness, proxy_settings
from bench.search.loop import run_search, search_space
from bench.search.operators import GAParams, sample_feasible
from bench.store.manifest import device_description, package_versions
from bench.store.writer import write_atomic
from proxies import get_proxy, resolve_options

COMPARED = ["generation", "evaluations", "best_fitness", "best_arch", "generation_best", "generation_mean"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="nlu-tiny")
    parser.add_argument("--proxy", default="w-pca")
    parser.add_argument("--scale", default="smoke")
    parser.add_argument("--population", type=int, default=50)
    parser.add_argument("--generations", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/benchmarks/search_speed.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    space = search_space(args.space)
    spec = get_proxy(args.proxy)
    settings = proxy_settings(RunConfig(space=space.name, proxies=(spec.name,), options=resolve_options([spec], {}), scale=args.scale))
    params = GAParams(population=args.population, generations=args.generations)
    warm = sample_feasible(space, np.random.default_rng(12345), 1, set())
    load_before = os.getloadavg()
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, prefix in (("uncached", False), ("prefix", True)):
            warmup = ProxyFitness(space, settings, args.seed, prefix=prefix)
            list(warmup.compute(warm))  # tokenizer, batch, first-call costs
            fitness = ProxyFitness(space, settings, args.seed, prefix=prefix)
            wall, cpu = time.perf_counter(), time.process_time()
            summary = run_search(space, fitness, Path(tmp) / label, params=params, progress=False)
            runs[label] = {
                "wall_seconds": time.perf_counter() - wall,
                "cpu_seconds": time.process_time() - cpu,
                "summary": summary,
                "trace": pd.read_csv(Path(tmp) / label / "trace.csv", dtype={"best_arch": str}),
                "rows": pd.read_csv(Path(tmp) / label / "rows.csv", dtype={"arch_hash": str}).set_index("arch_hash")["value"].sort_index(),
            }
            print(f"{label}: {runs[label]['wall_seconds']:.1f} s wall, {runs[label]['cpu_seconds']:.1f} s CPU", flush=True)
    plain, fast = runs["uncached"], runs["prefix"]
    identical_trace = plain["trace"][COMPARED].equals(fast["trace"][COMPARED])
    identical_values = plain["rows"].equals(fast["rows"])
    reuse = fast["summary"]["cost"]["sessions"][-1]["prefix_reuse"]
    evaluations = plain["summary"]["cost"]["evaluations"]
    result = {
        "machine": device_description(),
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "versions": package_versions(),
        "space": space.name,
        "proxy": spec.name,
        "scale": args.scale,
        "batch": [settings.batch_size, settings.seq_len],
        "ga": {"population": params.population, "generations": params.generations, "crossover": params.crossover, "mutation": params.mutation, "select": params.select},
        "evaluations": evaluations,
        "uncached": {"wall_seconds": plain["wall_seconds"], "cpu_seconds": plain["cpu_seconds"], "wall_seconds_per_evaluation": plain["wall_seconds"] / evaluations},
        "prefix": {"wall_seconds": fast["wall_seconds"], "cpu_seconds": fast["cpu_seconds"], "wall_seconds_per_evaluation": fast["wall_seconds"] / evaluations},
        "speedup_wall": plain["wall_seconds"] / fast["wall_seconds"],
        "speedup_cpu": plain["cpu_seconds"] / fast["cpu_seconds"],
        "layers_computed": reuse.get("layers_computed"),
        "layers_reused": reuse.get("layers_reused"),
        "layer_reuse_share": reuse.get("layers_reused", 0) / max(1, reuse.get("layers_reused", 0) + reuse.get("layers_computed", 0)),
        "identical_trace": bool(identical_trace),
        "identical_values": bool(identical_values),
        "best": fast["summary"]["best"],
    }
    write_atomic(Path(args.out), json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("evaluations", "speedup_wall", "speedup_cpu", "layer_reuse_share", "identical_trace", "identical_values")}, indent=2))
    if not (identical_trace and identical_values):
        raise SystemExit("prefix reuse changed the search: see the output file")


if __name__ == "__main__":
    main()
