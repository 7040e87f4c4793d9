"""Attention-head proxies of Serianni & Kalita (2023), after Voita et al., Behnke &
Heafield and Michel et al. (paper Sec. 2.3).

Each head h of a layer gets a score A_h; a layer's score is the mean over its heads,
Σ_h A_h / H; the network's score is the sum over layers. Means over "inputs" run over every
non-padding token position n of the batch.

* Head confidence: ``A_h = mean_n |max_d Att_h(x_n)_d|``, the largest component of the head's
  output at each position (``mixer_heads`` tap).
* Softmax confidence: ``A_h = mean_n max_j σ_h(x_n)_j``, the largest attention probability of
  each query position (``attention_probs`` tap).
* Head importance: ``A_h = mean_b |Σ_{t,d} Att_h(X_b)_{t,d} · ∂L/∂Att_h(X_b)_{t,d}|``, the
  sensitivity of the loss to masking the head, per sequence b (Michel et al.).

Operations without attention: every FlexiBERT operation produces per-head outputs (the LT
heads are its per-head transforms; DSC has attention and convolution heads), so head
confidence and importance cover all layers. Softmax confidence only has softmax heads to
read: LT layers and the convolution heads of DSC layers contribute nothing, and a model
without any softmax head has no value (an error is recorded).
"""

from __future__ import annotations

import torch

from proxies.context import ProxyContext
from proxies.per_layer import PerLayer
from proxies.registry import register_proxy


def _token_mask(ctx: ProxyContext, batch: int, tokens: int) -> torch.Tensor:
    mask = ctx.batch.get("attention_mask")
    if mask is None:
        return torch.ones(batch, tokens, dtype=torch.bool, device=ctx.output.device)
    return mask.bool()


def head_confidence_per_layer(heads: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean over heads of mean_n |max_d head output| for one layer's (B, T, H, d) head outputs."""
    peak = heads.amax(dim=-1).abs()  # (B, T, H)
    per_head = peak[mask].to(torch.float64).mean(dim=0)
    return float(per_head.mean())


def softmax_confidence_per_layer(probs: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean over heads of mean_n max_j σ for one layer's (B, H, T, T) attention probabilities."""
    peak = probs.amax(dim=-1).transpose(1, 2)  # (B, T, H)
    per_head = peak[mask].to(torch.float64).mean(dim=0)
    return float(per_head.mean())


def head_importance_per_layer(heads: torch.Tensor, grads: torch.Tensor) -> float:
    """Mean over heads of mean_b |Σ_{t,d} Att_h · ∂L/∂Att_h| for one layer."""
    sensitivity = (heads.to(torch.float64) * grads.to(torch.float64)).sum(dim=(1, 3)).abs()  # (B, H)
    return float(sensitivity.mean(dim=0).mean())


@register_proxy("head-confidence", label="Head Confidence", taps=("mixer_heads",), per_layer=PerLayer(replay=("mixer_heads",)))
def head_confidence(ctx: ProxyContext) -> float:
    """Head confidence: Σ_layers mean_h mean_n |max Att_h(x_n)|."""
    layers = ctx.captured["mixer_heads"]
    if not layers:
        raise ValueError("the model exposes no per-head outputs")
    return sum(head_confidence_per_layer(h, _token_mask(ctx, h.shape[0], h.shape[1])) for h in layers)


@register_proxy(
    "softmax-confidence", label="Softmax Confidence", taps=("attention_probs",), per_layer=PerLayer(replay=("attention_probs",))
)
def softmax_confidence(ctx: ProxyContext) -> float:
    """Softmax confidence: Σ_layers mean_h mean_n max σ_h(x_n), over layers with softmax heads."""
    layers = ctx.captured["attention_probs"]
    if not layers:
        raise ValueError("the model has no softmax attention head (only LT layers)")
    return sum(softmax_confidence_per_layer(p, _token_mask(ctx, p.shape[0], p.shape[2])) for p in layers)


@register_proxy("head-importance", label="Head Importance", tap_grads=("mixer_heads",))
def head_importance(ctx: ProxyContext) -> float:
    """Head importance: Σ_layers mean_h mean_b |Att_h · ∂L/∂Att_h| (Michel et al.)."""
    layers, grads = ctx.captured["mixer_heads"], ctx.grads["mixer_heads"]
    if not layers:
        raise ValueError("the model exposes no per-head outputs")
    return sum(head_importance_per_layer(h, g) for h, g in zip(layers, grads))
