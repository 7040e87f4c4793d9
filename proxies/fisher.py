"""Fisher (Theis et al. 2018; Turner et al. 2020), as zero-cost-nas scores it (Abdelfattah et al.
2021, ``fisher``; NASLib ``zerocost`` ``fisher``).

For each Linear and convolution layer ℓ with output a (the pre-activation, bias included) and
its loss gradient ∂L/∂a, per sequence n and output channel k::

    g_nk = Σ_t a_ntk ∂L/∂a_ntk            (t: the token positions, the transformer's spatial axis)
    Δ_k  = ½ · mean_n g_nk²
    fisher = Σ_ℓ fan_in(ℓ) · Σ_k |Δ_k|    (fan_in = in_features, or in_channels/groups × kernel)

The references store Δ_k per channel and broadcast it over the channel's weights before summing
all weights, hence the fan-in factor. For a Linear layer the channel is the last axis and the
sum runs over the token axis; a literal port of the reference (which sums every axis after the
second) would sum a transformer's (B, T, C) output over its channels instead. A convolution's
channel is axis 1 and its positions follow it, as in the reference. A layer applied several
times accumulates Δ over its calls. A Linear applied to a 2-D (rows, C) input (the LTS
decoders' adaptive-softmax projections, on the flattened target tokens) has no sequence axis:
each row is its own n, as in the reference. The loss is the shared pass's (:mod:`proxies.losses`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from proxies.context import ProxyContext
from proxies.layer_measures import weight_layers
from proxies.own_pass import loss_of, own_pass
from proxies.registry import register_proxy
from spaces.taps import recording


def channel_saliency(layer: nn.Module, output: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Δ_k = ½ mean_n (Σ_positions a ⊙ ∂L/∂a)² per output channel k of ``layer``."""
    product = (output.detach() * grad).double()
    if isinstance(layer, nn.Linear):
        per_sequence = product.sum(dim=tuple(range(1, product.ndim - 1))) if product.ndim > 2 else product
    else:
        per_sequence = product.sum(dim=tuple(range(2, product.ndim))) if product.ndim > 2 else product
    return 0.5 * per_sequence.pow(2).mean(dim=0)


def _keep_graph(_module: nn.Module, output: torch.Tensor) -> torch.Tensor:
    """``output``, its gradient retained when it has one."""
    if output.requires_grad:
        output.retain_grad()
    return output


@register_proxy("fisher", label="Fisher", own_pass="a forward and backward keeping every layer's output", own_backward=True)
def fisher(ctx: ProxyContext) -> float:
    """Fisher: Σ_ℓ fan_in · Σ_k |½ mean_n (Σ_t a ∂L/∂a)²| over every Linear and convolution layer's output channels."""
    layers = weight_layers(ctx.model)
    with own_pass(ctx), recording(layers, _keep_graph) as seen:
        loss_of(ctx, ctx.model, ctx.batch).backward()
        saliency: dict[nn.Module, torch.Tensor] = {}
        for layer, output in seen:
            if output.grad is not None:
                delta = channel_saliency(layer, output, output.grad)
                saliency[layer] = saliency[layer] + delta if layer in saliency else delta
    return float(sum(math.prod(layer.weight.shape[1:]) * float(delta.abs().sum()) for layer, delta in saliency.items()))
