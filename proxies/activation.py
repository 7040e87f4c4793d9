"""Activation distance (Mellor et al. 2021, "NASWOT"; paper Sec. 2.3).

Each input sequence n of the minibatch gets a binary code c_n: for every FFN activation of
every layer, every token and every unit, whether the unit is active (output > 0; for GELU
this is the sign of its input, as for ReLU). With N_A the code length and d_H the Hamming
distance, the kernel is

    K_H[i, j] = N_A − d_H(c_i, c_j) = c_i·c_j + (1 − c_i)·(1 − c_j)

and the score is ``log |K_H|``: architectures whose inputs get more distinct codes score
higher. Padding tokens are left out of the codes. A singular kernel (two identical codes)
gives ``-inf``, recorded as a non-finite value.
"""

from __future__ import annotations

import math

import torch

from proxies.context import ProxyContext
from proxies.per_layer import PerLayer
from proxies.registry import register_proxy


def activation_kernel(activations: list[torch.Tensor], attention_mask: torch.Tensor | None) -> torch.Tensor:
    """The (B, B) Hamming-similarity kernel of the sequences' binary activation codes.

    With 0/1 codes C (padding positions zeroed), per-token active counts S (B, T), the
    token mask M (B, T) and f units per token, the agreements on active units are C Cᵀ and on
    inactive units ``f M Mᵀ − S Mᵀ − M Sᵀ + C Cᵀ``, so
    ``K_H = f M Mᵀ − S Mᵀ − M Sᵀ + 2 C Cᵀ``: one Gram product per activation tensor. Without
    padding, (S Mᵀ)[i, j] is sequence i's active count, the diagonal of C Cᵀ, so the codes are
    read once (the comparison) besides the product.
    """
    batch, tokens = activations[0].shape[:2]
    padded = attention_mask is not None and not bool(attention_mask.all())
    device = activations[0].device
    mask = attention_mask.to(device, torch.float32) if padded else torch.ones(batch, tokens, device=device)
    shared_tokens = (mask @ mask.T).to(torch.float64)
    kernel = torch.zeros(batch, batch, dtype=torch.float64, device=device)
    for act in activations:
        codes = act.gt(0).to(torch.float32)
        if padded:
            codes = codes * mask[:, :, None]
        flat = codes.reshape(batch, -1)
        gram = (flat @ flat.T).to(torch.float64)  # exact: counts stay below 2^24
        if padded:
            cross = (codes.sum(dim=2) @ mask.T).to(torch.float64)
        else:
            cross = gram.diagonal()[:, None].expand(batch, batch)
        kernel += act.shape[-1] * shared_tokens - cross - cross.T + 2.0 * gram
    return kernel


@register_proxy(
    "activation-distance", "naswot", label="Activation Distance", taps=("ffn_activation",), per_layer=PerLayer(replay=("ffn_activation",))
)
def activation_distance(ctx: ProxyContext) -> float:
    """Activation distance: log-determinant of the Hamming kernel of FFN activation codes (NASWOT)."""
    activations = ctx.captured["ffn_activation"]
    if not activations:
        raise ValueError("the model has no FFN activation to read")
    kernel = activation_kernel(activations, ctx.batch.get("attention_mask"))
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) > 0 else -math.inf
