"""Parameter counts of NLU-space architectures, in two accountings.

``count_parameters`` -- the built model
    Every ``nn.Parameter`` element of :class:`~spaces.nlu.modeling.NluModel` (the encoder,
    no task heads). With ``linear(a, b) = a·b + b``:

    * embeddings: ``V·e + P·H + S·H + linear(3e, H) + 2H`` (word, position, token type,
      trigram projection, LayerNorm);
    * BERT block of FFN width ``f``: ``4·linear(H, H) + 2H + linear(H, f) + linear(f, H) + 2H
      = 4H² + 9H + (2H + 1)·f``;
    * MobileBERT block: ``linear(H, b)`` (bottleneck in) ``+ 3·linear(H, b)`` (Q, K, V)
      ``+ linear(b, b) + 2b`` (attention output, NoNorm) ``+ linear(b, f) + linear(f, b) + 2b``
      (FFN, NoNorm) ``+ linear(b, H) + 2H`` (bottleneck out, NoNorm)
      ``= 5Hb + 3H + b² + 10b + (2b + 1)·f``.

``official_param_count`` -- the reference code's accounting (ra225/W-PCA,
``MultiTaskMySupernet.params``), which the paper's parameter limits refer to
    All embedding parameters; per block the weights and biases of ``Linear`` layers (at the
    block's FFN width) and of ``LayerNorm`` layers, but not of ``NoNorm`` layers (``4b + 2H``
    per MobileBERT block: 1,584 at H = 528); the GLUE pooler ``linear(H, H)``; and the
    bias-free classifiers of the eight GLUE training tasks, ``H × 16`` weights (16 = 3 + 2 + 2
    + 2 + 2 + 1 + 2 + 2 outputs for MNLI, QQP, QNLI, SST-2, CoLA, STS-B, MRPC, RTE).
    At H = 528: embeddings 4,382,544; BERT block 1,119,888 + 1,057·f; MobileBERT block
    367,224 + 265·f; pooler 279,312; classifiers 8,448.
"""

from __future__ import annotations

from typing import Iterable

from spaces.nlu.arch import BERT, block_type, ffn_width

#: Total output width of the reference's eight GLUE classifiers (bias-free).
GLUE_CLASSIFIER_OUTPUTS = 16


def _linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def embedding_params(vocab: int, embedding: int, hidden: int, positions: int, types: int) -> int:
    """Parameters of the MobileBERT-style embedding (identical in both accountings)."""
    return vocab * embedding + (positions + types) * hidden + _linear(3 * embedding, hidden) + 2 * hidden


def bert_block_params(hidden: int, ffn: int) -> int:
    """Parameters of a BERT block (identical in both accountings): ``4H² + 9H + (2H + 1)·f``."""
    return 4 * _linear(hidden, hidden) + 2 * hidden + _linear(hidden, ffn) + _linear(ffn, hidden) + 2 * hidden


def mobilebert_block_params(hidden: int, bottleneck: int, ffn: int, count_nonorm: bool = True) -> int:
    """Parameters of a MobileBERT block; ``count_nonorm=False`` leaves out its ``4b + 2H`` NoNorm ones."""
    b = bottleneck
    total = 4 * _linear(hidden, b) + _linear(b, b) + _linear(b, ffn) + _linear(ffn, b) + _linear(b, hidden)
    if count_nonorm:
        total += 4 * b + 2 * hidden
    return total


def _blocks_params(blocks: Iterable[int], hidden: int, bottleneck: int, unit: int, count_nonorm: bool) -> int:
    total = 0
    for index in blocks:
        width = ffn_width(index, unit)
        if block_type(index) == BERT:
            total += bert_block_params(hidden, width)
        else:
            total += mobilebert_block_params(hidden, bottleneck, width, count_nonorm)
    return total


def count_parameters(config) -> int:
    """Number of ``nn.Parameter`` elements of :class:`~spaces.nlu.modeling.NluModel` for ``config``."""
    h = config.hidden_size
    return embedding_params(
        config.vocab_size, config.embedding_size, h, config.max_position_embeddings, config.type_vocab_size
    ) + _blocks_params(config.blocks, h, config.bottleneck_size, config.ffn_unit, count_nonorm=True)


def official_param_count(
    arch,
    hidden_size: int = 528,
    ffn_unit: int | None = None,
    bottleneck_size: int | None = None,
    embedding_size: int = 128,
    vocab_size: int = 30522,
    max_positions: int = 512,
    type_vocab_size: int = 2,
) -> int:
    """The reference code's parameter count of ``arch`` (see the module docstring).

    Args:
        arch: an :class:`~spaces.nlu.arch.NluArch` or a sequence of block indices.
        hidden_size: 528 (small, tiny) or 1056 (large).
        ffn_unit, bottleneck_size: default to ``hidden_size / 4``.

    Example:
        >>> official_param_count([6] * 12)
        9496752
    """
    blocks = getattr(arch, "blocks", arch)
    h = hidden_size
    unit = ffn_unit if ffn_unit is not None else h // 4
    b = bottleneck_size if bottleneck_size is not None else h // 4
    return (
        embedding_params(vocab_size, embedding_size, h, max_positions, type_vocab_size)
        + _blocks_params(blocks, h, b, unit, count_nonorm=False)
        + _linear(h, h)
        + GLUE_CLASSIFIER_OUTPUTS * h
    )
