"""V-PCA and W-PCA (W-PCA paper, Sec. 3, Eq. 1-4).

For each layer f, let X_f be the outputs of the FFN's first linear layer (before its
activation) for every token of the minibatch, as N rows of width D. With the covariance

    C = 1/(N-1) · Σ_k (x_k - x̄)(x_k - x̄)ᵀ          (Eq. 3; the reference code divides by N-1)

and its eigenvalues λ_1 ≥ ... ≥ λ_D, PCA_dim(X_f, η) is the smallest k whose explained
share Σ_{i≤k} λ_i / Σ_i λ_i is strictly above η. Then

    V-PCA(X) = Σ_f PCA_dim(X_f, η)                  (Eq. 1-2)
    W-PCA(X) = #params × V-PCA(X)                   (Eq. 4)

Two exact ways to the eigenvalues, the cheaper one taken per layer (:func:`factored_is_cheaper`):

* **direct**: the D×D covariance of the N rows of X (one float32 Gram product, then a float32
  symmetric eigensolver for eigenvalues only, accumulated in float64);
* **factored**: X is the output of a linear layer, X = H·Wᵀ + b with H of width h (the hidden
  size, or a MobileBERT block's bottleneck), so C = W·C_H·Wᵀ with C_H the covariance of H.
  With WᵀW = L·Lᵀ, C's nonzero eigenvalues are those of the h×h matrix Lᵀ·C_H·L
  (:func:`factored_eigenvalues`). It costs N·h² + D·h² + O(h³) instead of N·D² + O(D³):
  far below the layer's own forward when D > h.

The eigenvalues beyond rank are zero on either path and never change k (the share is 1 there).
Rows of padding tokens are left out (of X, or of H) when the batch has an attention mask with zeros.

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


def dim_from_eigenvalues(eigenvalues: torch.Tensor, eta: float) -> float:
    """Smallest k whose top-k share of ``eigenvalues`` (any order, negatives read as 0) exceeds ``eta``.

    Returns NaN when they sum to zero (the share is undefined).
    """
    if not 0.0 < eta < 1.0:
        raise ValueError(f"eta must be in (0, 1), got {eta}")
    values = eigenvalues.to(torch.float64).clamp_min(0.0).sort(descending=True).values
    total = float(values.sum())
    if not total > 0.0:
        return math.nan
    share = torch.cumsum(values, 0) / total
    return float(int(torch.count_nonzero(share <= eta)) + 1)


def pca_dim(rows: torch.Tensor, eta: float) -> float:
    """Smallest number of principal components of ``rows`` (N, D) whose explained-variance share
    exceeds ``eta`` (the direct path). NaN when the rows have no variance.
    """
    if not 0.0 < eta < 1.0:
        raise ValueError(f"eta must be in (0, 1), got {eta}")
    x = rows.to(torch.float32)
    x = x - x.mean(dim=0, keepdim=True)
    covariance = (x.T @ x) / max(x.shape[0] - 1, 1)
    return dim_from_eigenvalues(torch.linalg.eigvalsh(covariance), eta)


def factored_eigenvalues(inputs: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of Cov(inputs·weightᵀ + b) on its nonzero spectrum, from ``inputs`` (N, h) and ``weight`` (D, h).

    With C_H the covariance of the inputs and WᵀW = L·Lᵀ (Cholesky), C = W·C_H·Wᵀ has the
    nonzero eigenvalues of the h×h matrix Lᵀ·C_H·L. The two Gram products are float32 (as the
    direct path's), the h×h work float64. C_H may be singular (LayerNorm outputs sum to zero);
    when WᵀW is (a rank-deficient weight), the square root of C_H from its eigenvectors is used instead.
    Returns h values (the other D − h eigenvalues of the D×D covariance are zero).
    """
    x = inputs.to(torch.float32)
    x = x - x.mean(dim=0, keepdim=True)
    input_cov = (x.T @ x).to(torch.float64) / max(x.shape[0] - 1, 1)
    w = weight.detach().to(torch.float32)
    factor, info = torch.linalg.cholesky_ex((w.T @ w).to(torch.float64))
    if int(info) == 0:
        return torch.linalg.eigvalsh(factor.T @ input_cov @ factor)
    return root_eigenvalues(input_cov, w.to(torch.float64))


