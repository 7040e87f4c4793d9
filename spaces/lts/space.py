"""The LTS decoder space: size, enumeration, parsing, parameter count, model builder.

One space, ``lts``, with both families (:mod:`spaces.lts.arch`). Declarations
(:mod:`spaces.base`): the five benchmarks of :mod:`spaces.lts.benchmark` (``gpt2-wt103`` the
default, as in LPZero); size strata ``d_model x depth band`` (``"d256-L6-10"``: widths 64..512,
depth bands 2-5, 6-10, 11-16); no genome; proxy inputs are frequency-ranked word ids
(:attr:`tokenizer`), and the gradient loss is next-token cross-entropy.
"""

from __future__ import annotations

from typing import Any

import torch

from spaces import register_space
from spaces.base import SearchSpace
from spaces.benchmark import Benchmark
from spaces.errors import SpaceError
from spaces.lts.arch import (D_EMBEDS, D_INNER_MAX, D_INNER_MIN, D_MODELS, DIV_VALS, FAMILIES, HEADS, LAYERS, VOCABS,
                             LtsArch, parse_arch)
from spaces.lts.benchmark import BENCHMARKS
from spaces.lts.modeling import LtsConfig, LtsModel
from spaces.lts.params import breakdown

_WIDTHS = D_INNER_MAX - D_INNER_MIN + 1
_LAYER_CHOICES = len(HEADS) * _WIDTHS
_SIZES = len(D_MODELS) * len(D_EMBEDS) * len(DIV_VALS)
_BANDS = ((2, 5), (6, 10), (11, 16))


def model_config(arch: LtsArch) -> LtsConfig:
    """The explicit model configuration of ``arch``."""
    setup = arch.setup
    return LtsConfig(
        family=arch.family, d_model=arch.d_model, n_head=list(arch.n_head), d_inner=list(arch.d_inner),
        d_embed=arch.d_embed, div_val=arch.div_val, n_token=setup.n_token, cutoffs=list(setup.cutoffs),
        tie_projs=list(setup.tie_projs), n_positions=setup.tgt_len,
    )


class LtsSpace(SearchSpace):
    """Heterogeneous GPT-2 and Transformer-XL decoders of LiteTransformerSearch."""

    name = "lts"
    strata = "d_model x depth band"
    tokenizer = "word-rank"
    default_loss = "next-token"

    def benchmarks(self) -> dict[str, Benchmark]:
        return dict(BENCHMARKS)

    def stratum(self, arch: LtsArch) -> str:
        low, high = next(band for band in _BANDS if band[0] <= arch.n_layer <= band[1])
        return f"d{arch.d_model}-L{low}-{high}"

    def _per_setup(self) -> int:
        return _SIZES * sum(_LAYER_CHOICES**n for n in LAYERS)

    def size(self) -> int:
        return len(FAMILIES) * len(VOCABS) * self._per_setup()

    def arch_at(self, index: int) -> LtsArch:
        if not 0 <= index < self.size():
            raise SpaceError(f"index {index} is outside the LTS space (0..{self.size() - 1})")
        setup, rest = divmod(index, self._per_setup())
        family, vocab = FAMILIES[setup // len(VOCABS)], list(VOCABS)[setup % len(VOCABS)]
        for n_layer in LAYERS:
            block = _SIZES * _LAYER_CHOICES**n_layer
            if rest < block:
                break
            rest -= block
        sizes, layers = divmod(rest, _LAYER_CHOICES**n_layer)
        d_model, sizes = D_MODELS[sizes // (len(D_EMBEDS) * len(DIV_VALS))], sizes % (len(D_EMBEDS) * len(DIV_VALS))
        d_embed, div_val = D_EMBEDS[sizes // len(DIV_VALS)], DIV_VALS[sizes % len(DIV_VALS)]
        heads, inner = [], []
        for _ in range(n_layer):
            layers, digit = divmod(layers, _LAYER_CHOICES)
            heads.append(HEADS[digit // _WIDTHS])
            inner.append(D_INNER_MIN + digit % _WIDTHS)
        return LtsArch(family, vocab, d_model, tuple(heads), tuple(inner), d_embed, div_val)

    def index_of(self, arch: LtsArch) -> int:
        setup = FAMILIES.index(arch.family) * len(VOCABS) + list(VOCABS).index(arch.vocab)
        offset = sum(_SIZES * _LAYER_CHOICES**n for n in LAYERS if n < arch.n_layer)
        sizes = (D_MODELS.index(arch.d_model) * len(D_EMBEDS) + D_EMBEDS.index(arch.d_embed)) * len(DIV_VALS) + DIV_VALS.index(arch.div_val)
        layers = 0
        for heads, inner in reversed(list(zip(arch.n_head, arch.d_inner))):
            layers = layers * _LAYER_CHOICES + HEADS.index(heads) * _WIDTHS + (inner - D_INNER_MIN)
        return setup * self._per_setup() + offset + sizes * _LAYER_CHOICES**arch.n_layer + layers

    def parse(self, obj: Any) -> LtsArch:
        return parse_arch(obj)

    def param_count(self, arch: LtsArch, variant: str | None = None) -> int:
        self.check_variant(variant)
        return breakdown(arch)["total"]

    def build_model(self, arch: LtsArch, seed: int, variant: str | None = None) -> LtsModel:
        self.check_variant(variant)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = LtsModel(model_config(arch))
        return model


@register_space("lts")
def _lts() -> LtsSpace:
    return LtsSpace()
