"""Jacobian cosine (Celotti et al. 2020; paper Sec. 2.3).

J_n is the gradient of the loss with respect to the encoder input (the embedding block's
output) of sequence n, flattened; J̃_n = J_n / ‖J_n‖. With N sequences,

    S = 1 − 1/(N² − N) · Σ_{i ≠ j} |J̃_i · J̃_j|^(1/20)

High scores mean the inputs' Jacobians point in different directions. The sum of the loss
over sequences makes J_n depend on sequence n only, so one backward pass gives all of them.
"""

from __future__ import annotations

import torch

from proxies.context import ProxyContext
from proxies.registry import register_proxy


def jacobian_cosine_score(jacobians: torch.Tensor) -> float:
    """S for per-input Jacobians given as an (N, ...) tensor."""
    flat = jacobians.reshape(jacobians.shape[0], -1).to(torch.float64)
    n = flat.shape[0]
    if n < 2:
        raise ValueError("the Jacobian cosine needs at least two inputs")
    norms = flat.norm(dim=1, keepdim=True)
    if bool((norms == 0).any()):
        return float("nan")
    unit = flat / norms
    cosines = (unit @ unit.T).abs()
    off_diagonal = cosines[~torch.eye(n, dtype=torch.bool)]
    return float(1.0 - off_diagonal.pow(1.0 / 20.0).sum() / (n * n - n))


@register_proxy("jacobian-cosine", "jacob-cos", label="Jacobian Cosine", tap_grads=("embeddings",))
def jacobian_cosine(ctx: ProxyContext) -> float:
    """Jacobian cosine: 1 − mean |cos|^(1/20) between the inputs' loss Jacobians."""
    grads = ctx.grads["embeddings"]
    if not grads:
        raise ValueError("the model exposes no embeddings tap")
    return jacobian_cosine_score(grads[0])
