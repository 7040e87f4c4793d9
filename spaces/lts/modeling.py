"""LTS decoders as ``transformers`` models: the GPT-2 and Transformer-XL families.

``LtsModel`` holds ``embeddings`` (the adaptive input embedding and, for GPT-2, the learned
positions), one block per layer, and ``lm_head``, the adaptive softmax tied to the embedding.
It returns the last hidden state; :meth:`LtsModel.lm_nll` and :meth:`LtsModel.lm_logits` read
the softmax.

GPT-2 block (pre-LayerNorm): ``x + Attn(LN₁ x)``, then ``x + W₂ gelu(W₁ LN₂ x)``; causal
softmax attention over ``n_head`` heads of ``d_model / n_head``; a final LayerNorm.

Transformer-XL block (post-LayerNorm, ``attn_type`` 0 of the reference code, no memory: one
segment): with ``R`` the sinusoidal embeddings of the distances ``T−1 … 0`` and the per-layer
biases ``u`` (``r_w_bias``) and ``v`` (``r_r_bias``), the score of query ``i`` and key ``j`` is
``((q_i + u)·k_j + (q_i + v)·W_r R_{i−j}) / √d_head`` (the relative shift of Dai et al. 2019),
causally masked; then ``LN(x + W_o attn)`` and ``LN(h + W₂ relu(W₁ h))``.

Initialisation: N(0, 0.02) for linear layers, embedding tables, cluster weights and the
relative biases; N(0, 0.01) for the embedding and softmax projections (archai's
``proj_init_std``); zero biases; unit LayerNorm gains.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedConfig, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput

from spaces.lts.adaptive import AdaptiveEmbedding, AdaptiveLogSoftmax, Projection
from spaces.taps import Tap, collect_taps


class LtsConfig(PreTrainedConfig):
    """Configuration of :class:`LtsModel` (see :class:`spaces.lts.arch.LtsArch` for the fields)."""

    model_type = "proxybench-lts"

    def __init__(
        self,
        family: str = "gpt2",
        d_model: int = 128,
        n_head: list[int] | None = None,
        d_inner: list[int] | None = None,
        d_embed: int = 128,
        div_val: int = 1,
        n_token: int = 50264,
        cutoffs: list[int] | None = None,
        tie_projs: list[bool] | None = None,
        n_positions: int = 192,
        dropout: float = 0.1,
        dropatt: float = 0.0,
        layer_norm_eps: float = 1e-5,
        **kwargs: Any,
    ) -> None:
        self.family = family
        self.d_model = d_model
        self.n_head = [int(h) for h in (n_head or [2, 2])]
        self.d_inner = [int(f) for f in (d_inner or [512] * len(self.n_head))]
        self.d_embed = d_embed
        self.div_val = div_val
        self.n_token = n_token
        self.cutoffs = [int(c) for c in (cutoffs or [n_token])]
        self.tie_projs = [bool(t) for t in (tie_projs or [False] * len(self.cutoffs))]
        self.n_positions = n_positions
        self.dropout = dropout
        self.dropatt = dropatt
        self.layer_norm_eps = layer_norm_eps
        super().__init__(**kwargs)

    @property
    def num_hidden_layers(self) -> int:
        return len(self.n_head)

    @property
    def hidden_size(self) -> int:
        return self.d_model


class GptAttention(nn.Module):
    """Causal multi-head softmax attention with a fused QKV projection (GPT-2's ``c_attn``, ``c_proj``)."""

    def __init__(self, d_model: int, heads: int, dropatt: float, dropout: float, layer: int) -> None:
        super().__init__()
        self.heads, self.head_size = heads, d_model // heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.output = nn.Linear(d_model, d_model)
        self.attention_dropout, self.dropout = nn.Dropout(dropatt), nn.Dropout(dropout)
        self.probs_tap = Tap("attention_probs", layer)
        self.heads_tap = Tap("mixer_heads", layer)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        q, k, v = (t.view(batch, tokens, self.heads, self.head_size).transpose(1, 2) for t in self.qkv(x).chunk(3, dim=-1))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_size) + bias
        probs = self.probs_tap(torch.softmax(scores, dim=-1))
        context = self.heads_tap((self.attention_dropout(probs) @ v).transpose(1, 2))
        return self.dropout(self.output(context.reshape(batch, tokens, -1)))


