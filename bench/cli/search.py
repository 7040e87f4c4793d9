"""The ``bench search`` and ``bench spos`` subcommands (registered through ``bench.cli.main.COMMAND_MODULES``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from bench.cli.argtypes import add_common_options, positive_int, proxy_option, read_arch_json
from bench.errors import UserError

log = logging.getLogger("bench")

SEARCH_EXAMPLES = """\
examples:
  bench search --space nlu-small --proxy w-pca --seed 0 --out runs/search/small-w-pca
  bench search --space nlu-small --proxy w-pca --scale cpu --jobs 2 --out results/search/nlu-small-w-pca
  bench search --space nlu-small --proxy w-pca --scale cpu --backend dask --scheduler tcp://10.0.0.1:8786 --out results/search/nlu-small-w-pca
  bench search --space nlu-tiny --proxy params --method random --out runs/search/tiny-params-random
  bench search --space nlu-small --proxy v-pca --proxy-option v-pca.eta=0.9 --population 20 --generations 10 --out runs/search/quick
  bench search --space nlu-small --proxy w-pca --initial my_archs.json --out runs/search/seeded
  bench search --plugin my_proxies --space nlu-small --proxy my-proxy --out runs/search/mine

The defaults are the paper's GA (Sec. 6.2.1): population 50, 40 generations, crossover
probability 1, mutation probability 0.1, the space's parameter limit (official accounting).
Infeasible children are bred again, never scored. Rerunning the same command resumes an
interrupted search from its cache and ends with the result an uninterrupted search gives.
OUT/best_arch.json holds the best architecture, OUT/trace.csv the best and mean fitness
per generation, OUT/summary.json the parameter counts and the cost; score the top
architectures with `bench run --space SPACE --archs OUT/top_archs.json`.
"""

SPOS_TRAIN_EXAMPLES = """\
examples:
  bench spos train --space nlu-tiny --scale smoke --out runs/spos/tiny-smoke
  bench spos train --space nlu-small --scale cpu --out runs/spos/nlu-small-cpu
  bench spos train --space nlu-small --scale paper --device cuda --out runs/spos/nlu-small-paper

Scales: smoke (4 steps of 4 x 16 tokens), cpu (500 steps of 32 x 128 tokens, lr 5e-4: about an
hour on 2 cores for nlu-small), paper (10 epochs of 256 x 128, lr 1e-4; GPU). Rerun the same
command to resume from the last checkpoint; --stop-after N ends a session after N steps.
"""

SPOS_SEARCH_EXAMPLES = """\
examples:
  bench spos search --supernet runs/spos/tiny-smoke --population 4 --generations 2 --out runs/search/tiny-spos
  bench spos search --supernet runs/spos/nlu-small-cpu --out results/search/nlu-small-spos

