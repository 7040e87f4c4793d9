"""SynFlow (Tanaka et al., NeurIPS 2020), as the zero-cost benchmarks score it (Abdelfattah et al.
2021, zero-cost-nas ``synflow``; NASLib ``zerocost`` ``synflow``).

On a copy of the model with every parameter and buffer replaced by its absolute value |θ|, in
float64, fed an all-ones input, R = Σ f(1) is the sum of the last hidden state, and

    synflow = Σ_ℓ Σ_ij | θ_ℓ ⊙ ∂R/∂θ_ℓ |_ij     over every Linear and convolution weight θ_ℓ.

Transformer adaptations:

* the all-ones input is placed at the embeddings tap (the encoder's input, a (1, T, hidden)
  tensor of ones) since token ids have no "ones"; every position is attended;
* the references switch BatchNorm off so that the score is data- and scale-independent; the
  LayerNorm analogue is to bypass every ``nn.LayerNorm`` (its input passes through unchanged),
  without which ``Σ LN(x)`` would not depend on the network before it at all;
* one sequence (the references' batch of one), dropout as in the shared pass.

Sums are float64 throughout: the values grow with depth and width (often 1e20–1e60) and are kept
as they are, not log-transformed (ranks, hence Kendall τ, are the same either way). A value past
the float64 range is recorded as a non-finite result, never clipped.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from proxies.context import ProxyContext
from proxies.layer_measures import weight_layers
from proxies.own_pass import embeddings_taps, first_sequence, forward, own_pass, unpadded
from proxies.registry import register_proxy
from spaces.taps import rewriting


def linearised_copy(model: nn.Module) -> nn.Module:
    """A float64 copy of ``model`` with every floating parameter and buffer replaced by its absolute value."""
    twin = copy.deepcopy(model).double()
    with torch.no_grad():
        for tensor in twin.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    return twin


def _ones(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(output)


def _bypass(_module: nn.Module, inputs: tuple, _output: torch.Tensor) -> torch.Tensor:
    return inputs[0]


@register_proxy(
    "synflow", label="SynFlow", own_pass="a forward and backward of a float64 |θ| copy on an all-ones input", own_backward=True
)
def synflow(ctx: ProxyContext) -> float:
    """SynFlow: Σ |θ ⊙ ∂R/∂θ| with R the output sum of the |θ|, LayerNorm-free float64 copy on an all-ones input."""
    twin = linearised_copy(ctx.model)
    norms = [module for module in twin.modules() if isinstance(module, nn.LayerNorm)]
    with own_pass(ctx, twin), rewriting(embeddings_taps(twin), _ones), rewriting(norms, _bypass):
        forward(ctx, twin, first_sequence(unpadded(ctx.batch))).sum().backward()
        layers = [layer for layer in weight_layers(twin) if layer.weight.grad is not None]
        return float(sum(float((layer.weight.detach() * layer.weight.grad).abs().sum()) for layer in layers))
