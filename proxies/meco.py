"""MeCo (Jiang et al., NeurIPS 2023; the authors' ``MeCo`` code): the minimum eigenvalue of the
correlation matrix of each layer's feature map on one input.

For the first sequence of the batch and each Linear and convolution layer ℓ, F_ℓ is the
layer's output as a T × C matrix (token positions × channels, padding positions dropped),
ρ(F_ℓ) the T × T Pearson correlation of its rows (the undefined correlations of constant rows
set to 0, as in the reference), and

    meco = Σ_ℓ λ_min( ρ(F_ℓ) )

A layer with a non-finite output makes the score NaN (the reference drops such layers from
the sum, which would hide a broken network).

The reference takes the first sample's (C, H, W) feature map and correlates its first axis,
the channels, over the spatial positions. A transformer's layer output is (B, T, C); taking the
first sequence and correlating its first axis gives the token × token correlation over the
channels, which is the orientation used here for every layer (a convolution's (C, T) output is
transposed to match). The channel × channel correlation would have rank at most T − 1 < C in
almost every layer, so its smallest eigenvalue would be 0 for every architecture. The
reference hooks every module; here the layers are the Linear and convolution modules
(:func:`proxies.layer_measures.weight_layers`), each output once. No gradients are taken.
"""

from __future__ import annotations

import torch
from torch import nn

from proxies.context import ProxyContext
from proxies.layer_measures import weight_layers
from proxies.own_pass import first_sequence, forward, own_pass
from proxies.registry import register_proxy
from spaces.taps import recording


def min_correlation_eigenvalue(features: torch.Tensor) -> float:
    """λ_min of the row correlation of a 2-D ``features`` matrix; the correlations of constant rows
    (0/0) are set to 0, as in the reference; NaN when a feature is not finite.

    Raises:
        ValueError: for fewer than two rows.
    """
    if features.shape[0] < 2:
        raise ValueError(f"MeCo needs at least two unpadded tokens in the first sequence, got {features.shape[0]}")
    if not bool(torch.isfinite(features).all()):
        return float("nan")
    correlation = torch.corrcoef(features.double())
    correlation = torch.nan_to_num(correlation, nan=0.0, posinf=0.0, neginf=0.0)
    return float(torch.linalg.eigvalsh(correlation)[0])


def _first_sequence(layer: nn.Module, output: torch.Tensor) -> torch.Tensor | None:
    """The first sequence's output as (T, C); ``None`` for an output without a token axis."""
    if output.ndim != 3:
        return None
    first = output[0].detach()
    return first if isinstance(layer, nn.Linear) else first.transpose(0, 1)


@register_proxy("meco", label="MeCo", own_pass="one gradient-free forward keeping every layer's output for the first sequence")
def meco(ctx: ProxyContext) -> float:
    """MeCo: Σ_ℓ λ_min of the token × token correlation of layer ℓ's output on the first sequence."""
    first = first_sequence(ctx.batch)
    keep = first["attention_mask"][0].bool() if "attention_mask" in first else None
    with own_pass(ctx), torch.no_grad(), recording(weight_layers(ctx.model), _first_sequence) as seen:
        forward(ctx, ctx.model, first)
    values = [min_correlation_eigenvalue(f if keep is None else f[keep.to(f.device)]) for _, f in seen if f is not None]
    if not values:
        raise ValueError("no Linear or convolution layer has a (batch, tokens, channels) output")
    return float(sum(values))
