"""V-PCA and W-PCA (W-PCA paper, Sec. 3, Eq. 1-4).

For each layer f, let X_f be the outputs of the FFN's first linear layer (before its
activation) for every token of the minibatch, as N rows of width D. With the covariance

    C = 1/(N-1) · Σ_k (x_k - x̄)(x_k - x̄)ᵀ          (Eq. 3; the reference code divides by N-1)

and its eigenvalues λ_1 ≥ ... ≥ λ_D, PCA_dim(X_f, η) is the smallest k whose explained
share Σ_{i≤k} λ_i / Σ_i λ_i is strictly above η. Then

    V-PCA(X) = Σ_f PCA_dim(X_f, η)                  (Eq. 1-2)
    W-PCA(X) = #params × V-PCA(X)                   (Eq. 4)

Only D×D matrices are formed (one float32 Gram product per layer, then a float32
symmetric eigensolver for eigenvalues only, accumulated in float64); the token matrix is
never decomposed. Rows of padding tokens are
left out when the batch has an attention mask with zeros.

Options: ``eta`` (default 0.99, Sec. 6.2.1) and ``reduce`` -- ``sum`` over layers as in
Eq. 2 (default) or ``mean``, which the reference implementation uses.
"""

from __future__ import annotations

import math

import torch

from proxies.context import ProxyContext
from proxies.per_layer import PerLayer
from proxies.registry import register_proxy

_OPTIONS = {"eta": 0.99, "reduce": "sum"}


def token_rows(activation: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """(B, T, D) activations as (N, D) rows, without padding positions."""
    rows = activation.reshape(-1, activation.shape[-1])
    if attention_mask is not None and not bool(attention_mask.all()):
        rows = rows[attention_mask.reshape(-1).bool()]
    return rows


def pca_dim(rows: torch.Tensor, eta: float) -> float:
    """Smallest number of principal components whose explained-variance share exceeds ``eta``.

    Returns NaN when the rows have no variance (the share is undefined).
    """
    if not 0.0 < eta < 1.0:
        raise ValueError(f"eta must be in (0, 1), got {eta}")
    x = rows.to(torch.float32)
    x = x - x.mean(dim=0, keepdim=True)
    covariance = (x.T @ x) / max(x.shape[0] - 1, 1)
    eigenvalues = torch.linalg.eigvalsh(covariance).to(torch.float64).flip(0).clamp_min(0.0)
    total = float(eigenvalues.sum())
    if not total > 0.0:
        return math.nan
    share = torch.cumsum(eigenvalues, 0) / total
    return float(int(torch.count_nonzero(share <= eta)) + 1)


def layer_pca_dims(ctx: ProxyContext) -> list[float]:
    """PCA_dim of every layer's first FFN linear output, in layer order.

    Memoised in ``ctx`` under ``("pca_dims", eta)``, one item per layer: V-PCA and W-PCA
    share it, and it is their per-layer rule (prefix reuse concatenates the layers' lists).
    """
    eta = float(ctx.options.get("eta", _OPTIONS["eta"]))
    mask = ctx.batch.get("attention_mask")
    return ctx.cached(
        ("pca_dims", eta), lambda: [pca_dim(token_rows(t, mask), eta) for t in ctx.captured["ffn_first_linear"]]
    )


def reduce_layers(values: list[float], how: str) -> float:
    """Combine per-layer values: ``sum`` (Eq. 2) or ``mean``."""
    if how not in ("sum", "mean"):
        raise ValueError(f"reduce must be 'sum' or 'mean', got {how!r}")
    if not values:
        raise ValueError("the model has no FFN layer to analyse")
    total = float(sum(values))
    return total if how == "sum" else total / len(values)


_PER_LAYER = PerLayer(memo=layer_pca_dims)


@register_proxy("v-pca", "vpca", label="Vanilla PCA", taps=("ffn_first_linear",), options=_OPTIONS, per_layer=_PER_LAYER)
def v_pca(ctx: ProxyContext) -> float:
    """V-PCA: principal components needed for η of the FFN-input variance, summed over layers (Eq. 1-2)."""
    return reduce_layers(layer_pca_dims(ctx), str(ctx.options.get("reduce", "sum")))


@register_proxy("w-pca", "wpca", label="W-PCA", taps=("ffn_first_linear",), options=_OPTIONS, per_layer=_PER_LAYER)
def w_pca(ctx: ProxyContext) -> float:
    """W-PCA: number of parameters times V-PCA (Eq. 4)."""
    return float(ctx.num_params) * v_pca(ctx)
