"""The FlexiBERT search space: size, enumeration, parsing, parameter count, model builder.

Model variants (``--variant``):

``trained`` (default)
    The network the benchmark's 500 models actually were when they were pre-trained and
    fine-tuned (Serianni & Kalita's TensorFlow ELECTRA-small code): embedding width 128
    projected to the hidden size; a first FFN layer of width 4·hidden followed by
    ``num_feed_forward − 1`` layers of width ``feed_forward_dimension``; and, in every layer,
    scaled dot-product attention with the layer's number of heads. That code selects the
    operation with identity comparisons of strings read from JSON (``operation_type is "SA"``),
    which are never true, so every layer of every trained model fell back to SDP attention
    (had one been true, its tuple assignment ``a, b, c, d = False`` would have raised).
    See ``docs/flexibert.md``.
``flexibert``
    The architecture as the FlexiBERT space defines it: each layer's named operation
    (SDP/WMA attention, DFT/DCT transform, span-based dynamic convolution with kernel 5/9)
    and ``num_feed_forward`` stacked FFN layers of width ``feed_forward_dimension``.
``published``
    The models behind the benchmark's published proxy values (their PyTorch port as their
    notebook configured it): hidden size 256 and FFN width 1024 whatever the architecture
    says, embedding width 128, the named operations, no output projection after LT layers,
    erf GELU.

Declarations (:mod:`spaces.base`): the benchmark ``bert-benchmark`` (:mod:`spaces.flexibert.benchmark`:
500 trained architectures, GLUE dev scores of 8 tasks and their mean, ranked by the mean);
size strata ``depth x hidden size`` (``"4x256"``); no genome (architectures of different depths
do not share a fixed-length genome).
"""

from __future__ import annotations

from typing import Any

import torch

from spaces import register_space
from spaces.base import SearchSpace
from spaces.benchmark import Benchmark
from spaces.errors import SpaceError
from spaces.flexibert.arch import DEPTHS, HIDDEN_SIZES, LAYER_CHOICES, FlexiBertArch, LayerSpec, parse_arch
from spaces.flexibert.benchmark import BENCHMARK
from spaces.flexibert.modeling import FlexiBertConfig, FlexiBertModel

EMBEDDING_SIZE = 128
VOCAB_SIZE = 30522
MAX_POSITIONS = 512
TYPE_VOCAB = 2
CONV_HEAD_RATIO = 2


def layer_config(layer: LayerSpec, hidden: int, variant: str) -> dict[str, Any]:
    """The explicit per-layer model configuration of ``layer`` under ``variant``."""
    if variant == "trained":
        return {
            "operation": "SA",
            "parameter": "SDP",
            "heads": layer.heads,
            "ffn_widths": [4 * hidden] + [layer.ff_dim] * (layer.ff_stacks - 1),
            "output_projection": True,
        }
    if variant == "flexibert":
        return {
            "operation": layer.operation,
            "parameter": layer.parameter,
            "heads": layer.heads,
            "ffn_widths": [layer.ff_dim] * layer.ff_stacks,
            "output_projection": True,
        }
    if variant == "published":
        return {
            "operation": layer.operation,
            "parameter": layer.parameter,
            "heads": layer.heads,
            "ffn_widths": [1024] * layer.ff_stacks,
            "output_projection": layer.operation != "LT",
        }
    raise SpaceError(f"unknown model variant {variant!r}; allowed: {', '.join(FlexiBertSpace.variants)}")


def model_config(arch: FlexiBertArch, variant: str) -> FlexiBertConfig:
    """The :class:`FlexiBertConfig` that builds ``arch`` under ``variant``."""
    hidden = 256 if variant == "published" else arch.hidden_size
    return FlexiBertConfig(
        layers=[layer_config(layer, hidden, variant) for layer in arch.layers],
        hidden_size=hidden,
        embedding_size=EMBEDDING_SIZE,
        vocab_size=VOCAB_SIZE,
        max_position_embeddings=MAX_POSITIONS,
        type_vocab_size=TYPE_VOCAB,
        hidden_act="gelu" if variant == "published" else "gelu_tanh",
        conv_head_ratio=CONV_HEAD_RATIO,
    )


