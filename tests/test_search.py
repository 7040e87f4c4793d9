"""Genetic and random search: operators, determinism, the evaluation cache, resume after SIGKILL,
prefix reuse against the uncached path, the random baseline's budget, and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from bench.cli.main import main
from bench.search.prefix import PrefixProxyScorer, prefix_proxies, prefix_unsupported
from bench.config import RunConfig
from bench.scoring.score import Task, score_task
from bench.search.fitness import ProxyFitness, proxy_settings
from bench.search.loop import run_search, search_space
from bench.search.operators import GAParams, breed, mutate, sample_feasible, uniform_crossover
from proxies import PerLayer, ProxyContext, get_proxy, list_proxies, register_proxy, resolve_options
from proxies.registry import REGISTRY
from spaces import arch_hash, arch_json

TINY = ["--space", "nlu-tiny", "--batch-size", "2", "--seq-len", "8", "--no-progress"]
FITNESS_COLUMNS = ["generation", "evaluations", "best_fitness", "best_arch", "generation_best", "generation_mean", "bred", "infeasible_resampled", "duplicate_resampled", "random_fill"]


def _env():
    return dict(os.environ, PROXYBENCH_OFFLINE="1", TQDM_DISABLE="1")


def _fitness(proxy="w-pca", space_name="nlu-tiny", seed=0, prefix=True, jobs=1, budget_mb=1024, batch=(2, 8)):
    space = search_space(space_name)
    spec = get_proxy(proxy)
    settings = proxy_settings(RunConfig(space=space.name, proxies=(spec.name,), options=resolve_options([spec], {}), scale="smoke", batch_size=batch[0], seq_len=batch[1], jobs=jobs))
    return space, ProxyFitness(space, settings, seed, jobs=jobs, prefix=prefix, prefix_budget_mb=budget_mb)


class Counting:
    """A fitness wrapper that counts the architectures it is asked to compute."""

    def __init__(self, inner):
        self.inner = inner
        self.asked: Counter = Counter()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def compute(self, archs):
        for arch in archs:
            self.asked[arch] += 1
        yield from self.inner.compute(archs)


# --- operators ---------------------------------------------------------------------------------


def test_crossover_and_mutation_semantics():
    rng = np.random.default_rng(0)
    first, second = (0,) * 12, (11,) * 12
    child = uniform_crossover(rng, first, second)
    assert set(child) == {0, 11} and len(child) == 12
    assert mutate(np.random.default_rng(1), first, 0.0, 12) == first
    mutated = [mutate(np.random.default_rng(s), first, 1.0, 12) for s in range(20)]
    assert len({g for m in mutated for g in m}) == 12  # every index reachable
    rates = np.mean([sum(a != b for a, b in zip(first, mutate(np.random.default_rng(s), first, 0.1, 12))) for s in range(400)]) / 12
    assert 0.07 < rates < 0.11  # p = 0.1 per layer, a draw may repeat the old index (11/12 · 0.1)


@pytest.mark.parametrize("name", ["nlu-small", "nlu-tiny", "nlu-large"])
def test_ga_operators_keep_every_child_feasible_and_new(name):
    space = search_space(name)
    rng = np.random.default_rng(3)
    seen: set = set()
    parents = sample_feasible(space, rng, 10, seen)
    assert all(space.is_feasible(p) for p in parents) and len(set(parents)) == 10
    seen.update(parents)
    totals: Counter = Counter()
    for generation in range(5):
        children, stats = breed(space, np.random.default_rng(generation), parents, GAParams(population=30), seen)
        assert len(children) == 30 and len(set(children)) == 30
        assert all(space.is_feasible(c) for c in children)
        assert not set(children) & seen
        seen.update(children)
        parents = children[:10]
        totals.update(stats)
    assert totals["bred"] > 0
    if name == "nlu-small":
        assert totals["infeasible_resampled"] > 0  # children over the limit were bred again, not scored


def test_sampling_is_uniform_over_feasible_unseen_architectures():
    space = search_space("nlu-tiny")
    rng = np.random.default_rng(0)
    seen = set(sample_feasible(space, rng, 50, set()))
    more = sample_feasible(space, rng, 200, seen)
    assert not set(more) & seen and len(set(more)) == 200 and all(space.is_feasible(a) for a in more)
    # MobileBERT (6..11) and BERT blocks both appear at every position
    for position in range(space.depth):
        kinds = {a.blocks[position] >= 6 for a in more}
        assert kinds == {True, False}


# --- determinism, cache, resume --------------------------------------------------------------------


def _run(tmp_path, name, fitness, params=GAParams(population=6, generations=3), method="ga", **kw):
    space = fitness.space
    summary = run_search(space, fitness, tmp_path / name, method=method, params=params, progress=False, **kw)
    trace = pd.read_csv(tmp_path / name / "trace.csv", dtype={"best_arch": str})
    return summary, trace


def test_same_seed_gives_the_same_search_and_another_seed_another(tmp_path):
    a, trace_a = _run(tmp_path, "a", _fitness()[1])
    b, trace_b = _run(tmp_path, "b", _fitness()[1])
    pd.testing.assert_frame_equal(trace_a[FITNESS_COLUMNS], trace_b[FITNESS_COLUMNS])
    assert a["best"] == b["best"]
    assert json.loads((tmp_path / "a" / "best_arch.json").read_text()) == a["best"]["arch"]
    pop_a = pd.read_csv(tmp_path / "a" / "population.csv")
    pop_b = pd.read_csv(tmp_path / "b" / "population.csv")
    pd.testing.assert_frame_equal(pop_a, pop_b)
    c, _ = _run(tmp_path, "c", _fitness(seed=1)[1])
    pop_c = pd.read_csv(tmp_path / "c" / "population.csv")
    assert set(pop_c["arch"]) != set(pop_a["arch"])


def test_outputs_best_architecture_counts_and_cost(tmp_path):
    space, fitness = _fitness()
    summary, trace = _run(tmp_path, "s", fitness)
    best = space.parse(json.loads((tmp_path / "s" / "best_arch.json").read_text()))
    rows = pd.read_csv(tmp_path / "s" / "rows.csv")
    assert summary["best"]["fitness"] == rows["value"].max()  # W-PCA: higher is better
    assert summary["best"]["params_built"] == space.param_count(best) == space.build_model(best, 0).num_parameters()
    assert summary["best"]["params_official"] == space.official_param_count(best) <= space.param_limit
    assert trace["best_fitness"].is_monotonic_increasing
    assert list(trace["evaluations"]) == [6, 12, 18]
    cost = summary["cost"]
    assert cost["evaluations"] == cost["evaluations_computed"] == 18 and cost["cache_hits"] == 0
    assert cost["wall_seconds"] > 0 and cost["device"].startswith("cpu")
    assert cost["sessions"][0]["prefix_reuse"]["verified_against_uncached"] is True
    top = json.loads((tmp_path / "s" / "top_archs.json").read_text())
    assert top[0] == best.to_json() and all(space.is_feasible(space.parse(a)) for a in top)
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["config"]["fitness"]["proxy"] == "w-pca" and manifest["config"]["settings"]["crossover"] == 1.0


def test_the_cache_never_recomputes(tmp_path):
    _, inner = _fitness()
    counting = Counting(inner)
    params = GAParams(population=5, generations=4)
    first, trace = _run(tmp_path, "s", counting, params)
    assert sum(counting.asked.values()) == 20 and max(counting.asked.values()) == 1
    rows = pd.read_csv(tmp_path / "s" / "rows.csv")
    assert len(rows) == 20 and not rows.duplicated(["space", "arch_hash", "proxy", "proxy_version", "seed"]).any()
    # a rerun reads every value back: nothing is computed again, the result is the same
    _, inner2 = _fitness()
    again = Counting(inner2)
    second, trace2 = _run(tmp_path, "s", again, params)
    assert sum(again.asked.values()) == 0
    assert second["cost"]["sessions"][-1]["cache_hits"] == 20 and second["cost"]["sessions"][-1]["computed"] == 0
    assert second["best"] == first["best"]
    pd.testing.assert_frame_equal(trace[FITNESS_COLUMNS], trace2[FITNESS_COLUMNS])
    assert len(pd.read_csv(tmp_path / "s" / "rows.csv")) == 20


def test_a_longer_search_continues_from_the_cache_of_a_shorter_one(tmp_path, capsys):
    args = ["search", "--proxy", "v-pca", *TINY, "--population", "4", "--generations", "2"]
    assert main([*args, "--out", str(tmp_path / "s")]) == 0
    assert main(["search", "--proxy", "v-pca", *TINY, "--population", "4", "--generations", "3", "--out", str(tmp_path / "s")]) == 2
    assert "holds a run with a different config" in capsys.readouterr().err


@pytest.mark.slow
def test_sigkill_mid_search_then_rerun_gives_the_uninterrupted_result(tmp_path):
    out = tmp_path / "killed"
    args = [sys.executable, "-m", "bench", "search", "--proxy", "w-pca", *TINY, "--population", "6", "--generations", "4", "--out", str(out)]
    process = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows_file = out / "rows.csv"
    deadline = time.time() + 180
    while time.time() < deadline:
        if rows_file.exists() and len(rows_file.read_text().splitlines()) > 8:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = len(rows_file.read_text().splitlines()) - 1
    assert 0 < partial < 24, "the kill should land mid-search"
    finish = subprocess.run(args, env=_env(), capture_output=True, text=True)
    assert finish.returncode == 0, finish.stderr
    rows = pd.read_csv(rows_file)
    assert len(rows) == 24 and not rows.duplicated(["arch_hash"]).any()
    last = json.loads((out / "summary.json").read_text())["cost"]["sessions"][-1]
    assert last["resumed"] and last["computed"] + last["cache_hits"] == 24
    assert last["cache_hits"] >= partial - 1 and last["computed"] < 24  # at most a torn last line is redone
    fresh = tmp_path / "fresh"
    assert main(["search", "--proxy", "w-pca", *TINY, "--population", "6", "--generations", "4", "--out", str(fresh)]) == 0
    resumed_trace = pd.read_csv(out / "trace.csv", dtype={"best_arch": str})
    fresh_trace = pd.read_csv(fresh / "trace.csv", dtype={"best_arch": str})
    pd.testing.assert_frame_equal(resumed_trace[FITNESS_COLUMNS], fresh_trace[FITNESS_COLUMNS])
    assert (out / "best_arch.json").read_text() == (fresh / "best_arch.json").read_text()
    key = ["arch_hash"]
    a = rows.sort_values(key).reset_index(drop=True)
    b = pd.read_csv(fresh / "rows.csv").sort_values(key).reset_index(drop=True)
    pd.testing.assert_series_equal(a["value"], b["value"])


# --- prefix reuse ----------------------------------------------------------------------------


SHARED_PREFIX_ARCHS = [
    [6, 0, 9, 1, 2, 3], [6, 0, 9, 1, 2, 4], [6, 0, 9, 7, 8, 11], [6, 1, 9, 7, 8, 11],
    [11, 11, 11, 11, 11, 11], [6, 0, 9, 1, 2, 3], [6, 0, 10, 1, 2, 3], [11, 11, 11, 11, 11, 10],
]


def _assert_prefix_reuse_is_identical(proxy):
    space, fitness = _fitness(proxy, batch=(3, 12))
    # a small cache forces evictions part of the way
    scorer = PrefixProxyScorer(space, fitness.settings, proxy, 0, budget_bytes=1_000_000)
    for blocks in SHARED_PREFIX_ARCHS:
        arch = space.parse(blocks)
        fast = scorer.score(arch)[0]
        plain = score_task(Task(arch_json(arch), arch_hash(arch), space.index_of(arch), 0, (proxy,)), fitness.settings)[0]
        assert fast["status"] == plain["status"] == "ok", (fast["error"], plain["error"])
        assert fast["value"] == plain["value"], (proxy, blocks)  # bitwise, not approximately
        assert {k: fast[k] for k in ("arch_hash", "arch", "proxy", "proxy_version", "seed", "arch_id")} == {k: plain[k] for k in ("arch_hash", "arch", "proxy", "proxy_version", "seed", "arch_id")}
    stats = scorer.runner.stats()
    assert stats["layers_reused"] > 0
    assert stats["cached_bytes"] <= 1_000_000 or stats["cached_prefixes"] == 1


def test_the_built_in_proxies_with_a_per_layer_rule():
    assert prefix_proxies() == ["activation-distance", "head-confidence", "softmax-confidence", "v-pca", "w-pca"]
    assert get_proxy("w-pca").per_layer.memo is get_proxy("v-pca").per_layer.memo
    assert get_proxy("head-confidence").per_layer.replay == ("mixer_heads",)


@pytest.mark.parametrize("proxy", prefix_proxies())
def test_prefix_reuse_is_identical_to_the_uncached_path(proxy):
    _assert_prefix_reuse_is_identical(proxy)


def _block_means(ctx: ProxyContext) -> list[float]:
    return ctx.cached("test-block-means", lambda: [float(t.to(torch.float64).mean()) for t in ctx.captured["block_output"]])


def test_a_plugin_proxy_with_a_per_layer_rule_reuses_prefixes_identically():
    space = search_space("nlu-tiny")

    @register_proxy(
        "test-per-layer",
        taps=("block_output", "ffn_activation"),
        per_layer=PerLayer(memo=_block_means, replay=("ffn_activation",)),
    )
    def per_layer_proxy(ctx: ProxyContext) -> float:
        """Sum of the block means plus the mean |FFN activation| of every layer."""
        return sum(_block_means(ctx)) + sum(float(a.to(torch.float64).abs().mean()) for a in ctx.captured["ffn_activation"])

    try:
        assert "test-per-layer" in prefix_proxies()
        assert prefix_unsupported(space, "test-per-layer", train_mode=False) is None
        _assert_prefix_reuse_is_identical("test-per-layer")
        _, fitness = _fitness("test-per-layer")
        assert fitness.prefix_active
    finally:
        REGISTRY.unregister("test-per-layer")


def test_a_proxy_without_a_per_layer_rule_names_those_with_one():
    space = search_space("nlu-tiny")
    reason = prefix_unsupported(space, "params", train_mode=False)
    assert reason == "proxy params has no per-layer rule (only " + ", ".join(prefix_proxies()) + ")"
    assert "train-mode" in prefix_unsupported(space, "v-pca", train_mode=True)
    assert prefix_unsupported(SimpleNamespace(name="flat", position_seeded=False), "v-pca", train_mode=False) == "space flat is not position-seeded"


def test_search_with_and_without_prefix_reuse_is_the_same(tmp_path):
    params = GAParams(population=6, generations=3)
    fast, trace_fast = _run(tmp_path, "fast", _fitness("v-pca")[1], params)
    plain, trace_plain = _run(tmp_path, "plain", _fitness("v-pca", prefix=False)[1], params)
    pd.testing.assert_frame_equal(trace_fast[FITNESS_COLUMNS], trace_plain[FITNESS_COLUMNS])
    assert fast["best"] == plain["best"]
    assert fast["cost"]["sessions"][0]["prefix_reuse"]["layers_reused"] > 0
    assert plain["cost"]["sessions"][0]["prefix_reuse"]["active"] is False


def test_gradient_proxies_do_not_use_prefix_reuse():
    _, fitness = _fitness("synaptic-saliency")
    assert not fitness.prefix_active and "needs gradients" in fitness.prefix_reason


# --- budgets, proxies, parallel ------------------------------------------------------------------


def test_random_search_has_the_ga_budget_and_starts_from_the_same_population(tmp_path):
    params = GAParams(population=6, generations=3)
    ga, _ = _run(tmp_path, "ga", _fitness("params")[1], params)
    rnd, trace = _run(tmp_path, "random", _fitness("params")[1], params, method="random")
    assert ga["cost"]["evaluations"] == rnd["cost"]["evaluations"] == 18
    pop_ga = pd.read_csv(tmp_path / "ga" / "population.csv")
    pop_rnd = pd.read_csv(tmp_path / "random" / "population.csv")
    assert list(pop_ga[pop_ga.generation == 0]["arch"]) == list(pop_rnd[pop_rnd.generation == 0]["arch"])
    assert set(pop_rnd["origin"]) == {"random"} and pop_rnd["arch"].is_unique
    assert (trace["bred"] == 0).all()
    manifest = json.loads((tmp_path / "random" / "manifest.json").read_text())
    assert manifest["config"]["settings"] == {"population": 6, "generations": 3}


def test_any_registered_proxy_is_a_fitness_and_its_direction_is_respected(tmp_path):
    @register_proxy("test-small-is-good", label="Small is good", needs_forward=False, higher_is_better=False)
    def small_is_good(ctx):
        """Parameter count, lower is better."""
        return float(ctx.num_params)

    try:
        summary, trace = _run(tmp_path, "s", _fitness("test-small-is-good")[1], GAParams(population=6, generations=3))
        rows = pd.read_csv(tmp_path / "s" / "rows.csv")
        assert summary["best"]["fitness"] == rows["value"].min()
        assert trace["best_fitness"].is_monotonic_decreasing
    finally:
        REGISTRY.unregister("test-small-is-good")


def test_a_gradient_proxy_searches(tmp_path):
    summary, _ = _run(tmp_path, "s", _fitness("synaptic-saliency")[1], GAParams(population=3, generations=2))
    rows = pd.read_csv(tmp_path / "s" / "rows.csv")
    assert (rows["status"] == "ok").all() and len(rows) == 6
    assert summary["best"]["fitness"] == rows["value"].max()


def test_parallel_evaluation_gives_the_same_search(tmp_path):
    params = GAParams(population=6, generations=2)
    one, trace_one = _run(tmp_path, "one", _fitness("v-pca", jobs=1)[1], params)
    two, trace_two = _run(tmp_path, "two", _fitness("v-pca", jobs=2)[1], params)
    pd.testing.assert_frame_equal(trace_one[FITNESS_COLUMNS], trace_two[FITNESS_COLUMNS])
    assert one["best"] == two["best"]


@pytest.fixture(scope="module")
def local_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.mark.parametrize("proxy", ["v-pca", "grad-norm"])  # with prefix reuse, and per-architecture tasks
def test_a_dask_search_is_the_local_search_and_resumes_from_the_same_cache(tmp_path, local_cluster, proxy, capsys):
    args = ["search", "--proxy", proxy, *TINY, "--population", "5", "--generations", "2", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    assert main([*args, "--backend", "dask", "--scheduler", local_cluster, "--out", str(tmp_path / "dask")]) == 0
    local, remote = (pd.read_csv(tmp_path / name / "trace.csv", dtype={"best_arch": str}) for name in ("local", "dask"))
    pd.testing.assert_frame_equal(local[FITNESS_COLUMNS], remote[FITNESS_COLUMNS])
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "local" / "population.csv"), pd.read_csv(tmp_path / "dask" / "population.csv"))
    # the dask directory resumes locally from its cache: nothing is computed again
    assert main([*args, "--out", str(tmp_path / "dask")]) == 0
    sessions = json.loads((tmp_path / "dask" / "summary.json").read_text())["cost"]["sessions"]
    assert [s["computed"] for s in sessions] == [10, 0] and sessions[-1]["cache_hits"] == 10
    capsys.readouterr()


def test_a_scheduler_without_the_dask_backend_is_refused(capsys, tmp_path):
    err = _error(capsys, ["search", "--proxy", "v-pca", *TINY, "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "s")])
    assert "--scheduler is for --backend dask" in err


# --- the command line and bad input --------------------------------------------------------------


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bench: error: ") and "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    "archs, message",
    [
        ([[6, 6, 6, 6, 6]], "architecture 0: expected 6 block indices, got 5"),
        ([[6, 6, 6, 6, 6, 6], [6, 6, 12, 6, 6, 6]], "architecture 1: position 2: block index 12 is out of range; allowed: 0..11"),
        ([[6, 6, "x", 6, 6, 6]], "architecture 0: position 2: block index 'x' is not an integer; allowed: 0..11"),
        ([[4, 11, 11, 11, 5, 11]], "over the nlu-tiny limit of 10,000,000 by 753,260; its largest block is at position 4 (block index 5); allowed there with the other layers unchanged: 6..11"),
    ],
)
def test_bad_initial_architectures_are_named_with_position_and_allowed_values(capsys, tmp_path, archs, message):
    path = tmp_path / "archs.json"
    path.write_text(json.dumps(archs))
    err = _error(capsys, ["search", "--proxy", "params", *TINY, "--initial", str(path), "--out", str(tmp_path / "x")])
    assert message in err
    assert not (tmp_path / "x").exists()


def test_initial_architectures_enter_generation_zero(tmp_path):
    path = tmp_path / "archs.json"
    path.write_text(json.dumps([[6, 7, 8, 9, 10, 11], [0, 6, 6, 6, 6, 6]]))
    assert main(["search", "--proxy", "params", *TINY, "--population", "3", "--generations", "1", "--initial", str(path), "--out", str(tmp_path / "s")]) == 0
    pop = pd.read_csv(tmp_path / "s" / "population.csv")
    assert list(pop["arch"][:2]) == ["[6,7,8,9,10,11]", "[0,6,6,6,6,6]"] and list(pop["origin"]) == ["initial", "initial", "random"]


def test_other_user_errors(capsys, tmp_path):
    assert "space 'flexibert' cannot be searched" in _error(capsys, ["search", "--space", "flexibert", "--out", str(tmp_path / "x")])
    assert "unknown proxy 'wpcaa'; did you mean wpca" in _error(capsys, ["search", "--proxy", "wpcaa", *TINY, "--out", str(tmp_path / "x")])
    assert "unknown scale 'huge'" in _error(capsys, ["search", "--scale", "huge", *TINY, "--out", str(tmp_path / "x")])
    assert "3 initial architectures do not fit in a population of 2" in _error(
        capsys, ["search", "--proxy", "params", *TINY, "--population", "2", "--initial", _write(tmp_path, [[6] * 6, [7] * 6, [8] * 6]), "--out", str(tmp_path / "y")]
    )
    result = subprocess.run([sys.executable, "-m", "bench", "search", "--mutation", "1.5"], capture_output=True, text=True, env=_env())
    assert result.returncode == 2 and "expected a probability in [0, 1], got '1.5'" in result.stderr


def _write(tmp_path, obj) -> str:
    path = tmp_path / "initial.json"
    path.write_text(json.dumps(obj))
    return str(path)


def test_help_explains_with_examples(capsys):
    with pytest.raises(SystemExit) as info:
        main(["search", "--help"])
    printed = capsys.readouterr().out
    assert info.value.code == 0 and "examples:" in printed and "--population" in printed and "--method" in printed


def test_cli_prints_the_best_architecture(tmp_path, capsys):
    assert main(["search", "--proxy", "w-pca", *TINY, "--population", "4", "--generations", "2", "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "best: [" in out and "official (limit 10,000,000)" in out and "8 evaluations (8 computed, 0 from the cache)" in out


def test_search_values_are_the_values_bench_run_gives(tmp_path):
    _run(tmp_path, "s", _fitness("w-pca")[1], GAParams(population=3, generations=1))
    rows = pd.read_csv(tmp_path / "s" / "rows.csv", dtype={"arch_hash": str})
    archs = tmp_path / "archs.json"
    archs.write_text(json.dumps([json.loads(a) for a in rows["arch"]]))
    assert main(["run", "--space", "nlu-tiny", "--proxies", "w-pca", "--archs", str(archs), "--batch-size", "2", "--seq-len", "8", "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    run = pd.read_csv(tmp_path / "run" / "rows.csv", dtype={"arch_hash": str}).set_index("arch_hash")["value"]
    assert rows.set_index("arch_hash")["value"].sort_index().equals(run.sort_index())


@pytest.mark.parametrize("proxy", [spec.name for spec in list_proxies() if spec.in_all])  # published-* read FlexiBERT models only
def test_every_registered_proxy_is_a_fitness(tmp_path, proxy):
    summary, _ = _run(tmp_path, "s", _fitness(proxy)[1], GAParams(population=2, generations=1))
    rows = pd.read_csv(tmp_path / "s" / "rows.csv")
    assert len(rows) == 2 and (rows["status"] == "ok").all(), rows["error"].tolist()
    assert summary["best"] is not None and summary["fitness"]["name"] == proxy