The fitness is the supernet's masked-LM loss of each path on held-out WikiText-2 windows
(lower is better); the GA settings and outputs are those of `bench search`.
"""


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1], got {text!r}")
    return value


def _ga_arguments(parser: argparse.ArgumentParser) -> None:
    ga = parser.add_argument_group("search")
    ga.add_argument("--method", choices=["ga", "random"], default="ga", help="genetic algorithm (default) or random search with the same number of evaluations")
    ga.add_argument("--population", type=positive_int, default=50, help="architectures scored per generation (default 50)")
    ga.add_argument("--generations", type=positive_int, default=40, help="generations (default 40)")
    ga.add_argument("--crossover", type=_probability, default=1.0, help="probability that a child is bred by uniform crossover (default 1.0)")
    ga.add_argument("--mutation", type=_probability, default=0.1, help="per-layer mutation probability (default 0.1)")
    ga.add_argument("--select", type=positive_int, default=10, help="best architectures so far that parent each generation (default 10)")
    ga.add_argument("--seed", type=int, default=0, help="seed of the search's random choices (and, for proxies, of model initialisation); default 0")
    ga.add_argument("--initial", default=None, metavar="FILE", help="JSON list of architectures to place in generation 0 (each must respect the parameter limit)")
    ga.add_argument("--no-prefix", action="store_true", help="do not reuse the activations of shared block prefixes (same values, slower)")
    ga.add_argument("--prefix-cache-mb", type=positive_int, default=1024, help="memory bound of the prefix activation cache per process (default 1024)")
    add_common_options(ga, device=True)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``search`` and ``spos`` to the ``bench`` command line."""
    search = subparsers.add_parser(
        "search",
        help="genetic or random architecture search with a proxy as fitness",
        description="Search an NLU space for the architecture a proxy ranks best, under the space's parameter limit.",
        epilog=SEARCH_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    search.add_argument("--space", default="nlu-small", help="nlu-small (default), nlu-tiny or nlu-large")
    search.add_argument("--proxy", default="w-pca", help="the fitness: any registered proxy or alias (see `bench list proxies`); default w-pca")
    search.add_argument("--scale", default="smoke", help="smoke | cpu | paper: the proxy batch (as `bench run`); default smoke")
    search.add_argument("--batch-size", type=positive_int, default=None, help="proxy input batch size (overrides the scale)")
    search.add_argument("--seq-len", type=positive_int, default=None, help="proxy input sequence length (overrides the scale)")
    search.add_argument("--sample-seed", type=int, default=0, help="seed of the proxy input batch (as `bench run`); default 0")
    search.add_argument("--text", default="wikitext-2", help="input text: wikitext-2 (validation split, default) or wikitext-2-test")
    search.add_argument("--proxy-option", type=proxy_option, action="append", default=[], metavar="PROXY.OPTION=VALUE", help="set a proxy option, e.g. w-pca.eta=0.95 (repeatable)")
    search.add_argument("--plugin", action="append", default=[], metavar="MODULE", help="import a module that registers proxies (repeatable)")
    search.add_argument("--jobs", type=positive_int, default=1, help="worker processes for each generation's new architectures (joblib); default 1")
    search.add_argument("--backend", default="joblib", choices=["joblib", "dask"], help="joblib worker processes (default) or a dask.distributed cluster; the results do not depend on it")
    search.add_argument("--scheduler", default=None, metavar="ADDRESS", help="dask scheduler address for --backend dask, e.g. tcp://10.0.0.1:8786")
    search.add_argument("--out", default=None, help="search directory; default runs/search/SPACE-PROXY-METHOD-sSEED")
    _ga_arguments(search)
    search.set_defaults(handler=cmd_search)

    spos = subparsers.add_parser(
        "spos",
        help="the one-shot (SPOS) baseline: train a supernet, then search with it",
        description="Single-path one-shot baseline (paper Table 8): a weight-sharing supernet over an NLU space.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `bench spos train --help` and `bench spos search --help` for examples.",
    )
    actions = spos.add_subparsers(dest="spos_command", required=True, metavar="ACTION")
    train = actions.add_parser(
        "train",
        help="train (or resume) a supernet with the masked-LM loss on WikiText-2",
        description="Train a weight-sharing supernet, one uniformly drawn path per batch, with checkpoints.",
        epilog=SPOS_TRAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("--space", default="nlu-small", help="nlu-small (default), nlu-tiny or nlu-large")
    train.add_argument("--scale", default="smoke", help="smoke | cpu | paper (default smoke)")
    train.add_argument("--seed", type=int, default=0, help="seed of initialisation, data order, paths and masks; default 0")
    add_common_options(train, device=True)
    train.add_argument("--steps", type=positive_int, default=None, help="training steps (overrides the scale)")
    train.add_argument("--stop-after", type=positive_int, default=None, metavar="N", help="end this session after N steps (a checkpoint is written; rerun to continue)")
    train.add_argument("--out", default=None, help="supernet directory; default runs/spos/SPACE-SCALE")
    train.set_defaults(handler=cmd_spos_train)

    ssearch = actions.add_parser(
        "search",
        help="GA with the supernet's held-out MLM loss as fitness",
        description="The paper's genetic search, each path scored by the trained supernet's held-out masked-LM loss (lower is better).",
        epilog=SPOS_SEARCH_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ssearch.add_argument("--supernet", required=True, metavar="DIR", help="a directory made by `bench spos train`")
    ssearch.add_argument("--heldout", type=positive_int, default=None, metavar="N", help="held-out windows to score each path on (default: the training scale's)")
    ssearch.add_argument("--eval-batch", type=positive_int, default=None, help="windows per forward pass (default: the training scale's)")
    ssearch.add_argument("--out", default=None, help="search directory; default runs/search/SPACE-spos-sSEED")
    _ga_arguments(ssearch)
    ssearch.set_defaults(handler=cmd_spos_search)


def _command() -> list[str]:
    return ["bench", *sys.argv[1:]]


def _params(args: argparse.Namespace):
    from bench.search.operators import GAParams

    return GAParams(args.population, args.generations, args.crossover, args.mutation, args.select)


def _initial(space, path: str | None) -> list:
    from bench.search.loop import check_initial

    if path is None:
        return []
    file = Path(path)
    raw = read_arch_json(file, "--initial")
    if not isinstance(raw, list) or (raw and not isinstance(raw[0], list)):
        raise UserError(f"{file} must hold a JSON list of architectures, each a list of {space.genome().depth} block indices")
    return check_initial(space, raw, str(file))


def _report(out: str, summary: dict[str, Any]) -> None:
    best = summary.get("best")
    cost = summary["cost"]
    fitness = summary["fitness"]
    print(f"search {out}: {summary['method']} on {summary['space']} with {fitness['label']} ({'higher' if fitness['higher_is_better'] else 'lower'} is better), {summary['generations_done']} generation(s), status {summary['status']}")
    if best is None:
        print("no architecture got a valid fitness value")
    else:
        print(f"best: {best['arch']}  ({best['describe']})")
        print(f"      fitness {best['fitness']:.6g}, found in generation {best['generation_found']}")
        limit = f", {best['params_official']:,} official (limit {summary['param_limit']:,})" if summary["param_limit"] is not None else ""
        print(f"      parameters {best['params_built']:,} built model{limit}")
    print(f"cost: {cost['evaluations']} evaluations ({cost['evaluations_computed']} computed, {cost['cache_hits']} from the cache), {cost['wall_seconds']:.1f} s wall over {len(cost['sessions'])} session(s), {cost['device']}")
    print(f"files: {out}/best_arch.json, trace.csv, population.csv, summary.json, top_archs.json")


def cmd_search(args: argparse.Namespace) -> int:
    from bench.config import RunConfig
    from bench.search.fitness import ProxyFitness, proxy_settings
    from bench.search.loop import run_search, search_space
    from proxies import get_proxy, load_plugins, resolve_options

    load_plugins(args.plugin)
    space = search_space(args.space)
    spec = get_proxy(args.proxy)
    options = resolve_options([spec], dict(args.proxy_option))
    initial = _initial(space, args.initial)
    config = RunConfig(space=space.name, proxies=(spec.name,), options=options, seeds=(args.seed,), scale=args.scale, batch_size=args.batch_size,
                       seq_len=args.seq_len, sample_seed=args.sample_seed, text=args.text, plugins=tuple(args.plugin), data_dir=args.data_dir, jobs=args.jobs,
                       device=args.device)
    settings = proxy_settings(config)
    if args.backend == "dask":
        from bench.scoring.backends import check_backend

        check_backend(settings, "dask", args.scheduler)
    elif args.scheduler:
        raise UserError("--scheduler is for --backend dask; add --backend dask or leave --scheduler out")
    fitness = ProxyFitness(space, settings, args.seed, jobs=args.jobs, prefix=not args.no_prefix, prefix_budget_mb=args.prefix_cache_mb,
                           backend=args.backend, scheduler=args.scheduler)
    out = args.out or f"runs/search/{space.name}-{spec.name}-{args.method}-s{args.seed}"
    summary = run_search(space, fitness, out, method=args.method, params=_params(args), initial=initial, command=_command(), progress=not args.no_progress)
    _report(out, summary)
    return 0


def cmd_spos_train(args: argparse.Namespace) -> int:
    from bench.oneshot.training import train_supernet

    out = args.out or f"runs/spos/{args.space}-{args.scale}"
    cost = train_supernet(args.space, out, scale=args.scale, seed=args.seed, device=args.device, data_dir=args.data_dir, steps=args.steps, stop_after=args.stop_after, command=_command(), progress=not args.no_progress)
    state = "finished" if cost["complete"] else "stopped; rerun the same command to continue"
    print(f"supernet {out}: step {cost['step']} of {cost['total_steps']} ({state}); {cost['wall_seconds']:.1f} s wall, {cost['cpu_seconds']:.1f} s CPU on {', '.join(cost['devices'])}")
    if cost["complete"]:
        print(f"next: bench spos search --supernet {out} --out runs/search/{Path(out).name}-spos")
    return 0


def cmd_spos_search(args: argparse.Namespace) -> int:
    from bench.search.loop import run_search
    from bench.oneshot.fitness import SposFitness

    fitness = SposFitness(args.supernet, seed=args.seed, device=args.device, heldout_sequences=args.heldout, eval_batch=args.eval_batch, data_dir=args.data_dir, prefix=not args.no_prefix, prefix_budget_mb=args.prefix_cache_mb)
    space = fitness.space
    initial = _initial(space, args.initial)
    out = args.out or f"runs/search/{space.name}-spos-s{args.seed}"
    training = fitness.training_cost or {}
    extra = {"supernet_training": {k: training.get(k) for k in ("wall_seconds", "cpu_seconds", "devices", "total_steps")}}
    summary = run_search(space, fitness, out, method=args.method, params=_params(args), initial=initial, command=_command(), progress=not args.no_progress, extra_cost=extra)
    _report(out, summary)
    t = extra["supernet_training"]
    print(f"supernet training: {t['total_steps']} steps, {t['wall_seconds']:.1f} s wall, {t['cpu_seconds']:.1f} s CPU on {', '.join(t['devices'] or [])}")
    return 0
