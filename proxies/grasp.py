"""GraSP (Wang et al., ICLR 2020), as the zero-cost benchmarks score it (Abdelfattah et al. 2021,
zero-cost-nas ``grasp``; NASLib ``zerocost`` ``grasp``).

With θ the weights of every Linear and convolution layer (:func:`proxies.layer_measures.weight_layers`),
g = ∇_θ L and H the Hessian of the loss L,

    grasp = Σ_ℓ Σ_ij ( −θ ⊙ H g )_ij

Hg is a Hessian-vector product: a first pass gives g (no graph), a second pass gives ∇_θ L
with its graph, and the gradient of z = Σ ⟨g, ∇_θ L⟩ is Hg. The loss is the shared pass's
(:mod:`proxies.losses`, token cross-entropy by default) with the references' temperature T = 1
and one iteration over the whole batch. Both passes re-seed the dropout RNG, so in train mode
they differentiate the same function. A weight the loss does not reach contributes zero.
"""

from __future__ import annotations

import torch

from proxies.context import ProxyContext
from proxies.layer_measures import weight_layers
from proxies.own_pass import loss_of, own_pass
from proxies.registry import register_proxy


def hessian_gradient_product(ctx: ProxyContext, weights: list[torch.Tensor]) -> list[torch.Tensor | None]:
    """H g for ``weights``, g the loss gradient (``None`` where the loss does not reach a weight)."""
    model, batch = ctx.model, ctx.batch
    first = torch.autograd.grad(loss_of(ctx, model, batch), weights, allow_unused=True)
    second = torch.autograd.grad(loss_of(ctx, model, batch), weights, create_graph=True, allow_unused=True)
    terms = [(g.detach() * f).sum() for g, f in zip(first, second) if g is not None and f is not None]
    if not terms:
        raise ValueError("the loss reaches no Linear or convolution weight")
    return list(torch.autograd.grad(torch.stack(terms).sum(), weights, allow_unused=True))


@register_proxy(
    "grasp", label="GraSP", own_pass="two forwards and a double backward (Hessian-gradient product)", own_backward=True
)
def grasp(ctx: ProxyContext) -> float:
    """GraSP: Σ −θ ⊙ Hg over every Linear and convolution weight (H the loss Hessian, g its gradient)."""
    with own_pass(ctx):
        weights = [layer.weight for layer in weight_layers(ctx.model)]
        products = hessian_gradient_product(ctx, weights)
        return float(
            sum(float((-w.detach().double() * hg.double()).sum()) for w, hg in zip(weights, products) if hg is not None)
        )
