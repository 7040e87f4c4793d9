"""The FlexiBERT encoder as a ``transformers`` model.

Layout (ELECTRA/BERT conventions):

* embeddings: word (vocab 30,522), position and token-type embeddings of width
  ``embedding_size``, LayerNorm, dropout, and a linear projection to ``hidden_size`` when
  the widths differ (ELECTRA-small's ``embeddings_project``);
* per layer: a token-mixing operation (:mod:`spaces.flexibert.operations`); an output
  projection back to ``hidden_size`` with dropout and a residual LayerNorm (unless the
  layer disables it); a feed-forward stack ``Linear → act → ... → Linear → act`` with the
  layer's widths, then a projection to ``hidden_size``, dropout and a residual LayerNorm.

Every layer is described explicitly in :class:`FlexiBertConfig.layers`, so the same model
class builds every variant the space offers (see :mod:`spaces.flexibert.space`), and
``save_pretrained`` / ``from_pretrained`` round-trip any of them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import PreTrainedConfig, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput

from spaces.flexibert.operations import DynamicConvolution, LinearTransform, SelfAttention, SeparableConv1d
from spaces.taps import Tap, collect_taps

ACTIVATIONS: dict[str, type[nn.Module] | Any] = {
    "gelu": lambda: nn.GELU(),
    "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
    "relu": lambda: nn.ReLU(),
}


class FlexiBertConfig(PreTrainedConfig):
    """Configuration of :class:`FlexiBertModel`.

    Args:
        layers: one dict per encoder layer with keys ``operation`` (SA/LT/DSC),
            ``parameter`` (SDP/WMA, DFT/DCT or kernel size), ``heads``, ``ffn_widths`` (the
            widths of the stacked feed-forward layers) and ``output_projection`` (whether the
            mixing operation is followed by a projection, dropout and residual LayerNorm).
        hidden_size: width of the residual stream.
        embedding_size: width of the token/position/type embeddings.
        hidden_act: ``gelu`` (erf), ``gelu_tanh`` or ``relu``.
    """

    model_type = "proxybench-flexibert"

    def __init__(
        self,
        layers: list[dict[str, Any]] | None = None,
        hidden_size: int = 256,
        embedding_size: int = 128,
        vocab_size: int = 30522,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        hidden_act: str = "gelu_tanh",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        layer_norm_eps: float = 1e-12,
        initializer_range: float = 0.02,
        conv_head_ratio: int = 2,
        **kwargs: Any,
    ) -> None:
        self.layers = list(layers or [])
        self.hidden_size = hidden_size
        self.embedding_size = embedding_size
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range
        self.conv_head_ratio = conv_head_ratio
        super().__init__(**kwargs)

    @property
    def num_hidden_layers(self) -> int:
        return len(self.layers)


class Embeddings(nn.Module):
    """Word + position + token-type embeddings, LayerNorm, dropout, projection to the hidden size."""

    def __init__(self, config: FlexiBertConfig) -> None:
        super().__init__()
        width = config.embedding_size
        self.word_embeddings = nn.Embedding(config.vocab_size, width)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, width)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, width)
        self.LayerNorm = nn.LayerNorm(width, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.project = nn.Linear(width, config.hidden_size) if width != config.hidden_size else None
        self.tap = Tap("embeddings")

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings(token_type_ids)
        x = self.dropout(self.LayerNorm(x))
        if self.project is not None:
            x = self.project(x)
        return self.tap(x)


class FeedForward(nn.Module):
    """Stacked feed-forward layers with a residual LayerNorm: ``LN(x + W_out(act(...act(W_1 x))))``."""

    def __init__(self, hidden: int, widths: list[int], act: str, dropout: float, eps: float, layer: int) -> None:
        super().__init__()
        if not widths:
            raise ValueError("a feed-forward stack needs at least one width")
        sizes = [hidden, *widths]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.activations = nn.ModuleList(ACTIVATIONS[act]() for _ in widths)
        self.activation_taps = nn.ModuleList(Tap("ffn_activation", layer) for _ in widths)
        self.input_tap = Tap("ffn_input", layer, reader=self.linears[0])
        self.first_linear_tap = Tap("ffn_first_linear", layer)
        self.output = nn.Linear(widths[-1], hidden)
        self.dropout = nn.Dropout(dropout)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.input_tap(x)
        for index, (linear, act, tap) in enumerate(zip(self.linears, self.activations, self.activation_taps)):
            h = linear(h)
            if index == 0:
                h = self.first_linear_tap(h)
            h = tap(act(h))
        return self.LayerNorm(x + self.dropout(self.output(h)))


class FlexiBertLayer(nn.Module):
    """One encoder layer: mixing operation, optional output projection, feed-forward stack."""

    def __init__(self, config: FlexiBertConfig, index: int) -> None:
        super().__init__()
        spec = config.layers[index]
        hidden, heads = config.hidden_size, spec["heads"]
        if hidden % heads:
            raise ValueError(f"hidden size {hidden} is not a multiple of {heads} heads")
        operation, parameter = spec["operation"], spec["parameter"]
        if operation == "SA":
            self.mixer: nn.Module = SelfAttention(hidden, heads, parameter == "WMA", config.attention_probs_dropout_prob, index)
        elif operation == "LT":
            self.mixer = LinearTransform(hidden, heads, parameter, index)
        elif operation == "DSC":
            self.mixer = DynamicConvolution(
                hidden, heads, int(parameter), config.attention_probs_dropout_prob, index, config.conv_head_ratio
            )
        else:
            raise ValueError(f"unknown operation {operation!r}; allowed: SA, LT, DSC")
        self.mixer.proxy_role = "mixer"
        if spec.get("output_projection", True):
            self.mixer_output: nn.Linear | None = nn.Linear(self.mixer.out_width, hidden)
            self.mixer_output.proxy_role = "mixer"
            self.mixer_dropout = nn.Dropout(config.hidden_dropout_prob)
            self.mixer_norm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)
        else:
            if self.mixer.out_width != hidden:
                raise ValueError("a layer without output projection needs a mixer as wide as the hidden size")
            self.mixer_output = None
        self.ffn = FeedForward(
            hidden, list(spec["ffn_widths"]), config.hidden_act, config.hidden_dropout_prob, config.layer_norm_eps, index
        )
        self.ffn.proxy_role = "ffn"
        self.tap = Tap("block_output", index)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor | None) -> torch.Tensor:
        mixed = self.mixer(x, mask_bias)
        if self.mixer_output is not None:
            mixed = self.mixer_norm(x + self.mixer_dropout(self.mixer_output(mixed)))
        return self.tap(self.ffn(mixed))


class FlexiBertPreTrainedModel(PreTrainedModel):
    """Weight initialisation shared by FlexiBERT models (BERT's: N(0, 0.02), zero biases, unit LayerNorm)."""

    config_class = FlexiBertConfig
    base_model_prefix = "flexibert"

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, (nn.Linear, nn.Conv1d)):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, SeparableConv1d):
            nn.init.zeros_(module.bias)


