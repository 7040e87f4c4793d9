"""Adaptive input embedding and projected adaptive log-softmax (Baevski & Auli 2019; Dai et al. 2019).

The vocabulary is split at the cut-offs ``c_0 < c_1 < … < c_n = n_token`` into a head
cluster ``[0, c_0)`` and tail clusters. With ``div_val > 1`` cluster ``i`` has its own table of
width ``e_i = d_embed / div_val^i`` and a projection ``P_i`` (``d_model × e_i``); with
``div_val = 1`` there is one table of width ``d_embed`` and one projection (only when
``d_embed ≠ d_model``). The embedding of token ``t`` in cluster ``i`` is
``√d_model · P_i E_i[t − c_{i−1}]``.

The output softmax is tied to the embedding: cluster ``i`` scores its tokens with
``E_i (P_iᵀ h) + b_i``, where ``P_i`` is the input projection or, where ``tie_projs`` says so
not, a projection of its own. The head distribution covers the head tokens and one entry per
tail cluster (``cluster_weight``, ``cluster_bias``); a tail token's log-probability is its
cluster's head log-probability plus its log-probability within the cluster.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class Projection(nn.Linear):
    """A bias-free map of a cluster's embedding width to ``d_model`` (its own type, so that the
    model's initialisation can give projections their own scale)."""

    def __init__(self, width: int, d_model: int) -> None:
        super().__init__(width, d_model, bias=False)


class AdaptiveEmbedding(nn.Module):
    """``ids (B, T) → √d · P_i E_i[ids]`` of shape (B, T, d_model)."""

    def __init__(self, n_token: int, d_embed: int, d_model: int, cutoffs: tuple[int, ...], div_val: int) -> None:
        super().__init__()
        self.d_model, self.div_val, self.scale = d_model, div_val, math.sqrt(d_model)
        self.bounds = (0, *cutoffs) if div_val > 1 else (0, n_token)
        self.tables = nn.ModuleList()
        self.projections = nn.ModuleList()
        for i in range(len(self.bounds) - 1):
            width = d_embed // div_val**i
            self.tables.append(nn.Embedding(self.bounds[i + 1] - self.bounds[i], width))
            projected = div_val > 1 or width != d_model
            self.projections.append(Projection(width, d_model) if projected else nn.Identity())

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if len(self.tables) == 1:
            return self.projections[0](self.tables[0](ids)) * self.scale
        out = torch.zeros(*ids.shape, self.d_model, dtype=self.tables[0].weight.dtype, device=ids.device)
        for i, (table, projection) in enumerate(zip(self.tables, self.projections)):
            low, high = self.bounds[i], self.bounds[i + 1]
            inside = (ids >= low) & (ids < high)
            if inside.any():
                out[inside] = projection(table(ids[inside] - low))
        return out * self.scale


class AdaptiveLogSoftmax(nn.Module):
    """Log-probabilities of tokens under the adaptive softmax tied to an :class:`AdaptiveEmbedding`.

    Only the tensors the embedding does not provide are parameters here: ``cluster_weight``
    (n_clusters × d_embed), ``cluster_bias``, one bias per token, and the untied projections.
    """

    def __init__(self, embedding: AdaptiveEmbedding, n_token: int, d_embed: int, d_model: int,
                 cutoffs: tuple[int, ...], div_val: int, tie_projs: tuple[bool, ...]) -> None:
        super().__init__()
        self.embedding = [embedding]  # a reference, not a sub-module: its tensors belong to the embedding
        self.cutoffs = (0, *cutoffs)
        self.div_val = div_val
        self.n_clusters = len(cutoffs) - 1
        self.cluster_weight = nn.Parameter(torch.zeros(self.n_clusters, d_embed)) if self.n_clusters else None
        self.cluster_bias = nn.Parameter(torch.zeros(self.n_clusters)) if self.n_clusters else None
        self.bias = nn.Parameter(torch.zeros(n_token))
        self.own_projections = nn.ModuleDict()
        for i, tied in enumerate(tie_projs[: len(cutoffs)]):
            width = d_embed if div_val == 1 else d_embed // div_val**i
            if not tied and (div_val > 1 or width != d_model):
                self.own_projections[str(i)] = Projection(width, d_model)

    def _cluster(self, i: int) -> tuple[torch.Tensor, nn.Module]:
        """Weight rows (tokens × width) and projection of output cluster ``i``."""
        embedding = self.embedding[0]
        low, high = self.cutoffs[i], self.cutoffs[i + 1]
        if self.div_val == 1:
            weight, projection = embedding.tables[0].weight[low:high], embedding.projections[0]
        else:
            weight, projection = embedding.tables[i].weight, embedding.projections[i]
        return weight, self.own_projections[str(i)] if str(i) in self.own_projections else projection

    @staticmethod
    def _logits(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, projection: nn.Module) -> torch.Tensor:
        reduced = hidden @ projection.weight if isinstance(projection, nn.Linear) else hidden
        return F.linear(reduced, weight, bias)

    def _head(self, hidden: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of the head tokens and, after them, of each tail cluster."""
        weight, projection = self._cluster(0)
        bias = self.bias[: self.cutoffs[1]]
        if self.n_clusters:
            weight = torch.cat([weight, self.cluster_weight])
            bias = torch.cat([bias, self.cluster_bias])
        return F.log_softmax(self._logits(hidden, weight, bias, projection), dim=-1)

    def log_probs(self, hidden: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of every token, ``(N, d_model) → (N, n_token)``."""
        head = self._head(hidden)
        parts = [head[:, : self.cutoffs[1]]]
        for i in range(1, self.n_clusters + 1):
            weight, projection = self._cluster(i)
            tail = F.log_softmax(self._logits(hidden, weight, self.bias[self.cutoffs[i] : self.cutoffs[i + 1]], projection), dim=-1)
            parts.append(head[:, self.cutoffs[1] + i - 1 : self.cutoffs[1] + i] + tail)
        return torch.cat(parts, dim=-1)

    def nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of ``targets`` (N,) given ``hidden`` (N, d_model), per position,
        computing each tail cluster only for the positions whose target is in it."""
        head = self._head(hidden)
        shortlist = targets < self.cutoffs[1]
        result = torch.zeros_like(targets, dtype=head.dtype)
        result[shortlist] = -head[shortlist].gather(1, targets[shortlist, None]).squeeze(1)
        for i in range(1, self.n_clusters + 1):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            inside = (targets >= low) & (targets < high)
            if not inside.any():
                continue
            weight, projection = self._cluster(i)
            tail = F.log_softmax(self._logits(hidden[inside], weight, self.bias[low:high], projection), dim=-1)
            within = tail.gather(1, (targets[inside] - low)[:, None]).squeeze(1)
            result[inside] = -(head[inside, self.cutoffs[1] + i - 1] + within)
        return result
