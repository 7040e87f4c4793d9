"""The NLU search spaces of the W-PCA paper: ``nlu-small``, ``nlu-tiny`` and ``nlu-large``.

=============  ======  ======  =========  ==============  =====================
space          layers  hidden  FFN unit   size            parameter limit
=============  ======  ======  =========  ==============  =====================
``nlu-small``  12      528     132        12^12           15.7M (Sec. 6.2.1)
``nlu-tiny``   6       528     132        12^6            10M (Sec. 6.2.1)
``nlu-large``  12      1056    264        12^12           67M (Appendix E.1)
=============  ======  ======  =========  ==============  =====================

Every space contains all ``(2n)^m`` architectures; the parameter limit is what the search
respects. It applies to the reference code's accounting (:meth:`NluSpace.official_param_count`,
which :meth:`NluSpace.is_feasible` uses), so the paper's limits keep their meaning;
:meth:`NluSpace.param_count` is the size of the built encoder.

Models are position-seeded: :meth:`NluSpace.build_model` draws the embedding block from
``(seed, "embeddings")`` and the block at layer ``p`` with index ``c`` from ``(seed, "block", p, c)``
(:mod:`spaces.nlu.init`), so a block's initial weights never depend on the other layers.

Declarations (:mod:`spaces.base`): the genome (:meth:`NluSpace.genome`) is the ``m`` block
indices, each one of 12, under the parameter limit in the official accounting, with the
embedding block and the blocks as standalone parts; no benchmark; no size strata (every
architecture of a space has the same depth and hidden size).

Enumeration: index ``k`` is written in base 12 with ``m`` digits, the first block the most
significant digit, so ``arch_at(0)`` is ``[0] * m`` and ``arch_at(1)`` ends in ``1``.
"""

from __future__ import annotations

from typing import Any

import torch

from spaces import register_space
from spaces.base import SearchSpace
from spaces.errors import SpaceError
from spaces.genome import Genome, ParamLimit, PositionSeededBlocks
from spaces.nlu.arch import NUM_CHOICES, NluArch, parse_arch
from spaces.nlu.init import bert_init_, block_seed, embeddings_seed, init_position_seeded_
from spaces.nlu.modeling import NluConfig, NluModel, attention_bias, make_block, make_embeddings, tied_lm_logits
from spaces.nlu.params import count_parameters, official_param_count

EMBEDDING_SIZE = 128
VOCAB_SIZE = 30522
MAX_POSITIONS = 512
TYPE_VOCAB = 2
NUM_HEADS = 12


