"""The benchmark authors' published proxy definitions (Serianni & Kalita 2023; ``BERT_metrics.ipynb``
of aaronserianni/training-free-nas), which produced ``BERT_results_activation.csv``.

They differ from the paper's equations (and from the harness's own proxies of the same names,
docs/proxies.md). Each is registered as ``published-<proxy>``, left out of ``--proxies all``
(select them with ``'published-*'``), and reads FlexiBERT models: ``model.layers[i].mixer`` is
the token-mixing operation, ``.mixer_output`` its output projection (absent after LT layers in
the ``published`` variant), ``.ffn`` the feed-forward stack. With O_ℓ the operation of layer ℓ::

    synaptic diversity   Σ |‖W‖_* ‖∂L/∂W‖_*|     every nn.Linear of O_ℓ and its output projection
    synaptic saliency    Σ |W ⊙ ∂L/∂W|           every nn.Linear of the FFN stacks
    activation distance  mean_calls Σ_{i,j} K_ij, K = x xᵀ + (1 − x)(1 − x)ᵀ, x the 0/1 codes
                         (T × units) of the first sequence at each FFN activation
                         (the CSV's "Activation Distance Normalized"; its raw column carries
                         a hook-accumulation artefact of the code's transformers version)
    jacov                −Σ [log(v + k) + 1/(v + k)], v the eigenvalues of the correlation of
                         the rows of (∂L/∂P)ᵀ, P the position-embedding table (CSV "Jacobian Score")
    jacobian cosine      1 − Σ_{i≠j} |cos(r_i, r_j)|^{1/20} / (2 (n² − n)) over the same n rows
                         (CSV "Jacobian Score Normalized")
    head importance      Σ |W ⊙ ∂L/∂W|           nn.Linear of O_ℓ with ≥ 128 output features
    head confidence      Σ mean_{b,f} max_t q(x)_{b,t,f}   over the outputs q of O_ℓ's query,
                         key, value, input and weight projections (signed maximum over tokens)
    softmax confidence   Σ_ℓ mean max_h σ_ℓ[b, h, i, j]   σ_ℓ the operation's softmax (attention
                         probabilities; for LT layers the softmax over the last axis of the
                         per-head transform, which the published model computes but never uses)

``params`` needs no published twin (the CSV's "Number of Parameters" is the total count). The
published setting is ``--variant published --mode train --loss ones``: that loss has an
analytically zero gradient before the last LayerNorm, so the gradient-based values there are
rounding noise (docs/proxies.md).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from proxies.context import ProxyContext
from proxies.jacobian import jacov_score
from proxies.layer_measures import gradient
from proxies.own_pass import forward, own_pass
from proxies.registry import register_proxy
from spaces.taps import recording

#: The projections whose outputs the published head confidence reads, where an operation has them.
CONFIDENCE_PROJECTIONS = ("query", "key", "value", "input", "weight")
#: The published head importance's width condition (output features).
IMPORTANCE_MIN_WIDTH = 128


def _layers(model: nn.Module) -> list[nn.Module]:
    """The FlexiBERT layers of ``model``.

    Raises:
        ValueError: for a model without ``layers[i].mixer``.
    """
    layers = getattr(model, "layers", None)
    if layers is None or not all(hasattr(layer, "mixer") for layer in layers):
        raise ValueError(f"{type(model).__name__} is not a FlexiBERT model (the published definitions read layers[i].mixer)")
    return list(layers)


def _linears(module: nn.Module | None) -> list[nn.Linear]:
    """Every ``nn.Linear`` inside ``module`` (none for ``None``)."""
    return [] if module is None else [m for m in module.modules() if isinstance(m, nn.Linear)]


def _saliency(linear: nn.Linear) -> float:
    """Σ |W ⊙ ∂L/∂W| of one layer, in float64."""
    return float((linear.weight.detach().double() * gradient(linear.weight).double()).abs().sum())


@register_proxy("published-synaptic-diversity", label="Synaptic Diversity (published)", needs_grad=True, in_all=False)
def published_synaptic_diversity(ctx: ProxyContext) -> float:
    """Synaptic diversity as published: Σ |‖W‖_* ‖∂L/∂W‖_*| over the Linears of each operation and its output projection."""
    total = 0.0
    for layer in _layers(ctx.model):
        for linear in _linears(layer.mixer) + _linears(getattr(layer, "mixer_output", None)):
            if linear.weight.grad is None:
                continue
            w, g = linear.weight.detach().double(), linear.weight.grad.double()
            total += abs(float(torch.linalg.matrix_norm(w, "nuc") * torch.linalg.matrix_norm(g, "nuc")))
    return total


@register_proxy("published-synaptic-saliency", label="Synaptic Saliency (published)", needs_grad=True, in_all=False)
def published_synaptic_saliency(ctx: ProxyContext) -> float:
    """Synaptic saliency as published: Σ |W ⊙ ∂L/∂W| over the FFN stacks' Linears."""
    return sum(_saliency(linear) for layer in _layers(ctx.model) for linear in _linears(layer.ffn))