class FlexiBertModel(FlexiBertPreTrainedModel):
    """FlexiBERT encoder returning the last hidden state (and, on request, every layer's)."""

    def __init__(self, config: FlexiBertConfig) -> None:
        super().__init__(config)
        self.embeddings = Embeddings(config)
        self.layers = nn.ModuleList(FlexiBertLayer(config, i) for i in range(len(config.layers)))
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def proxy_taps(self) -> dict[str, list[Tap]]:
        """Capture points of this model grouped by kind (see :mod:`spaces.taps`)."""
        return collect_taps(self)

    def lm_logits(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits from a decoder tied to the input path: ``(h W_proj) Eᵀ``.

        ``E`` is the word-embedding matrix and ``W_proj`` the embedding-to-hidden projection
        (identity when the widths are equal); the decoder has no parameters of its own.
        """
        if self.embeddings.project is not None:
            hidden_states = hidden_states @ self.embeddings.project.weight
        return hidden_states @ self.embeddings.word_embeddings.weight.T

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        output_hidden_states: bool = False,
        return_dict: bool = True,
        **_: Any,
    ) -> BaseModelOutput | tuple:
        mask_bias = None
        if attention_mask is not None:
            mask_bias = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        x = self.embeddings(input_ids, token_type_ids)
        states = [x]
        for layer in self.layers:
            x = layer(x, mask_bias)
            states.append(x)
        hidden_states = tuple(states) if output_hidden_states else None
        if not return_dict:
            return (x, hidden_states) if output_hidden_states else (x,)
        return BaseModelOutput(last_hidden_state=x, hidden_states=hidden_states)
