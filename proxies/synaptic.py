"""Weight-gradient proxies: synaptic saliency and synaptic diversity.

Both read ``∂L/∂θ`` from the shared backward pass (loss: :mod:`proxies.losses`).

Synaptic saliency (Tanaka et al. 2020; Abdelfattah et al. 2021, paper Sec. 2.3)::

    S = Σ_θ |∂L/∂θ ⊙ θ|

summed over every weight matrix of the encoder blocks (attention and FFN weights; the
embeddings, biases and norm gains are left out). The absolute value keeps positive and
negative saliencies from cancelling, as in the zero-cost-proxy literature. The standard
``snip`` (:mod:`proxies.layer_measures`) is the same sum over every Linear and convolution
layer of the model, embedding and adaptive-softmax projections included.

Synaptic diversity (Zhou et al. 2022, paper Sec. 2.3)::

    S_D = Σ_m ‖∂L/∂W_m‖_nuc · ‖W_m‖_nuc

over the weight matrices W_m of the token-mixing (multi-head attention) blocks: query, key,
value, WMA and output projections, the LT input projection, and the DSC convolution and
kernel weights (convolution kernels flattened to (out, in·k)). ``‖·‖_nuc`` is the nuclear
norm (sum of singular values).
"""

from __future__ import annotations

import torch

from proxies.context import ProxyContext
from proxies.layer_measures import gradient
from proxies.registry import register_proxy
from spaces.taps import role_weights


def encoder_weights(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Weight matrices of the mixer and FFN blocks."""
    return [param for role in ("mixer", "ffn") for _, param in role_weights(model, role)]


@register_proxy("synaptic-saliency", label="Synaptic Saliency", needs_grad=True)
def synaptic_saliency(ctx: ProxyContext) -> float:
    """Synaptic saliency: Σ |∂L/∂θ ⊙ θ| over the encoder's weight matrices."""
    weights = encoder_weights(ctx.model)
    if not weights:
        raise ValueError("the model marks no mixer or FFN weights (proxy_role)")
    return float(sum(float((gradient(w) * w).abs().sum(dtype=torch.float64)) for w in weights))


def nuclear_norm(matrix: torch.Tensor) -> float:
    """Sum of singular values of ``matrix`` reshaped to (rows, -1)."""
    flat = matrix.reshape(matrix.shape[0], -1).to(torch.float32)
    return float(torch.linalg.svdvals(flat).to(torch.float64).sum())


@register_proxy("synaptic-diversity", label="Synaptic Diversity", needs_grad=True)
def synaptic_diversity(ctx: ProxyContext) -> float:
    """Synaptic diversity: Σ_m ‖∂L/∂W_m‖_nuc · ‖W_m‖_nuc over the attention blocks' weight matrices."""
    weights = [param for _, param in role_weights(ctx.model, "mixer")]
    if not weights:
        raise ValueError("the model marks no mixer weights (proxy_role)")
    return float(sum(nuclear_norm(gradient(w)) * nuclear_norm(w.detach()) for w in weights))
