"""Proxies of the inputs' loss Jacobians: Jacobian cosine (Celotti et al. 2020; paper Sec. 2.3),
jacov (Mellor et al. 2020, the first NASWOT score; zero-cost-nas ``jacob_cov``) and EPE-NAS
(Lopes et al. 2021; NASLib ``zerocost`` ``epe_nas``).

J_n is the gradient of the loss with respect to the encoder input (the embedding block's
output) of sequence n, flattened; J̃_n = J_n / ‖J_n‖. With N sequences,

    S = 1 − 1/(N² − N) · Σ_{i ≠ j} |J̃_i · J̃_j|^(1/20)

High scores mean the inputs' Jacobians point in different directions. The sum of the loss
over sequences makes J_n depend on sequence n only, so one backward pass gives all of them.

jacov reads the same J_n. With Σ the N × N Pearson correlation matrix of the rows J_n
(``numpy.corrcoef``) and v its eigenvalues,

    jacov = −Σ_i [ log(v_i + k) + 1 / (v_i + k) ],   k = 10⁻⁵

which is largest when Σ is close to the identity (uncorrelated Jacobians). zero-cost-nas
differentiates the sum of the network's output; the encoders here end in a LayerNorm, through
which that sum has a zero gradient (docs/proxies.md), so J_n is the gradient of the shared
pass's loss, as for the Jacobian cosine.

EPE-NAS groups the rows J_n by class c. With ρ_c the correlation matrix of class c's rows (the
1 × 1 matrix [1] for a class of one) and k = 10⁻⁵::

    s_c = Σ_ij log(|ρ_c,ij| + k)          (divided by the size of ρ_c when there are over 100 classes)
    epe_nas = Σ_c |s_c|                   (at most 100 classes)
            = Σ_c Σ_c' |s_c − s_c'| / C   (over 100 classes)

The classes are the batch's ``labels`` when it carries one per sequence (C counts the classes
present in the batch: the harness has no dataset-wide class count); the language-model
batches of the harness carry none, and every sequence is then of one class: epe_nas = |Σ_ij log(|ρ_ij| + k)|
over the correlation of all the rows, which is largest when the Jacobians are uncorrelated.
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
    off_diagonal = cosines[~torch.eye(n, dtype=torch.bool, device=cosines.device)]
    return float(1.0 - off_diagonal.pow(1.0 / 20.0).sum() / (n * n - n))


def input_jacobians(ctx: ProxyContext) -> torch.Tensor:
    """The (N, T, hidden) loss gradients of the encoder input, one row per sequence.

    Raises:
        ValueError: for a model without an embeddings tap.
    """
    grads = ctx.grads["embeddings"]
    if not grads:
        raise ValueError("the model exposes no embeddings tap")
    return grads[0]


@register_proxy("jacobian-cosine", "jacob-cos", label="Jacobian Cosine", tap_grads=("embeddings",))
def jacobian_cosine(ctx: ProxyContext) -> float:
    """Jacobian cosine: 1 − mean |cos|^(1/20) between the inputs' loss Jacobians."""
    return jacobian_cosine_score(input_jacobians(ctx))


JACOV_K = 1e-5


def jacov_score(jacobians: torch.Tensor) -> float:
    """−Σ_i [log(v_i + k) + 1/(v_i + k)] over the eigenvalues v of the rows' correlation matrix; NaN
    when a row is constant (its correlation is undefined)."""
    flat = jacobians.reshape(jacobians.shape[0], -1).to(torch.float64)
    if flat.shape[0] < 2:
        raise ValueError("jacov needs at least two inputs")
    correlation = torch.corrcoef(flat)
    if not bool(torch.isfinite(correlation).all()):
        return float("nan")
    eigenvalues = torch.linalg.eigvalsh(correlation)
    return float(-(torch.log(eigenvalues + JACOV_K) + 1.0 / (eigenvalues + JACOV_K)).sum())


@register_proxy("jacov", "jacob_cov", label="Jacov", tap_grads=("embeddings",))
def jacov(ctx: ProxyContext) -> float:
    """jacov: −Σ [log(v + k) + 1/(v + k)] over the eigenvalues v of the correlation of the inputs' loss Jacobians."""
    return jacov_score(input_jacobians(ctx))


EPE_K = 1e-5
EPE_MANY_CLASSES = 100


def epe_nas_score(jacobians: torch.Tensor, labels: torch.Tensor | None = None) -> float:
    """EPE-NAS of the rows of ``jacobians`` grouped by ``labels`` (one class when ``None`` or when the
    labels are not one per row); NaN when a class's correlation is undefined (a constant row)."""
    flat = jacobians.reshape(jacobians.shape[0], -1).to(torch.float64).cpu()
    if labels is None or labels.ndim != 1 or labels.shape[0] != flat.shape[0]:
        labels = torch.zeros(flat.shape[0], dtype=torch.long)
    labels = labels.cpu()
    classes = torch.unique(labels)
    many = len(classes) > EPE_MANY_CLASSES
    scores = []
    for c in classes:
        rows = flat[labels == c]
        if many and rows.shape[0] == 1:
            continue  # the reference's per-class normalisation fails on a class of one, which it skips
        correlation = torch.corrcoef(rows) if rows.shape[0] > 1 else torch.ones(1, 1, dtype=torch.float64)
        s = float(torch.log(correlation.abs() + EPE_K).sum())
        scores.append(s / correlation.shape[0] if many else s)
    if not many:
        return float(sum(abs(s) for s in scores))
    return float(sum(abs(a - b) for a in scores for b in scores) / len(scores))


@register_proxy("epe-nas", "epe_nas", label="EPE-NAS", tap_grads=("embeddings",))
def epe_nas(ctx: ProxyContext) -> float:
    """EPE-NAS: Σ_c |Σ_ij log(|ρ_c,ij| + k)| over the per-class correlations of the inputs' loss Jacobians."""
    return epe_nas_score(input_jacobians(ctx), ctx.batch.get("labels"))