def count_parameters(config: FlexiBertConfig) -> int:
    """Parameters of :class:`FlexiBertModel` for ``config``, from the layer shapes alone."""
    h, e = config.hidden_size, config.embedding_size

    def linear(n_in: int, n_out: int, bias: bool = True) -> int:
        return n_in * n_out + (n_out if bias else 0)

    total = (config.vocab_size + config.max_position_embeddings + config.type_vocab_size) * e + 2 * e
    if e != h:
        total += linear(e, h)
    for spec in config.layers:
        heads, op = spec["heads"], spec["operation"]
        if op == "SA":
            mixer, width = 3 * linear(h, h) + (h * h if spec["parameter"] == "WMA" else 0), h
        elif op == "LT":
            mixer, width = linear(h, h), h
        else:
            kernel = int(spec["parameter"])
            n_heads = max(1, heads // config.conv_head_ratio)
            inner = n_heads * (h // heads)
            mixer = 3 * linear(h, inner) + (h * kernel + h * inner + inner) + linear(inner, n_heads * kernel) + linear(h, inner)
            width = 2 * inner
        total += mixer
        if spec.get("output_projection", True):
            total += linear(width, h) + 2 * h
        sizes = [h, *spec["ffn_widths"]]
        total += sum(linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])) + linear(sizes[-1], h) + 2 * h
    return total


class FlexiBertSpace(SearchSpace):
    """FlexiBERT as sampled by the Serianni & Kalita benchmark (Table 6)."""

    name = "flexibert"
    variants = ("trained", "flexibert", "published")
    strata = "depth x hidden size"

    def benchmarks(self) -> dict[str, Benchmark]:
        """``bert-benchmark``, the Serianni & Kalita benchmark (:data:`spaces.flexibert.benchmark.BENCHMARK`)."""
        return {BENCHMARK.name: BENCHMARK}

    def stratum(self, arch: FlexiBertArch) -> str:
        """``"<depth>x<hidden size>"``, e.g. ``"4x256"``."""
        return f"{arch.depth}x{arch.hidden_size}"

    def size(self) -> int:
        return len(HIDDEN_SIZES) * sum(LAYER_CHOICES**depth for depth in DEPTHS)

    def arch_at(self, index: int) -> FlexiBertArch:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size():
            raise SpaceError(f"architecture index {index!r} is out of range; allowed: 0 .. {self.size() - 1}")
        per_hidden = self.size() // len(HIDDEN_SIZES)
        hidden_index, rest = divmod(index, per_hidden)
        for depth in DEPTHS:
            if rest < LAYER_CHOICES**depth:
                break
            rest -= LAYER_CHOICES**depth
        digits = []
        for _ in range(depth):
            rest, digit = divmod(rest, LAYER_CHOICES)
            digits.append(digit)
        layers = tuple(LayerSpec.from_choice_index(d) for d in reversed(digits))
        return FlexiBertArch(HIDDEN_SIZES[hidden_index], layers)

    def index_of(self, arch: FlexiBertArch) -> int:
        index = HIDDEN_SIZES.index(arch.hidden_size) * (self.size() // len(HIDDEN_SIZES))
        for depth in DEPTHS:
            if depth == arch.depth:
                break
            index += LAYER_CHOICES**depth
        offset = 0
        for layer in arch.layers:
            offset = offset * LAYER_CHOICES + layer.choice_index()
        return index + offset

    def parse(self, obj: Any) -> FlexiBertArch:
        return parse_arch(obj)

    def param_count(self, arch: FlexiBertArch, variant: str | None = None) -> int:
        return count_parameters(model_config(arch, self.check_variant(variant)))

    def build_model(self, arch: FlexiBertArch, seed: int, variant: str | None = None) -> FlexiBertModel:
        config = model_config(arch, self.check_variant(variant))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = FlexiBertModel(config)
        return model


@register_space("flexibert")
def _flexibert() -> FlexiBertSpace:
    return FlexiBertSpace()
