"""Per-layer weight measures of the pruning-at-initialisation literature, as the zero-cost proxy
benchmarks define them (Abdelfattah et al., ICLR 2021, SamsungLabs/zero-cost-nas; Krishnakumar
et al., NeurIPS 2022 Datasets & Benchmarks, automl/NASLib ``zerocost``).

Each is a sum over the *layers* ℓ of the model -- every ``nn.Linear`` and ``nn.Conv1d`` /
``nn.Conv2d`` module, embeddings' lookup tables and norm gains excluded, biases excluded --
of one number per layer, with W_ℓ its weight and G_ℓ = ∂L/∂W_ℓ from the shared backward pass
(loss: :mod:`proxies.losses`, token cross-entropy by default)::

    grad_norm = Σ_ℓ ‖G_ℓ‖_F                 (Frobenius norm of the weight gradient)
    snip      = Σ_ℓ Σ_ij |G_ℓ ⊙ W_ℓ|_ij     (Lee et al. 2019, connection sensitivity)
    plain     = Σ_ℓ Σ_ij (G_ℓ ⊙ W_ℓ)_ij     (the signed first-order Taylor term)
    l2_norm   = Σ_ℓ ‖W_ℓ‖_F                 (weights only; no forward pass)

On the transformers here the layers are the attention projections, the FFN linears, the
convolutions of DSC operations, the embedding-to-hidden projection where the embedding width
differs from the hidden size, and the decoders' adaptive-softmax projections. ``snip`` differs
from the paper's synaptic saliency (:mod:`proxies.synaptic`) only in that set: synaptic
saliency reads the weight matrices of the mixer and FFN blocks alone, leaving out the
embedding projection and the adaptive-softmax projections. Sums are accumulated in float64.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from proxies.context import ProxyContext
from proxies.registry import register_proxy

#: Module types whose weight is a "layer" of the zero-cost measures.
LAYER_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d)


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """Every Linear and convolution module of ``model`` (each once), in module order."""
    found = [module for module in model.modules() if isinstance(module, LAYER_TYPES)]
    if not found:
        raise ValueError(f"{type(model).__name__} has no Linear or convolution layer")
    return found


def gradient(weight: torch.Tensor) -> torch.Tensor:
    """``weight.grad``, or zeros for a weight the loss does not reach."""
    return weight.grad if weight.grad is not None else torch.zeros_like(weight)


def layer_sum(model: nn.Module, measure: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> float:
    """Σ over :func:`weight_layers` of ``measure(W, ∂L/∂W)``, each term in float64."""
    total = 0.0
    for layer in weight_layers(model):
        weight = layer.weight.detach()
        total += float(measure(weight.to(torch.float64), gradient(layer.weight).to(torch.float64)))
    return total


@register_proxy("grad-norm", "grad_norm", label="Grad Norm", needs_grad=True)
def grad_norm(ctx: ProxyContext) -> float:
    """Gradient norm: Σ_ℓ ‖∂L/∂W_ℓ‖_F over every Linear and convolution layer."""
    return layer_sum(ctx.model, lambda _w, g: g.norm())


@register_proxy("snip", label="SNIP", needs_grad=True)
def snip(ctx: ProxyContext) -> float:
    """SNIP: Σ_ℓ Σ |∂L/∂W_ℓ ⊙ W_ℓ| over every Linear and convolution layer (Lee et al. 2019)."""
    return layer_sum(ctx.model, lambda w, g: (g * w).abs().sum())


@register_proxy("plain", label="Plain", needs_grad=True)
def plain(ctx: ProxyContext) -> float:
    """Plain: Σ_ℓ Σ ∂L/∂W_ℓ ⊙ W_ℓ, the signed first-order Taylor term, over every Linear and convolution layer."""
    return layer_sum(ctx.model, lambda w, g: (g * w).sum())


@register_proxy("l2-norm", "l2_norm", label="L2 Norm", needs_forward=False)
def l2_norm(ctx: ProxyContext) -> float:
    """L2 norm: Σ_ℓ ‖W_ℓ‖_F over every Linear and convolution layer (weights only)."""
    return float(sum(float(layer.weight.detach().to(torch.float64).norm()) for layer in weight_layers(ctx.model)))