def agreement_sum(codes: torch.Tensor) -> float:
    """Σ_{i,j} of x xᵀ + (1 − x)(1 − x)ᵀ for a (T, units) 0/1 matrix x: Σ_u c_u² + (T − c_u)², c_u = Σ_t x_tu."""
    counts = codes.to(torch.float64).sum(dim=0)
    return float((counts.pow(2) + (codes.shape[0] - counts).pow(2)).sum())


@register_proxy(
    "published-activation-distance", label="Activation Distance (published)", taps=("ffn_activation",), in_all=False
)
def published_activation_distance(ctx: ProxyContext) -> float:
    """Activation distance as published (normalised): mean over FFN activations of Σ K over the first sequence's positions."""
    outputs = ctx.captured["ffn_activation"]
    if not outputs:
        raise ValueError("the model exposes no FFN activations")
    return float(np.mean([agreement_sum((out[0].reshape(out.shape[1], -1) > 0)) for out in outputs]))


def _position_rows(ctx: ProxyContext) -> torch.Tensor:
    """The published Jacobian rows: (∂L/∂P)ᵀ, one row per embedding dimension over the positions."""
    table = getattr(getattr(ctx.model, "embeddings", None), "position_embeddings", None)
    if table is None:
        raise ValueError(f"{type(ctx.model).__name__} has no embeddings.position_embeddings table")
    grad = gradient(table.weight)
    return grad.detach().double().transpose(0, 1).reshape(grad.shape[1], -1)


@register_proxy("published-jacov", label="Jacobian Score (published)", needs_grad=True, in_all=False)
def published_jacov(ctx: ProxyContext) -> float:
    """Jacobian score as published: −Σ [log(v + k) + 1/(v + k)] over the eigenvalues of the position-embedding gradient's row correlation."""
    return jacov_score(_position_rows(ctx))


@register_proxy("published-jacobian-cosine", label="Jacobian Cosine (published)", needs_grad=True, in_all=False)
def published_jacobian_cosine(ctx: ProxyContext) -> float:
    """Jacobian cosine as published: 1 − Σ_{i≠j} |cos|^(1/20) / (2(n² − n)) over the position-embedding gradient's rows."""
    rows = _position_rows(ctx)
    normed = rows / rows.norm(dim=1, keepdim=True)
    cosines = (normed @ normed.T).fill_diagonal_(0.0)  # the published code's cosine distances have an exact-zero diagonal
    n = rows.shape[0]
    return float(1.0 - cosines.abs().pow(1.0 / 20).sum() / 2 / (n * n - n))


@register_proxy("published-head-importance", label="Head Importance (published)", needs_grad=True, in_all=False)
def published_head_importance(ctx: ProxyContext) -> float:
    """Head importance as published: Σ |W ⊙ ∂L/∂W| over the operations' Linears with at least 128 outputs."""
    return sum(
        _saliency(linear)
        for layer in _layers(ctx.model)
        for linear in _linears(layer.mixer)
        if linear.weight.grad is not None and linear.out_features >= IMPORTANCE_MIN_WIDTH
    )


@register_proxy(
    "published-head-confidence",
    label="Head Confidence (published)",
    own_pass="one gradient-free forward keeping the operations' query/key/value/input/weight projections",
    in_all=False,
)
def published_head_confidence(ctx: ProxyContext) -> float:
    """Head confidence as published: Σ over the operations' Q/K/V/input/weight projection outputs of mean_{b,f} max_t."""
    projections = [
        module
        for layer in _layers(ctx.model)
        for name in CONFIDENCE_PROJECTIONS
        if isinstance(module := getattr(layer.mixer, name, None), nn.Linear)
    ]
    if not projections:
        raise ValueError("the operations have no query, key, value, input or weight projection")
    with own_pass(ctx), torch.no_grad(), recording(projections, lambda _m, out: float(out.double().amax(dim=1).mean())) as seen:
        forward(ctx, ctx.model, ctx.batch)
    return float(sum(value for _, value in seen))


@register_proxy(
    "published-softmax-confidence",
    label="Softmax Confidence (published)",
    taps=("attention_probs", "mixer_heads"),
    in_all=False,
)
def published_softmax_confidence(ctx: ProxyContext) -> float:
    """Softmax confidence as published: Σ_ℓ mean max over the head axis of the operation's softmax."""
    probs = dict(zip(ctx.captured_layers["attention_probs"], ctx.captured["attention_probs"]))
    heads = dict(zip(ctx.captured_layers["mixer_heads"], ctx.captured["mixer_heads"]))
    total = 0.0
    for index, layer in enumerate(_layers(ctx.model)):
        if index in probs:
            softmax = probs[index]  # (B, H, T, T)
        elif index in heads:  # LT: softmax of the (B, H, T, d) per-head transform over its last axis
            softmax = torch.softmax(heads[index].transpose(1, 2).double(), dim=-1)
        else:
            continue
        total += float(softmax.double().amax(dim=1).mean())
    return total
