"""Zen-score (Lin et al., ICCV 2021), as NASLib's ``zerocost`` branch scores it (``zen``).

With x a Gaussian input, ε independent Gaussian noise and γ = 0.01, f the network up to its last
hidden state (the feature map before pooling)::

    Δ   = mean_n Σ_{t,c} | f(x)_ntc − f(x + γ ε)_ntc |
    zen = log Δ + Σ_{norm layers m} log √( mean_c Var_m[c] )

In the reference the second term sums over BatchNorm layers with Var the per-channel batch
variance of the BN's input. The encoders here normalise with LayerNorm; its analogue is the
variance of each channel of the LayerNorm's input over every token of the batch (the statistic
a BatchNorm in its place would hold), averaged over channels, on the clean input x, for the
LayerNorms that x reaches (the embeddings' own LayerNorm, before the tap, normalises the token
embeddings and is left out). A zero Δ gives −∞, a NaN anywhere gives NaN.

Transformer adaptations: x and ε are N(0, 1) tensors of the embeddings tap's shape, fed at the
embeddings tap (the encoder's input) with every position attended; they are drawn from a
generator seeded with the shared pass's seed. The reference also re-initialises every Linear
and convolution weight N(0, 1) before scoring; here the architecture keeps the space's own
initialisation, as every other proxy sees it. No gradients are taken.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from proxies.context import ProxyContext
from proxies.own_pass import embeddings_taps, forward, own_pass, unpadded
from proxies.registry import register_proxy
from spaces.taps import rewriting

MIXUP_GAMMA = 1e-2


@register_proxy("zen", label="Zen", own_pass="two gradient-free forwards from a Gaussian input and its perturbation")
def zen(ctx: ProxyContext) -> float:
    """Zen: log mean_n Σ |f(x) − f(x + 0.01 ε)| + Σ_LN log √(mean channel variance of the LayerNorm input)."""
    model = ctx.model
    taps = embeddings_taps(model)
    norms = [module for module in model.modules() if isinstance(module, nn.LayerNorm)]
    batch = unpadded(ctx.batch)
    generator = torch.Generator().manual_seed(ctx.seed)
    inputs: dict[str, torch.Tensor] = {}
    variances: list[float] = []

    def clean(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        inputs["x"] = _gaussian(output, generator)
        return inputs["x"]

    def perturbed(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        return inputs["x"] + MIXUP_GAMMA * _gaussian(output, generator)

    def channel_variance(_module: nn.Module, inputs_: tuple, _output: torch.Tensor) -> None:
        if "x" not in inputs:  # a LayerNorm before the embeddings tap sees the tokens, not x
            return
        x = inputs_[0].reshape(-1, inputs_[0].shape[-1]).double()
        variances.append(float(x.var(dim=0, unbiased=False).mean()))

    with own_pass(ctx), torch.no_grad():
        with rewriting(taps, clean), rewriting(norms, channel_variance):
            out = forward(ctx, model, batch)
        with rewriting(taps, perturbed):
            mixed = forward(ctx, model, batch)
    delta = float((out.double() - mixed.double()).abs().flatten(1).sum(dim=1).mean())
    return _log(delta) + sum(0.5 * _log(v) for v in variances)


def _gaussian(like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """N(0, 1) draws of ``like``'s shape and dtype from ``generator`` (on the CPU), moved to ``like``'s device."""
    return torch.randn(like.shape, generator=generator, dtype=like.dtype).to(like.device)


def _log(value: float) -> float:
    """log ``value``: −∞ for 0 (a collapsed signal), NaN for NaN or a negative value."""
    if value == 0:
        return -math.inf
    return math.log(value) if value > 0 else math.nan
