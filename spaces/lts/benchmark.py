"""Loaders of the five LiteTransformerSearch benchmarks (archai ``saved_logs``, MIT).

Each set is a folder ``lts/<set>/`` with ``ppl_summary.yaml`` (per model ``config_X_jY``:
``valid_ppl``, ``test_ppl``, ...), ``params_summary.yaml`` and ``config_X/jY/model_config.yaml``
(the model's full config). An entry's id is ``10·X + Y``. Lower perplexity is better; the scores
are stored negated (``neg_valid_ppl``, ``neg_test_ppl``) so that, as everywhere in the product,
a proxy that ranks good models high correlates positively. Models without a perplexity (3 of
``random_TransXL_lm1b``, 1 of ``random_TransXL_wt103_homogeneous``) have no ground truth and are
not entries.

``random_GPT2_lm1b`` is built as a Transformer-XL decoder with the GPT-2 vocabulary: archai's
``params_summary.yaml`` of that set counts, for all 200 models, the parameters of its
Transformer-XL class (relative attention, 5d²+2d per layer, no learned positions), not those of
its GPT-2 class; the configs do not say which was trained (docs/lts.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spaces.benchmark import Benchmark, BenchmarkEntry
from spaces.errors import SpaceError
from spaces.lts.arch import parse_arch

TASKS: tuple[str, ...] = ("neg_valid_ppl", "neg_test_ppl")


@dataclass(frozen=True)
class LtsSet:
    """One released set: its folder, and the family and vocabulary setup its models are built with."""

    name: str
    folder: str
    family: str
    vocab: str

    @property
    def index_file(self) -> str:
        return f"lts/{self.folder}/ppl_summary.yaml"


SETS: tuple[LtsSet, ...] = (
    LtsSet("gpt2-wt103", "random_GPT2_wt103", "gpt2", "gpt2-wt103"),
    LtsSet("gpt2-lm1b", "random_GPT2_lm1b", "transxl", "gpt2-lm1b"),
    LtsSet("transxl-wt103", "random_TransXL_wt103", "transxl", "wt103"),
    LtsSet("transxl-lm1b", "random_TransXL_lm1b", "transxl", "lm1b"),
    LtsSet("transxl-wt103-homogeneous", "random_TransXL_wt103_homogeneous", "transxl", "wt103"),
)


def _yaml(path: Path) -> dict:
    import yaml

    try:
        loaded = yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise SpaceError(f"cannot read {path}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise SpaceError(f"{path} is not a YAML mapping")
    return loaded


def _model_folder(key: str) -> str:
    config, job = key.rsplit("_", 1)
    return f"{config}/{job}"


def _entry_id(key: str) -> int:
    config, job = key.rsplit("_", 1)
    return 10 * int(config.removeprefix("config_")) + int(job.removeprefix("j"))


def config_files(lts_set: LtsSet, index: Path) -> tuple[str, ...]:
    """The model configs of the models the set's perplexity index lists, and its parameter summary."""
    keys = _yaml(index)
    return (f"lts/{lts_set.folder}/params_summary.yaml",
            *(f"lts/{lts_set.folder}/{_model_folder(key)}/model_config.yaml" for key in keys))


def load_set(lts_set: LtsSet, index: Path) -> list[BenchmarkEntry]:
    """The set's models with a perplexity, with their negated validation and test perplexity.

    Raises:
        SpaceError: for a model whose config or perplexity cannot be read, naming it.
    """
    entries = []
    for key, perplexity in _yaml(index).items():
        if not isinstance(perplexity, dict) or "valid_ppl" not in perplexity:
            continue
        config = _yaml(index.parent / _model_folder(key) / "model_config.yaml")
        try:
            arch = parse_arch({**config, "family": lts_set.family, "vocab": lts_set.vocab})
            scores = {"neg_valid_ppl": -float(perplexity["valid_ppl"]), "neg_test_ppl": -float(perplexity["test_ppl"])}
        except (SpaceError, KeyError, TypeError, ValueError) as exc:
            raise SpaceError(f"model {key} of {index.parent} cannot be read: {exc}") from exc
        entries.append(BenchmarkEntry(_entry_id(key), arch, scores))
    return entries


def benchmark_of(lts_set: LtsSet) -> Benchmark:
    """The :class:`spaces.benchmark.Benchmark` declaration of one set."""
    return Benchmark(
        name=lts_set.name,
        file=lts_set.index_file,
        load=lambda path: load_set(lts_set, path),
        tasks=TASKS,
        main_task="neg_valid_ppl",
        main_label="validation perplexity (negated: higher is better)",
        files=lambda path: config_files(lts_set, path),
    )


BENCHMARKS: dict[str, Benchmark] = {s.name: benchmark_of(s) for s in SETS}