def root_eigenvalues(input_cov: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Nonzero-spectrum eigenvalues of W·C_H·Wᵀ through C_H's eigenvector square root: with
    C_H = V·S·Vᵀ and B = W·V·S^½, those of the h×h matrix Bᵀ·B (any rank of W or C_H)."""
    scales, vectors = torch.linalg.eigh(input_cov)
    root = weight @ (vectors * scales.clamp_min(0.0).sqrt())
    return torch.linalg.eigvalsh(root.T @ root)


def pca_dim_factored(inputs: torch.Tensor, weight: torch.Tensor, eta: float) -> float:
    """:func:`pca_dim` of ``inputs·weightᵀ + b`` without forming it (the factored path)."""
    return dim_from_eigenvalues(factored_eigenvalues(inputs, weight), eta)


def factored_is_cheaper(rows: int, inputs: int, outputs: int) -> bool:
    """Whether the factored path costs fewer operations than the direct one for ``rows`` tokens of
    width ``inputs`` mapped to ``outputs`` (float64 work counts twice; an eigensolver ~4 m³)."""
    n, h, d = rows, inputs, outputs
    direct = n * d * d + 4 * d**3
    factored = n * h * h + d * h * h + 2 * (h**3 / 3 + 2 * h**3 + 4 * h**3)
    return factored < direct


def layer_pca_dim(outputs: torch.Tensor, inputs: torch.Tensor | None, weight: torch.Tensor | None, mask: torch.Tensor | None, eta: float) -> float:
    """PCA_dim of one layer's first-linear output, by the cheaper exact path."""
    rows = token_rows(outputs, mask)
    if inputs is not None and weight is not None and factored_is_cheaper(rows.shape[0], weight.shape[1], weight.shape[0]):
        return pca_dim_factored(token_rows(inputs, mask), weight, eta)
    return pca_dim(rows, eta)


def layer_pca_dims(ctx: ProxyContext) -> list[float]:
    """PCA_dim of every layer's first FFN linear output, in layer order.

    Memoised in ``ctx`` under ``("pca_dims", eta)``, one item per layer: V-PCA and W-PCA
    share it, and it is their per-layer rule (prefix reuse concatenates the layers' lists).
    """
    eta = float(ctx.options.get("eta", _OPTIONS["eta"]))
    mask = ctx.batch.get("attention_mask")

    def compute() -> list[float]:
        outputs = ctx.captured["ffn_first_linear"]
        inputs = ctx.captured.get("ffn_input") or [None] * len(outputs)
        readers = [getattr(tap, "reader", None) for tap in ctx.captured_taps.get("ffn_input", [])] or [None] * len(outputs)
        if not len(inputs) == len(readers) == len(outputs):
            raise ValueError(f"{len(outputs)} FFN outputs but {len(inputs)} inputs and {len(readers)} input taps")
        weights = [getattr(reader, "weight", None) for reader in readers]
        return [layer_pca_dim(x, h, w, mask, eta) for x, h, w in zip(outputs, inputs, weights)]

    return ctx.cached(("pca_dims", eta), compute)


def reduce_layers(values: list[float], how: str) -> float:
    """Combine per-layer values: ``sum`` (Eq. 2) or ``mean``."""
    if how not in ("sum", "mean"):
        raise ValueError(f"reduce must be 'sum' or 'mean', got {how!r}")
    if not values:
        raise ValueError("the model has no FFN layer to analyse")
    total = float(sum(values))
    return total if how == "sum" else total / len(values)


_PER_LAYER = PerLayer(memo=layer_pca_dims)
_TAPS = ("ffn_first_linear", "ffn_input")


@register_proxy("v-pca", "vpca", label="Vanilla PCA", taps=_TAPS, options=_OPTIONS, per_layer=_PER_LAYER)
def v_pca(ctx: ProxyContext) -> float:
    """V-PCA: principal components needed for η of the FFN-input variance, summed over layers (Eq. 1-2)."""
    return reduce_layers(layer_pca_dims(ctx), str(ctx.options.get("reduce", "sum")))


@register_proxy("w-pca", "wpca", label="W-PCA", taps=_TAPS, options=_OPTIONS, per_layer=_PER_LAYER)
def w_pca(ctx: ProxyContext) -> float:
    """W-PCA: number of parameters times V-PCA (Eq. 4)."""
    return float(ctx.num_params) * v_pca(ctx)
