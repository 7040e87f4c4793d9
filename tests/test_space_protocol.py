"""Spaces behind one protocol: a toy space declared only through the declarations of
:mod:`spaces.base` is searched, sampled and benchmarked by the unchanged drivers; the
built-in spaces' declarations reproduce what the drivers computed from the spaces' shapes."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import pytest

from bench.errors import UserError
from bench.search.loop import run_search, search_space
from bench.search.operators import MAX_BREED_TRIES, GAParams, breed, mutate, sample_feasible, uniform_crossover
from spaces import Benchmark, BenchmarkEntry, Genome, ParamLimit, SearchSpace, SpaceError, arch_hash, arch_json, get_space, list_spaces, register_space

TOY = "toy-protocol"
TOY_DEPTH, TOY_CHOICES, TOY_LIMIT = 5, 4, 150
TOY_FILE = "toy/benchmark.json"


@dataclass(frozen=True)
class ToyArch:
    """A toy architecture: one gene per layer."""

    genes: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "genes", tuple(int(g) for g in self.genes))

    def to_json(self) -> list[int]:
        return list(self.genes)

    def describe(self) -> str:
        return "-".join(map(str, self.genes))


def _load_toy(path) -> list[BenchmarkEntry]:
    raw = json.loads(path.read_text())
    return [BenchmarkEntry(item["id"], ToyArch(item["arch"]), {"mean": float(item["mean"]), "a": float(item["a"])}) for item in raw]


class ToySpace(SearchSpace):
    """``TOY_DEPTH`` genes in ``0 .. TOY_CHOICES-1``; ``param_count`` grows with the genes."""

    name = TOY
    strata = "first gene"

    def __init__(self) -> None:
        self._genome = Genome(TOY_DEPTH, TOY_CHOICES, lambda a: a.genes, ToyArch, ParamLimit(TOY_LIMIT, self.param_count, "toy count"))

    def size(self) -> int:
        return TOY_CHOICES**TOY_DEPTH

    def arch_at(self, index: int) -> ToyArch:
        digits = []
        for _ in range(TOY_DEPTH):
            index, digit = divmod(index, TOY_CHOICES)
            digits.append(digit)
        return ToyArch(tuple(reversed(digits)))

    def index_of(self, arch: ToyArch) -> int:
        index = 0
        for gene in arch.genes:
            index = index * TOY_CHOICES + gene
        return index

    def parse(self, obj: Any) -> ToyArch:
        if isinstance(obj, ToyArch):
            obj = list(obj.genes)
        if not isinstance(obj, list) or len(obj) != TOY_DEPTH or not all(isinstance(g, int) and 0 <= g < TOY_CHOICES for g in obj):
            raise SpaceError(f"a toy architecture is a list of {TOY_DEPTH} genes in 0..{TOY_CHOICES - 1}, got {obj!r}")
        return ToyArch(tuple(obj))

    def param_count(self, arch: ToyArch, variant: str | None = None) -> int:
        return 100 + 10 * sum(arch.genes)

    def build_model(self, arch: ToyArch, seed: int, variant: str | None = None):
        raise NotImplementedError("the toy space builds no models")

    def genome(self) -> Genome:
        return self._genome

    def benchmarks(self) -> dict[str, Benchmark]:
        return {"toy": Benchmark("toy", TOY_FILE, _load_toy, ("mean", "a"), "mean", "toy mean")}

    def stratum(self, arch: ToyArch) -> str:
        return f"g{arch.genes[0]}"


if TOY not in list_spaces():
    register_space(TOY)(ToySpace)


class ToyFitness:
    """A fitness that needs no model: higher when the genes are near ``(1, 2, 3, 0, 1)``."""

    name, label, version, higher_is_better = "toy-fit", "Toy fitness", "1", True

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        self.space, self.seed = space, seed
        self.asked: Counter = Counter()

    def config(self) -> dict[str, Any]:
        return {"kind": "toy"}

    def session_info(self) -> dict[str, Any]:
        return {}

    def compute(self, archs: Sequence[ToyArch]) -> Iterator[list[dict[str, Any]]]:
        for arch in archs:
            self.asked[arch] += 1
            value = -float(sum(abs(g - t) for g, t in zip(arch.genes, (1, 2, 3, 0, 1))))
            yield [{"space": self.space.name, "arch_id": self.space.index_of(arch), "arch_hash": arch_hash(arch), "arch": arch_json(arch), "proxy": self.name,
                    "proxy_version": self.version, "seed": self.seed, "value": value, "seconds": 0.0, "pass_seconds": 0.0, "status": "ok", "error": ""}]


# --- a toy space, declared only through the protocol --------------------------------------------


def test_toy_space_is_searchable_through_its_declaration():
    space = search_space(TOY)
    assert isinstance(space, ToySpace) and not space.position_seeded
    with pytest.raises(UserError, match=f"searchable spaces: .*{TOY}"):
        search_space("flexibert")


def test_operators_on_the_toy_space_keep_children_feasible_and_new():
    space = get_space(TOY)
    genome = space.genome()
    rng = np.random.default_rng(0)
    parents = sample_feasible(space, rng, 6, set())
    assert len(set(parents)) == 6 and all(space.param_count(p) <= TOY_LIMIT for p in parents)
    children, stats = breed(space, rng, parents, GAParams(population=10), set(parents))
    assert len(set(children)) == 10 and not set(children) & set(parents)
    assert all(genome.is_feasible(c) and isinstance(c, ToyArch) for c in children)
    assert stats["bred"] + stats["random_fill"] == 10


@pytest.mark.parametrize("method", ["ga", "random"])
def test_ga_and_random_search_run_on_the_toy_space(tmp_path, method):
    space = get_space(TOY)
    params = GAParams(population=8, generations=6, select=3, mutation=0.3)
    fitness = ToyFitness(space)
    summary = run_search(space, fitness, tmp_path / method, method=method, params=params, initial=[ToyArch((0,) * TOY_DEPTH)], progress=False)
    population = pd.read_csv(tmp_path / method / "population.csv")
    assert len(population) == 48 and population["arch_hash"].is_unique
    assert max(fitness.asked.values()) == 1 and len(fitness.asked) == 48
    assert all(space.param_count(space.parse(json.loads(a))) <= TOY_LIMIT for a in population["arch"])
    assert summary["status"] == "complete" and summary["param_limit"] == TOY_LIMIT
    best = summary["best"]
    assert best["fitness"] == population["fitness"].max() and best["feasible"]
    assert best["params_official"] == best["params_built"] == space.param_count(space.parse(best["arch"]))
    assert best["describe"] == "-".join(map(str, best["arch"]))
    config = json.loads((tmp_path / method / "manifest.json").read_text())["config"]
    assert config["param_limit"] == TOY_LIMIT and config["limit_accounting"] == "toy count"
    again = ToyFitness(space)
    run_search(space, again, tmp_path / f"{method}-again", method=method, params=params, initial=[ToyArch((0,) * TOY_DEPTH)], progress=False)
    pd.testing.assert_frame_equal(population, pd.read_csv(tmp_path / f"{method}-again" / "population.csv"))


def test_ga_beats_its_first_generation_on_the_toy_space(tmp_path):
    space = get_space(TOY)
    run_search(space, ToyFitness(space), tmp_path / "s", params=GAParams(population=8, generations=8, select=3), progress=False)
    trace = pd.read_csv(tmp_path / "s" / "trace.csv")
    assert trace["best_fitness"].is_monotonic_increasing and trace["best_fitness"].iloc[-1] > trace["best_fitness"].iloc[0]
    assert trace["bred"].iloc[1:].sum() > 0


def test_toy_initial_architectures_are_checked_against_the_declared_limit():
    from bench.search.loop import check_initial

    space = get_space(TOY)
    assert check_initial(space, [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], "file") == [ToyArch((0,) * 5)]
    with pytest.raises(UserError, match=r"file, architecture 1: .*160 parameters \(toy count\), over the limit of 150"):
        check_initial(space, [[0] * 5, [2, 2, 1, 1, 0]], "file")


def test_a_space_without_blocks_gets_no_prefix_reuse_nor_supernet():
    from bench.oneshot.supernet import spos_space
    from bench.search.prefix import prefix_unsupported

    assert prefix_unsupported(get_space(TOY), "w-pca", False) == f"space {TOY} is not position-seeded"
    with pytest.raises(UserError, match="no position-seeded blocks"):
        spos_space(TOY)
    with pytest.raises(UserError, match="cannot be searched"):
        spos_space("flexibert")


def test_select_archs_reads_the_toy_benchmark(tmp_path, monkeypatch):
    from bench import data
    from bench.scoring.benchmarks import run_benchmark
    from bench.scoring.runner import select_archs

    entries = [{"id": i, "arch": get_space(TOY).arch_at(i * 7).to_json(), "mean": float((i * 37) % 20), "a": float(i)} for i in range(20)]
    path = tmp_path / TOY_FILE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(entries))
    monkeypatch.setitem(data.DATA_FILES, TOY_FILE, data.DataFile(hashlib.sha256(path.read_bytes()).hexdigest(), "https://example.invalid/toy.json"))
    selection = select_archs(get_space(TOY), "benchmark", 5, 0, str(tmp_path))
    assert selection.description == {"benchmark": TOY_FILE, "limit": 5} and selection.data_files == (TOY_FILE,)
    means = sorted(e["mean"] for e in entries)
    picked = {arch_hash(a) for a in selection.archs}
    truth = [t for t in selection.ground_truth if t["arch_hash"] in picked and t["task"] == "mean"]
    assert sorted(t["score"] for t in truth) == [means[i] for i in (0, 5, 10, 14, 19)]  # spread over the ranking by the main task
    deciles = select_archs(get_space(TOY), "deciles", None, 0, str(tmp_path))
    assert len(deciles.archs) == 10
    benchmark = run_benchmark({"space": TOY, "archs": selection.description})
    assert benchmark.tasks == ("mean", "a") and benchmark.main_label == "toy mean"


def test_spaces_without_a_benchmark_say_so():
    from bench.scoring.runner import select_archs

    with pytest.raises(UserError, match="space 'nlu-tiny' has no trained benchmark; use --archs N or --archs FILE.json"):
        select_archs(get_space("nlu-tiny"), "deciles", None, 0, None)


# --- the built-in spaces' declarations ----------------------------------------------------------


def _old_stratum_of(text: str) -> str:
    """The stratum as read from the shape of the JSON before spaces declared it."""
    arch = json.loads(text)
    if isinstance(arch, dict) and "encoder_layers" in arch:
        return f"{len(arch['encoder_layers'])}x{arch['hidden_size']}"
    if isinstance(arch, list):
        return f"{len(arch)}"
    return "all"


def test_flexibert_stratum_equals_the_json_shape_on_all_benchmark_architectures(benchmark, space):
    from bench.analysis.stats import stratum_of

    assert len(benchmark) == 500
    for entry in benchmark:
        text = arch_json(entry.arch)
        assert space.stratum(entry.arch) == _old_stratum_of(text) == stratum_of(space, text)
    assert Counter(space.stratum(e.arch) for e in benchmark) == {"2x128": 123, "2x256": 116, "4x128": 128, "4x256": 133}


def test_flexibert_declares_its_benchmark(data_dir, benchmark, space):
    from bench.scoring.benchmarks import default_benchmark, load_entries
    from spaces.flexibert import GLUE_MEAN, GLUE_TASKS

    declared = default_benchmark(space)
    assert declared.file == "flexibert/BERT_benchmark.json" and declared.tasks == (GLUE_MEAN, *GLUE_TASKS) and declared.main_task == "glue"
    assert load_entries(declared, str(data_dir)) == benchmark
    assert space.genome() is None and not space.position_seeded


@pytest.mark.parametrize("name", ["nlu-small", "nlu-tiny", "nlu-large"])
def test_nlu_genome_is_the_space_block_structure(name):
    space = get_space(name)
    genome = space.genome()
    assert (genome.depth, genome.choices, genome.limit.limit) == (space.depth, 12, space.param_limit)
    assert space.position_seeded and genome.blocks is not None and genome.blocks.lm_logits is not None
    rng = np.random.default_rng(1)
    for _ in range(50):
        arch = space.sample(rng)
        assert genome.from_genes(genome.genes(arch)) == arch
        assert genome.is_feasible(arch) == space.is_feasible(arch)
    assert space.stratum(arch) == "all" and space.benchmarks() == {}


def _breed_by_blocks(space, rng, parents, params, seen):
    """The GA's breeding written against the NLU space's own attributes (``blocks``,
    ``num_choices``, ``is_feasible``), as before the genome declaration."""
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
    found: list = []
    while len(found) < params.population - len(children):
        arch = space.sample(rng)
        if arch in taken or not space.is_feasible(arch):
            continue
        taken.add(arch)
        found.append(arch)
    stats["random_fill"] = len(found)
    return children + found, stats


@pytest.mark.parametrize("name", ["nlu-small", "nlu-tiny"])
@pytest.mark.parametrize("params", [GAParams(population=25), GAParams(population=12, crossover=0.5, mutation=0.6), GAParams(population=4, crossover=0.0, mutation=0.0)])
def test_breed_draws_the_same_sequence_as_on_the_space_attributes(name, params):
    space = search_space(name)
    for seed in range(3):
        parents = sample_feasible(space, np.random.default_rng(100 + seed), 8, set())
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        assert breed(space, a, parents, params, set(parents)) == _breed_by_blocks(space, b, parents, params, set(parents))
        assert a.integers(1 << 30) == b.integers(1 << 30)  # the generators end in the same state