class NluSpace(SearchSpace):
    """One NLU search space: ``depth`` layers, each one of 12 blocks, at hidden size ``hidden_size``.

    Attributes:
        name: registry name.
        depth: number of layers ``m``.
        hidden_size: ``H``; the MobileBERT bottleneck and the FFN unit are ``H/4``.
        param_limit: the search's upper limit on :meth:`official_param_count`.
    """

    variants = ("default",)
    #: Candidate blocks per layer (the genome alphabet of the search).
    num_choices = NUM_CHOICES

    def __init__(self, name: str, depth: int, hidden_size: int, param_limit: int) -> None:
        self.name = name
        self.depth = depth
        self.hidden_size = hidden_size
        self.bottleneck_size = hidden_size // 4
        self.ffn_unit = hidden_size // 4
        self.param_limit = param_limit
        self._genome = Genome(
            depth=depth,
            choices=NUM_CHOICES,
            genes=_blocks,
            from_genes=NluArch,
            limit=ParamLimit(param_limit, self.official_param_count, "official (reference code)", self.check_feasible),
            blocks=PositionSeededBlocks(self.build_embeddings, self.build_block, attention_bias, tied_lm_logits),
        )

    def genome(self) -> Genome:
        """Block indices (one of 12 per layer), the parameter limit in the official accounting, and
        the standalone embedding block and blocks (block weights depend only on the seed, the
        position and the block index: callers pass an architecture-independent seed to
        :meth:`build_model`, see ``bench.scoring.runner.init_seed``)."""
        return self._genome

    def size(self) -> int:
        return NUM_CHOICES**self.depth

    def arch_at(self, index: int) -> NluArch:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size():
            raise SpaceError(f"architecture index {index!r} is out of range; allowed: 0 .. {self.size() - 1}")
        digits = []
        for _ in range(self.depth):
            index, digit = divmod(index, NUM_CHOICES)
            digits.append(digit)
        return NluArch(tuple(reversed(digits)))

    def index_of(self, arch: NluArch) -> int:
        blocks = self.parse(arch).blocks
        index = 0
        for block in blocks:
            index = index * NUM_CHOICES + block
        return index

    def parse(self, obj: Any) -> NluArch:
        return parse_arch(obj, self.depth)

    def model_config(self, arch: NluArch, variant: str | None = None) -> NluConfig:
        """The :class:`NluConfig` that builds ``arch``."""
        self.check_variant(variant)
        return NluConfig(
            blocks=list(self.parse(arch).blocks),
            hidden_size=self.hidden_size,
            bottleneck_size=self.bottleneck_size,
            ffn_unit=self.ffn_unit,
            num_attention_heads=NUM_HEADS,
            embedding_size=EMBEDDING_SIZE,
            vocab_size=VOCAB_SIZE,
            max_position_embeddings=MAX_POSITIONS,
            type_vocab_size=TYPE_VOCAB,
        )

    def param_count(self, arch: NluArch, variant: str | None = None) -> int:
        """Parameters of the built encoder (every ``nn.Parameter`` element, NoNorm included)."""
        return count_parameters(self.model_config(arch, variant))

    def official_param_count(self, arch: NluArch) -> int:
        """The reference code's count (no NoNorm; GLUE pooler and classifiers included)."""
        return official_param_count(
            self.parse(arch),
            hidden_size=self.hidden_size,
            ffn_unit=self.ffn_unit,
            bottleneck_size=self.bottleneck_size,
            embedding_size=EMBEDDING_SIZE,
            vocab_size=VOCAB_SIZE,
            max_positions=MAX_POSITIONS,
            type_vocab_size=TYPE_VOCAB,
        )

    def is_feasible(self, arch: NluArch) -> bool:
        """Whether ``arch`` respects the parameter limit: ``official_param_count(arch) <= param_limit``."""
        return self.official_param_count(arch) <= self.param_limit

    def check_feasible(self, arch: NluArch) -> NluArch:
        """Return ``arch`` (parsed) when it respects the parameter limit.

        Raises:
            SpaceError: naming the count, the limit, the position of the largest block and
                the block indices allowed there (with the other layers unchanged).
        """
        arch = self.parse(arch)
        count = self.official_param_count(arch)
        if count <= self.param_limit:
            return arch
        blocks = list(arch.blocks)
        sizes = [self.official_param_count(NluArch(tuple(blocks[:p] + [6] + blocks[p + 1 :]))) for p in range(self.depth)]
        position = max(range(self.depth), key=lambda p: (count - sizes[p], -p))
        allowed = [
            c for c in range(NUM_CHOICES)
            if self.official_param_count(NluArch(tuple(blocks[:position] + [c] + blocks[position + 1 :]))) <= self.param_limit
        ]
        hint = (
            f"allowed there with the other layers unchanged: {_ranges(allowed)}"
            if allowed
            else "no block there alone brings it under the limit; use smaller blocks (6..11 are the MobileBERT ones)"
        )
        raise SpaceError(
            f"architecture {arch.to_json()} has {count:,} parameters (official accounting), over the "
            f"{self.name} limit of {self.param_limit:,} by {count - self.param_limit:,}; its largest block is "
            f"at position {position} (block index {blocks[position]}); {hint}"
        )

    def build_model(self, arch: NluArch, seed: int, variant: str | None = None) -> NluModel:
        """A model of ``arch`` whose weights depend only on ``seed`` and each part's position.

        The embedding block is drawn from ``(seed, "embeddings")`` and the block at layer
        ``p`` with index ``c`` from ``(seed, "block", p, c)`` (:mod:`spaces.nlu.init`), so a
        block's weights do not depend on the rest of the architecture. Callers pass a seed
        that does not depend on the architecture (``position_seeded``). The model is
        allocated on the meta device and materialised once, so nothing is drawn twice and
        the global random generator is left alone.
        """
        config = self.model_config(arch, variant)
        with torch.device("meta"):
            model = NluModel(config)
        model.to_empty(device="cpu")
        return init_position_seeded_(model, seed)

    def build_embeddings(self, seed: int):
        """The embedding block of every model built with ``seed`` (CPU, initialised)."""
        config = self.model_config([0] * self.depth)
        with torch.device("meta"):
            module = make_embeddings(config)
        module.to_empty(device="cpu")
        return bert_init_(module, embeddings_seed(seed), config.initializer_range)

    def build_block(self, position: int, choice: int, seed: int):
        """The block with index ``choice`` at layer ``position`` of every model built with ``seed``.

        Raises:
            SpaceError: for a position or block index outside the space.
        """
        if not 0 <= position < self.depth:
            raise SpaceError(f"layer position {position} is out of range; allowed: 0..{self.depth - 1}")
        if not 0 <= choice < NUM_CHOICES:
            raise SpaceError(f"position {position}: block index {choice} is out of range; allowed: 0..{NUM_CHOICES - 1}")
        config = self.model_config([0] * self.depth)
        with torch.device("meta"):
            module = make_block(config, position, choice)
        module.to_empty(device="cpu")
        return bert_init_(module, block_seed(seed, position, choice), config.initializer_range)


def _blocks(arch: NluArch) -> tuple[int, ...]:
    """The genes of ``arch``: its block indices."""
    return arch.blocks


def _ranges(values: list[int]) -> str:
    """``[0, 1, 2, 6, 7]`` as ``"0..2, 6..7"``."""
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(f"{start}..{v}" if v != start else str(v))
            start = None
    return ", ".join(parts)


@register_space("nlu-small")
def _nlu_small() -> NluSpace:
    return NluSpace("nlu-small", depth=12, hidden_size=528, param_limit=15_700_000)


@register_space("nlu-tiny")
def _nlu_tiny() -> NluSpace:
    return NluSpace("nlu-tiny", depth=6, hidden_size=528, param_limit=10_000_000)


@register_space("nlu-large")
def _nlu_large() -> NluSpace:
    return NluSpace("nlu-large", depth=12, hidden_size=1056, param_limit=67_000_000)
