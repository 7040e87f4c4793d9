"""Size proxies: they read the model's structure, not its activations."""

from __future__ import annotations

from proxies.context import ProxyContext
from proxies.registry import register_proxy


@register_proxy("params", "num-params", "#params", label="#Params", needs_forward=False)
def params(ctx: ProxyContext) -> float:
    """Total number of model parameters, embeddings included: ``Σ_θ numel(θ)``."""
    return float(ctx.num_params)
