"""Embedding and encoder blocks of the NLU search space (semantics of ra225/W-PCA, ``mysupernet``).

Notation: ``H`` hidden size (528; 1056 in the large space), ``b = H/4`` the MobileBERT
bottleneck ("inner hidden size"), ``f`` a block's FFN width, ``e = 128`` the word-embedding
width, 12 attention heads in every block.

* :class:`NluEmbeddings` (MobileBERT-style): a token's ``e``-wide embedding is concatenated
  with those of the next and the previous token (zeros beyond the sequence ends), the
  ``3e`` vector is projected to ``H``, position and token-type embeddings (width ``H``) are
  added, then LayerNorm and dropout.
* :class:`BertBlock`: ``a = LN(x + Drop(W_o Attn(x)))``,
  ``y = LN(a + Drop(W_2 GELU(W_1 a)))`` with ``W_1: H → f``; heads of size ``H/12``.
* :class:`MobileBertBlock`: ``u = W_in x`` (``H → b``);
  ``a = NoNorm(u + Drop(W_o Attn(x)))`` where queries, keys and values are projected from
  the full ``x`` (``H → b``, heads of size ``b/12``); ``c = NoNorm(a + Drop(W_2 ReLU(W_1 a)))``
  with ``W_1: b → f``; ``y = NoNorm(x + W_out c)`` (``b → H``, no dropout). One FFN per block.

GELU is the tanh approximation (the reference's ``gelu``). ``NoNorm(x) = x ⊙ γ + β``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from spaces.nlu.arch import BERT, MOBILEBERT
from spaces.taps import Tap


class NoNorm(nn.Module):
    """MobileBERT's element-wise affine replacement of LayerNorm: ``x ⊙ γ + β`` (γ = 1, β = 0 at init)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight + self.bias


def _norm(kind: str, width: int, eps: float) -> nn.Module:
    if kind == "layernorm":
        return nn.LayerNorm(width, eps=eps)
    if kind == "nonorm":
        return NoNorm(width)
    raise ValueError(f"unknown normalisation {kind!r}; allowed: layernorm, nonorm")


def _activation(name: str) -> nn.Module:
    if name == "gelu_tanh":
        return nn.GELU(approximate="tanh")
    if name == "gelu":
        return nn.GELU()
    if name == "relu":
        return nn.ReLU()
    raise ValueError(f"unknown activation {name!r}; allowed: gelu_tanh, gelu, relu")


def _mark(tap: Tap, block_type: str, block_index: int) -> Tap:
    """Record the block family and the block's index in the space (0..11) on a tap."""
    tap.block_type = block_type
    tap.block_index = block_index
    return tap


class NluEmbeddings(nn.Module):
    """Trigram word embeddings projected to the hidden size, plus position and token-type embeddings.

    ``E(t) = Drop(LN(W [w_{t+1}; w_t; w_{t−1}] + c + p_t + s_t))`` with ``w`` the ``e``-wide
    word embeddings (``w_0 = w_{T+1} = 0``), ``W: 3e → H`` and bias ``c``.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        hidden_size: int,
        max_positions: int,
        type_vocab_size: int,
        pad_token_id: int,
        dropout: float,
        eps: float,
    ) -> None:
        super().__init__()
        self.embedding_size = embedding_size
        self.word_embeddings = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_token_id)
        self.trigram_projection = nn.Linear(3 * embedding_size, hidden_size)
        self.position_embeddings = nn.Embedding(max_positions, hidden_size)
        self.token_type_embeddings = nn.Embedding(type_vocab_size, hidden_size)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.tap = Tap("embeddings")

    def current_token_projection(self) -> torch.Tensor:
        """The (H, e) block of the trigram projection that maps a token's own embedding."""
        e = self.embedding_size
        return self.trigram_projection.weight[:, e : 2 * e]

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor:
        words = self.word_embeddings(input_ids)
        following = F.pad(words[:, 1:], (0, 0, 0, 1))
        preceding = F.pad(words[:, :-1], (0, 0, 1, 0))
        x = self.trigram_projection(torch.cat([following, words, preceding], dim=-1))
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = x + self.position_embeddings(positions) + self.token_type_embeddings(token_type_ids)
        return self.tap(self.dropout(self.LayerNorm(x)))


