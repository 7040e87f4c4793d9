"""ZiCo (Li et al., ICLR 2023; the authors' ``ZiCo`` code, also NASLib ``zerocost``).

The batch is cut into M = 2 halves (the reference's default of two mini-batches); g_m is the
loss gradient of a layer's weight on half m. Per Linear and convolution layer ℓ, over the
weight entries i whose gradient varies across halves (σ_i > 0)::

    zico = Σ_ℓ log( Σ_i mean_m |g_m,i| / σ_i )     σ_i = std_m g_m,i  (population, ddof 0)

A layer whose sum is 0 (no entry varies) contributes nothing, as in the reference. The loss is
the shared pass's (:mod:`proxies.losses`) on each half, its target positions drawn for the
half with the shared pass's seed; the weights are those of
:func:`proxies.layer_measures.weight_layers`. A non-finite gradient makes the score NaN.
"""

from __future__ import annotations

import math

import torch

from proxies.context import ProxyContext
from proxies.layer_measures import gradient, weight_layers
from proxies.own_pass import loss_of, own_pass, split_batch
from proxies.registry import register_proxy

HALVES = 2


def zico_score(gradients: list[torch.Tensor]) -> float:
    """Σ over layers of log Σ_i mean_m|g_m,i| / σ_i, each entry of ``gradients`` an (M, n_ℓ) stack of one
    layer's gradients; NaN when a gradient is not finite."""
    total = 0.0
    for stack in gradients:
        stack = stack.double()
        if not bool(torch.isfinite(stack).all()):
            return math.nan
        std = stack.std(dim=0, unbiased=False)
        varying = std != 0
        ratio = float((stack.abs().mean(dim=0)[varying] / std[varying]).sum())
        if ratio != 0.0:
            total += math.log(ratio)
    return total


@register_proxy("zico", label="ZiCo", own_pass="a forward and backward on each half of the batch", own_backward=True)
def zico(ctx: ProxyContext) -> float:
    """ZiCo: Σ_ℓ log Σ_i mean|g_i| / std(g_i) over the gradients of two half batches."""
    layers = weight_layers(ctx.model)
    per_half: list[list[torch.Tensor]] = []
    with own_pass(ctx):
        for half in split_batch(ctx.batch, HALVES):
            ctx.model.zero_grad(set_to_none=True)
            loss_of(ctx, ctx.model, half).backward()
            per_half.append([gradient(layer.weight).detach().reshape(-1).clone() for layer in layers])
    return zico_score([torch.stack(column) for column in zip(*per_half)])