class RelativeAttention(nn.Module):
    """Transformer-XL relative positional attention, post-LayerNorm: ``LN(x + W_o attn(x))``."""

    def __init__(self, d_model: int, heads: int, dropatt: float, dropout: float, eps: float, layer: int) -> None:
        super().__init__()
        self.heads, self.head_size = heads, d_model // heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.position = nn.Linear(d_model, d_model, bias=False)
        self.output = nn.Linear(d_model, d_model, bias=False)
        self.norm = nn.LayerNorm(d_model, eps=eps)
        self.attention_dropout, self.dropout = nn.Dropout(dropatt), nn.Dropout(dropout)
        self.probs_tap = Tap("attention_probs", layer)
        self.heads_tap = Tap("mixer_heads", layer)

    @staticmethod
    def relative_shift(x: torch.Tensor) -> torch.Tensor:
        """(B, H, T, K) scores against distances ``K−1 … 0`` → scores against keys ``0 … K−1``."""
        batch, heads, queries, keys = x.shape
        padded = F.pad(x, (1, 0)).view(batch, heads, keys + 1, queries)
        return padded[:, :, 1:].view(batch, heads, queries, keys)

    def forward(self, x: torch.Tensor, positions: torch.Tensor, u: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        q, k, val = (t.view(batch, tokens, self.heads, self.head_size) for t in self.qkv(x).chunk(3, dim=-1))
        r = self.position(positions).view(tokens, self.heads, self.head_size)
        content = torch.einsum("bihd,bjhd->bhij", q + u, k)
        position = self.relative_shift(torch.einsum("bihd,jhd->bhij", q + v, r))
        scores = (content + position) / math.sqrt(self.head_size) + bias
        probs = self.probs_tap(torch.softmax(scores, dim=-1))
        context = self.heads_tap(torch.einsum("bhij,bjhd->bihd", self.attention_dropout(probs), val))
        return self.norm(x + self.dropout(self.output(context.reshape(batch, tokens, -1))))


class FeedForward(nn.Module):
    """``W₂ act(W₁ x)`` with dropout after it: GPT-2's MLP (GELU, tanh form), or Transformer-XL's
    ``CoreNet`` (ReLU, and dropout after the activation too)."""

    def __init__(self, d_model: int, d_inner: int, act: str, dropout: float, layer: int) -> None:
        super().__init__()
        self.first = nn.Linear(d_model, d_inner)
        self.input_tap = Tap("ffn_input", layer, reader=self.first)
        self.first_linear_tap = Tap("ffn_first_linear", layer)
        self.activation = nn.GELU(approximate="tanh") if act == "gelu" else nn.ReLU()
        self.activation_tap = Tap("ffn_activation", layer)
        self.second = nn.Linear(d_inner, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.activation_tap(self.activation(self.first_linear_tap(self.first(self.input_tap(x)))))
        if isinstance(self.activation, nn.ReLU):
            hidden = self.dropout(hidden)
        return self.dropout(self.second(hidden))


class GptBlock(nn.Module):
    def __init__(self, config: LtsConfig, layer: int) -> None:
        super().__init__()
        d = config.d_model
        self.norm_1 = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.attention = GptAttention(d, config.n_head[layer], config.dropatt, config.dropout, layer)
        self.norm_2 = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.ffn = FeedForward(d, config.d_inner[layer], "gelu", config.dropout, layer)
        self.attention.proxy_role = "mixer"
        self.ffn.proxy_role = "ffn"
        self.tap = Tap("block_output", layer)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, **_: Any) -> torch.Tensor:
        x = x + self.attention(self.norm_1(x), bias)
        return self.tap(x + self.ffn(self.norm_2(x)))


class TransXlBlock(nn.Module):
    def __init__(self, config: LtsConfig, layer: int) -> None:
        super().__init__()
        d, heads = config.d_model, config.n_head[layer]
        self.attention = RelativeAttention(d, heads, config.dropatt, config.dropout, config.layer_norm_eps, layer)
        self.ffn = FeedForward(d, config.d_inner[layer], "relu", config.dropout, layer)
        self.norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.r_w_bias = nn.Parameter(torch.zeros(heads, d // heads))
        self.r_r_bias = nn.Parameter(torch.zeros(heads, d // heads))
        self.attention.proxy_role = "mixer"
        self.ffn.proxy_role = "ffn"
        self.tap = Tap("block_output", layer)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        h = self.attention(x, positions, self.r_w_bias, self.r_r_bias, bias)
        return self.tap(self.norm(h + self.ffn(h)))


class LtsEmbeddings(nn.Module):
    """The adaptive word embedding, plus learned positions for GPT-2; dropout after."""

    def __init__(self, config: LtsConfig) -> None:
        super().__init__()
        self.words = AdaptiveEmbedding(config.n_token, config.d_embed, config.d_model, tuple(config.cutoffs), config.div_val)
        self.positions = nn.Embedding(config.n_positions, config.d_model) if config.family == "gpt2" else None
        self.dropout = nn.Dropout(config.dropout)
        self.tap = Tap("embeddings")

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.words(ids)
        if self.positions is not None:
            if ids.shape[1] > self.positions.num_embeddings:
                raise ValueError(f"sequence length {ids.shape[1]} exceeds the model's {self.positions.num_embeddings} positions")
            x = x + self.positions(torch.arange(ids.shape[1], device=ids.device))
        return self.tap(self.dropout(x))


def sinusoid(distances: torch.Tensor, width: int) -> torch.Tensor:
    """Transformer-XL's position embedding ``[sin(p ω), cos(p ω)]``, ``ω_k = 10000^(−2k/width)``."""
    inverse = 1.0 / (10000 ** (torch.arange(0.0, width, 2.0) / width))
    angles = distances[:, None].float() * inverse[None]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class LtsPreTrainedModel(PreTrainedModel):
    config_class = LtsConfig
    base_model_prefix = "lts"

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.01 if isinstance(module, Projection) else 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, TransXlBlock):
            nn.init.normal_(module.r_w_bias, std=0.02)
            nn.init.normal_(module.r_r_bias, std=0.02)
        elif isinstance(module, AdaptiveLogSoftmax):
            if module.cluster_weight is not None:
                nn.init.normal_(module.cluster_weight, std=0.02)
                nn.init.zeros_(module.cluster_bias)
            nn.init.zeros_(module.bias)


class LtsModel(LtsPreTrainedModel):
    """An LTS decoder returning the last hidden state (see the module docstring)."""

    def __init__(self, config: LtsConfig) -> None:
        super().__init__(config)
        if len(config.d_inner) != len(config.n_head) or any(config.d_model % h for h in config.n_head):
            raise ValueError(f"per-layer n_head {config.n_head} and d_inner {config.d_inner} do not fit d_model {config.d_model}")
        self.embeddings = LtsEmbeddings(config)
        block = GptBlock if config.family == "gpt2" else TransXlBlock
        self.layers = nn.ModuleList(block(config, i) for i in range(config.num_hidden_layers))
        self.final_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.family == "gpt2" else None
        self.output_dropout = nn.Dropout(config.dropout) if config.family != "gpt2" else None
        self.lm_head = AdaptiveLogSoftmax(self.embeddings.words, config.n_token, config.d_embed, config.d_model,
                                          tuple(config.cutoffs), config.div_val, tuple(config.tie_projs))
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings.words

    def proxy_taps(self) -> dict[str, list[Tap]]:
        """Capture points grouped by kind (see :mod:`spaces.taps`); block taps carry ``layer``."""
        return collect_taps(self)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: Any) -> BaseModelOutput:
        tokens = input_ids.shape[1]
        x = self.embeddings(input_ids)
        future = torch.ones(tokens, tokens, dtype=torch.bool, device=input_ids.device).triu(1)
        bias = torch.zeros(tokens, tokens, dtype=x.dtype, device=x.device).masked_fill(future, float("-inf"))[None, None]
        if attention_mask is not None:
            bias = bias + (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        positions = None
        if self.config.family != "gpt2":
            distances = torch.arange(tokens - 1, -1, -1, device=input_ids.device)
            positions = self.embeddings.dropout(sinusoid(distances, self.config.d_model).to(x.dtype))
        for block in self.layers:
            x = block(x, bias=bias, positions=positions)
        x = self.final_norm(x) if self.final_norm is not None else self.output_dropout(x)
        return BaseModelOutput(last_hidden_state=x)

    def lm_logits(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of every token at the given positions, ``(N, d) → (N, n_token)``
        (the tied adaptive softmax; ``log_softmax`` of them is themselves)."""
        return self.lm_head.log_probs(hidden_states)

    def lm_nll(self, hidden_states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-position negative log-likelihood of ``targets`` (N,) from ``hidden_states`` (N, d)."""
        return self.lm_head.nll(hidden_states, targets)
