"""LPZero's searched proxy for FlexiBERT (Dong et al. 2024, "LPZero: Language Model Zero-cost Proxy
Search from Zero"; the authors' pprp/LPZero code, ``lpzero/runner/find_best_bert.py``).

The search found the expression tree with inputs (head, act), unary operations
(revert, pow) on the head branch and (frobenius_norm, logsoftmax) on the act branch, and the
binary operation element_wise_sum (genotype ``[[15, 3], [8, 13], 0]`` at commit 8764327, whose
search log spells the operations out by name; Spearman 0.85 on its 50 search architectures).
As the reference evaluates it:

* head_ℓ is the output of layer ℓ's token-mixing query projection (the ``input`` projection of
  a linear-transform layer), and each branch reduces a tensor to the mean of its elements:
  mean((−head_ℓ)²) = mean(head_ℓ²);
* act_j is the output of FFN activation j; its Frobenius norm is a scalar, and the log-softmax
  of a scalar is exactly 0, so the act branch contributes 0;
* the binary sum pairs the branches' lists item by item up to the shorter one (the L layers'
  heads), and the score is the mean over those pairs::

      lpzero = (1/L) Σ_ℓ mean(head_ℓ²)       (means over every position, padding included, as the
                                             reference pads to its maximum length)

The reference scores randomly initialised ELECTRA-style FlexiBERT models on 128 OpenWebText
texts; here the inputs are the run's proxy batch. The expression reads FlexiBERT's mixer
projections, so it applies to models whose mixers have a ``query`` or ``input`` projection.
"""

from __future__ import annotations

import torch
from torch import nn

from proxies.context import ProxyContext
from proxies.own_pass import forward, own_pass
from proxies.registry import register_proxy
from spaces.taps import modules_with_role, recording

#: The mixer attributes the reference reads, first present first.
HEAD_ATTRIBUTES = ("query", "key", "value", "input", "weight")


def head_projections(model: nn.Module) -> list[nn.Linear]:
    """Per mixer, its first Linear among :data:`HEAD_ATTRIBUTES` (mixers without one are skipped)."""
    found = []
    for mixer in modules_with_role(model, "mixer"):
        for name in HEAD_ATTRIBUTES:
            module = getattr(mixer, name, None)
            if isinstance(module, nn.Linear):
                found.append(module)
                break
    return found


@register_proxy("lpzero", label="LPZero", own_pass="one gradient-free forward keeping each mixer's query projection")
def lpzero(ctx: ProxyContext) -> float:
    """LPZero (FlexiBERT expression): (1/L) Σ_ℓ mean(head_ℓ²) over the mixers' query projections; the act branch is 0."""
    projections = head_projections(ctx.model)
    if not projections:
        raise ValueError("the model's mixers have no query or input projection (LPZero's FlexiBERT expression reads one)")
    with own_pass(ctx), torch.no_grad(), recording(projections, lambda _m, out: float(out.double().pow(2).mean())) as seen:
        forward(ctx, ctx.model, ctx.batch)
    return sum(value for _, value in seen) / len(seen)
