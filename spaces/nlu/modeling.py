"""The NLU-space encoder as a ``transformers`` model.

``NluModel`` is the encoder of one architecture of the W-PCA NLU search space: the
MobileBERT-style embedding followed by one block per layer, each a BERT block or a
MobileBERT block (see :mod:`spaces.nlu.blocks`). The GLUE pooler and classifiers of the
reference code are task heads and not part of the encoder.

The configuration lists the block indices, so ``save_pretrained`` / ``from_pretrained``
round-trip any architecture.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import PreTrainedConfig, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput

from spaces.nlu.arch import BERT, block_type, ffn_width
from spaces.nlu.blocks import BertBlock, MobileBertBlock, NluEmbeddings, NoNorm
from spaces.taps import Tap, collect_taps


class NluConfig(PreTrainedConfig):
    """Configuration of :class:`NluModel`.

    Args:
        blocks: block index (0..11) of every layer; 0..5 BERT, 6..11 MobileBERT.
        hidden_size: width ``H`` of the residual stream (528; 1056 in the large space).
        bottleneck_size: MobileBERT inner width ``b`` (``H/4``).
        ffn_unit: FFN width step; block ``i`` has width ``ffn_unit·(i+1)`` (BERT) or
            ``ffn_unit·(i−5)`` (MobileBERT).
        num_attention_heads: heads of every block (12).
        embedding_size: word-embedding width ``e`` (128).
        bert_act / mobilebert_act: FFN activations (``gelu_tanh`` / ``relu``).
        layer_norm_eps: LayerNorm epsilon (PyTorch's default, as in the reference code).
        pad_token_id: the word embedding's padding index (its row gets no gradient).
    """

    model_type = "proxybench-nlu"

    def __init__(
        self,
        blocks: list[int] | None = None,
        hidden_size: int = 528,
        bottleneck_size: int = 132,
        ffn_unit: int = 132,
        num_attention_heads: int = 12,
        embedding_size: int = 128,
        vocab_size: int = 30522,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        bert_act: str = "gelu_tanh",
        mobilebert_act: str = "relu",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        layer_norm_eps: float = 1e-5,
        initializer_range: float = 0.02,
        pad_token_id: int = 0,
        **kwargs: Any,
    ) -> None:
        self.blocks = [int(b) for b in (blocks or [])]
        self.hidden_size = hidden_size
        self.bottleneck_size = bottleneck_size
        self.ffn_unit = ffn_unit
        self.num_attention_heads = num_attention_heads
        self.embedding_size = embedding_size
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.bert_act = bert_act
        self.mobilebert_act = mobilebert_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range
        self.pad_token_id = pad_token_id
        super().__init__(**kwargs)

    @property
    def num_hidden_layers(self) -> int:
        return len(self.blocks)


def make_block(config: NluConfig, position: int, choice: int) -> nn.Module:
    """The encoder block with index ``choice`` (0..11) at layer ``position`` of a model with ``config``.

    Only the shared sizes of ``config`` are read (not ``config.blocks``), so the SPOS
    supernet and the search's prefix reuse build the very blocks :class:`NluModel` holds.
    """
    common = {
        "ffn_width": ffn_width(choice, config.ffn_unit),
        "heads": config.num_attention_heads,
        "dropout": config.hidden_dropout_prob,
        "attention_dropout": config.attention_probs_dropout_prob,
        "eps": config.layer_norm_eps,
        "layer": position,
        "block_index": choice,
    }
    if block_type(choice) == BERT:
        return BertBlock(config.hidden_size, act=config.bert_act, **common)
    return MobileBertBlock(config.hidden_size, config.bottleneck_size, act=config.mobilebert_act, **common)


def build_block(config: NluConfig, layer: int) -> nn.Module:
    """The encoder block of layer ``layer`` (its index in the space is ``config.blocks[layer]``)."""
    return make_block(config, layer, config.blocks[layer])


def make_embeddings(config: NluConfig) -> NluEmbeddings:
    """The MobileBERT-style embedding block of a model with ``config``."""
    return NluEmbeddings(
        config.vocab_size,
        config.embedding_size,
        config.hidden_size,
        config.max_position_embeddings,
        config.type_vocab_size,
        config.pad_token_id,
        config.hidden_dropout_prob,
        config.layer_norm_eps,
    )


def attention_bias(attention_mask: torch.Tensor | None) -> torch.Tensor | None:
    """Additive attention-score bias ``(1 − mask) · (−10000)`` of shape (B, 1, 1, T), or ``None``."""
    if attention_mask is None:
        return None
    return (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0


def tied_lm_logits(embeddings: NluEmbeddings, hidden_states: torch.Tensor) -> torch.Tensor:
    """Vocabulary logits ``(h · W_c) Eᵀ`` of a decoder tied to ``embeddings`` (see :meth:`NluModel.lm_logits`)."""
    return (hidden_states @ embeddings.current_token_projection()) @ embeddings.word_embeddings.weight.T


class NluPreTrainedModel(PreTrainedModel):
    """BERT initialisation: N(0, 0.02) for linear and embedding weights (every row, as the
    reference code does), zero biases, unit LayerNorm/NoNorm gains and zero shifts.

    ``_init_weights`` is what ``transformers`` applies (``NluModel(config)``, weights missing
    from a checkpoint); :meth:`spaces.nlu.NluSpace.build_model` instead draws the same
    distribution part by part from position seeds (:mod:`spaces.nlu.init`).
    """

    config_class = NluConfig
    base_model_prefix = "nlu"

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, (nn.LayerNorm, NoNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


class NluModel(NluPreTrainedModel):
    """The NLU-space encoder returning the last hidden state (and, on request, every block's)."""

    def __init__(self, config: NluConfig) -> None:
        super().__init__(config)
        if config.hidden_size % config.num_attention_heads or config.bottleneck_size % config.num_attention_heads:
            raise ValueError(
                f"hidden size {config.hidden_size} and bottleneck {config.bottleneck_size} must be multiples "
                f"of {config.num_attention_heads} heads"
            )
        self.embeddings = make_embeddings(config)
        self.layers = nn.ModuleList(build_block(config, i) for i in range(len(config.blocks)))
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def proxy_taps(self) -> dict[str, list[Tap]]:
        """Capture points of this model grouped by kind (see :mod:`spaces.taps`).

        Block taps have ``layer`` = the block's position (0..m−1) and the attributes
        ``block_type`` (``"bert"`` / ``"mobilebert"``) and ``block_index`` (0..11).
        """
        return collect_taps(self)

    def lm_logits(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits ``(..., H) → (..., V)`` from a decoder tied to the input embedding.

        ``logits = (h · W_c) Eᵀ``, where ``E`` (V × e) is the word-embedding matrix and
        ``W_c`` (H × e) the block of the trigram projection applied to a token's own
        embedding: token ``v`` is scored by ``⟨h, W_c E_v⟩``, its contribution to the hidden
        stream at its own position. The decoder has no parameters of its own.
        """
        return tied_lm_logits(self.embeddings, hidden_states)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        output_hidden_states: bool = False,
        return_dict: bool = True,
        **_: Any,
    ) -> BaseModelOutput | tuple:
        mask_bias = attention_bias(attention_mask)
        x = self.embeddings(input_ids, token_type_ids)
        states = [x]
        for layer in self.layers:
            x = layer(x, mask_bias)
            states.append(x)
        hidden_states = tuple(states) if output_hidden_states else None
        if not return_dict:
            return (x, hidden_states) if output_hidden_states else (x,)
        return BaseModelOutput(last_hidden_state=x, hidden_states=hidden_states)