class Attention(nn.Module):
    """Multi-head scaled dot-product attention with output projection and residual normalisation.

    ``out = Norm(r + Drop(W_o · concat_h softmax(Q_h K_hᵀ/√d + mask) V_h))`` where Q, K, V are
    projected from ``x`` (width ``in_width``) to ``width`` and ``r`` is the residual input
    (``x`` itself in BERT blocks, the bottleneck input in MobileBERT blocks).
    """

    def __init__(
        self,
        in_width: int,
        width: int,
        heads: int,
        norm: str,
        dropout: float,
        attention_dropout: float,
        eps: float,
        layer: int,
    ) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"attention width {width} is not a multiple of {heads} heads")
        self.heads = heads
        self.head_size = width // heads
        self.query = nn.Linear(in_width, width)
        self.key = nn.Linear(in_width, width)
        self.value = nn.Linear(in_width, width)
        self.attention_dropout = nn.Dropout(attention_dropout)
        self.output = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout)
        self.norm = _norm(norm, width, eps)
        self.probs_tap = Tap("attention_probs", layer)
        self.heads_tap = Tap("mixer_heads", layer)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        return x.view(batch, tokens, self.heads, self.head_size).transpose(1, 2)

    def forward(self, x: torch.Tensor, residual: torch.Tensor, mask_bias: torch.Tensor | None) -> torch.Tensor:
        query, key, value = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(self.head_size)
        if mask_bias is not None:
            scores = scores + mask_bias
        probs = self.probs_tap(torch.softmax(scores, dim=-1))
        context = self.heads_tap(torch.matmul(self.attention_dropout(probs), value).transpose(1, 2))
        context = context.reshape(x.shape[0], x.shape[1], self.heads * self.head_size)
        return self.norm(residual + self.dropout(self.output(context)))


class FeedForward(nn.Module):
    """One feed-forward layer with residual normalisation: ``Norm(x + Drop(W_2 act(W_1 x)))``."""

    def __init__(self, width: int, ffn_width: int, act: str, norm: str, dropout: float, eps: float, layer: int) -> None:
        super().__init__()
        self.first = nn.Linear(width, ffn_width)
        self.input_tap = Tap("ffn_input", layer, reader=self.first)
        self.first_linear_tap = Tap("ffn_first_linear", layer)
        self.activation = _activation(act)
        self.activation_tap = Tap("ffn_activation", layer)
        self.second = nn.Linear(ffn_width, width)
        self.dropout = nn.Dropout(dropout)
        self.norm = _norm(norm, width, eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.activation_tap(self.activation(self.first_linear_tap(self.first(self.input_tap(x)))))
        return self.norm(x + self.dropout(self.second(h)))


class BertBlock(nn.Module):
    """A post-LN BERT block of width ``hidden`` with an FFN of width ``ffn_width`` (GELU, LayerNorm)."""

    block_type = BERT

    def __init__(
        self,
        hidden: int,
        ffn_width: int,
        heads: int,
        dropout: float,
        attention_dropout: float,
        eps: float,
        act: str,
        layer: int,
        block_index: int,
    ) -> None:
        super().__init__()
        self.attention = Attention(hidden, hidden, heads, "layernorm", dropout, attention_dropout, eps, layer)
        self.attention.proxy_role = "mixer"
        self.ffn = FeedForward(hidden, ffn_width, act, "layernorm", dropout, eps, layer)
        self.ffn.proxy_role = "ffn"
        self.tap = Tap("block_output", layer)
        for tap in (*self.attention.children(), *self.ffn.children(), self.tap):
            if isinstance(tap, Tap):
                _mark(tap, BERT, block_index)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor | None) -> torch.Tensor:
        return self.tap(self.ffn(self.attention(x, x, mask_bias)))


class MobileBertBlock(nn.Module):
    """A MobileBERT bottleneck block: ``H → b`` attention and FFN (ReLU, NoNorm), then back to ``H``."""

    block_type = MOBILEBERT

    def __init__(
        self,
        hidden: int,
        bottleneck: int,
        ffn_width: int,
        heads: int,
        dropout: float,
        attention_dropout: float,
        eps: float,
        act: str,
        layer: int,
        block_index: int,
    ) -> None:
        super().__init__()
        self.bottleneck_in = nn.Linear(hidden, bottleneck)
        self.attention = Attention(hidden, bottleneck, heads, "nonorm", dropout, attention_dropout, eps, layer)
        self.attention.proxy_role = "mixer"
        self.ffn = FeedForward(bottleneck, ffn_width, act, "nonorm", dropout, eps, layer)
        self.ffn.proxy_role = "ffn"
        self.bottleneck_out = nn.Linear(bottleneck, hidden)
        self.norm = NoNorm(hidden)
        self.tap = Tap("block_output", layer)
        for tap in (*self.attention.children(), *self.ffn.children(), self.tap):
            if isinstance(tap, Tap):
                _mark(tap, MOBILEBERT, block_index)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor | None) -> torch.Tensor:
        inner = self.attention(x, self.bottleneck_in(x), mask_bias)
        return self.tap(self.norm(x + self.bottleneck_out(self.ffn(inner))))
