"""Size baselines: what a proxy must beat to be worth its cost.

* ``params-nonemb``: parameters outside the embedding block (``model.embeddings``: word,
  position and token-type tables, their norm and projection). Language models of very
  different embedding shares rank differently by total and by non-embedding count.
* ``flops``: floating-point operations of one forward pass at the run's input size, counted
  by ``torch.utils.flop_counter`` (matrix products, convolutions and attention; the FFTs of
  LT layers and element-wise operations are not counted).
* ``layers``, ``hidden-size``, ``layers-x-hidden``: plain descriptors from the model config.
"""

from __future__ import annotations

from torch import nn

from proxies.context import ProxyContext
from proxies.registry import register_proxy


@register_proxy("params-nonemb", label="Non-embedding #Params", needs_forward=False)
def params_nonembedding(ctx: ProxyContext) -> float:
    """Parameters outside the embedding block and the output layer: Σ numel(θ) over θ in neither
    ``model.embeddings`` nor, where the model has one, ``model.lm_head`` (the decoders' adaptive
    softmax, whose own tensors are output biases and projections). On the LTS decoders this is
    archai's ``nonembedding`` count."""
    embeddings = getattr(ctx.model, "embeddings", None)
    if embeddings is None:
        raise ValueError("the model has no 'embeddings' block to leave out")
    outside = list(embeddings.parameters()) + list(getattr(ctx.model, "lm_head", nn.Identity()).parameters())
    return float(ctx.num_params - sum(p.numel() for p in {id(p): p for p in outside}.values()))


@register_proxy("flops", label="FLOPs", needs_flops=True)
def flops(ctx: ProxyContext) -> float:
    """Floating-point operations of one forward pass at the input size (torch flop counter)."""
    if ctx.flops is None:
        raise ValueError("the pass counted no FLOPs")
    return float(ctx.flops)


@register_proxy("layers", label="#Layers", needs_forward=False)
def layers(ctx: ProxyContext) -> float:
    """Number of encoder layers."""
    return float(ctx.model.config.num_hidden_layers)


@register_proxy("hidden-size", label="Hidden size", needs_forward=False)
def hidden_size(ctx: ProxyContext) -> float:
    """Width of the residual stream."""
    return float(ctx.model.config.hidden_size)


@register_proxy("layers-x-hidden", label="Layers × hidden", needs_forward=False)
def layers_times_hidden(ctx: ProxyContext) -> float:
    """Number of layers times hidden size."""
    return float(ctx.model.config.num_hidden_layers * ctx.model.config.hidden_size)
