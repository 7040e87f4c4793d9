"""The knowledge-distillation loss of the W-PCA paper (Appendix C, after EfficientBERT).

For a student with ``m`` layers and a teacher with ``L`` layers::

    L_attn^i = MSE(A_i^S W_a, A_j^T)        j = layer_map(i)
    L_hidd^i = MSE(H_i^S W_h, H_j^T)
    L_embd   = MSE(E^S W_e,  E^T)
    L_pred   = CE(z^S, z^T)                   soft cross-entropy at temperature τ
    L        = Σ_i (L_attn^i + L_hidd^i) + L_embd + γ · L_pred

``MSE`` is the mean of squared differences over every element (batch, tokens, features),
as ``torch.nn.MSELoss`` (padding positions included, as in the reference code).

* ``A`` is the output of the multi-head-attention sub-layer (after its residual
  normalisation; width ``H`` in BERT blocks, the bottleneck ``b`` in MobileBERT blocks),
  ``H`` the output of the FFN sub-layer = the block output, ``E`` the embedding output.
  This is what the paper's text says ("outputs of the MHA and FFN layers") and what the
  reference code distils. ``attn_target="probs"`` distils the attention *maps* instead
  (softmax probabilities, ``(B, heads, T, T)``); the teacher's and the student's head
  counts may then differ and ``W_a`` is a learned ``heads_S × heads_T`` head-mixing matrix
  (initialised to the head average), the identity when the counts agree.
* ``W_a``, ``W_h``, ``W_e`` are trainable bias-free linear maps from the student's width
  to the teacher's, used only where the widths differ (identity otherwise). ``W_h`` is shared
  by all layers; ``W_a`` is one matrix per student attention width (one for the BERT
  blocks, one for the MobileBERT blocks), as in the reference code. They are initialised
  N(0, 0.02) and trained with the student, then discarded.
* ``layer_map(i) = ceil((i + 1) · L / m) − 1`` (0-based). This is the paper's rule when
  ``m`` divides ``L`` (12 → 12 one-to-one; 6 → every second teacher layer: student layer
  1 ↔ teacher layer 2, ..., 6 ↔ 12). When the student is deeper than the teacher (a
  12-layer student of the 6-layer MiniLM teacher) consecutive student layers share a
  teacher layer: student layers (1, 2) ↔ teacher layer 1, ..., (11, 12) ↔ 6.
* ``CE(z^S, z^T) = mean_batch Σ_c −softmax(z^T/τ)_c · log softmax(z^S/τ)_c``. For
  regression (STS-B) the prediction loss is ``MSE(z^S, z^T)``. For span extraction
  (SQuAD) it is the mean of the start and the end soft cross-entropies over token
  positions, padding positions excluded. γ is 0 in general (pre-training) distillation
  and 1 in task distillation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

ATTN_TARGETS = ("output", "probs")


def layer_map(student_layers: int, teacher_layers: int) -> list[int]:
    """Teacher layer (0-based) matched to each student layer: ``ceil((i+1)·L/m) − 1``."""
    if student_layers < 1 or teacher_layers < 1:
        raise ValueError(f"layer counts must be positive, got {student_layers} and {teacher_layers}")
    return [math.ceil((i + 1) * teacher_layers / student_layers) - 1 for i in range(student_layers)]


def soft_cross_entropy(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``mean_rows Σ_c −softmax(t/τ)_c log softmax(s/τ)_c`` over the last axis.

    Args:
        student_logits, teacher_logits: ``(..., C)`` logits.
        temperature: τ > 0.
        mask: optional ``(..., C)`` boolean mask of the classes that exist (e.g. non-padding
            token positions); the others are left out of both softmaxes.
    """
    if mask is not None:
        fill = torch.finfo(student_logits.dtype).min
        student_logits = student_logits.masked_fill(~mask, fill)
        teacher_logits = teacher_logits.masked_fill(~mask, fill)
    target = torch.softmax(teacher_logits / temperature, dim=-1)
    log_prob = torch.log_softmax(student_logits / temperature, dim=-1)
    products = target * log_prob
    if mask is not None:
        products = products.masked_fill(~mask, 0.0)
    return -products.sum(dim=-1).mean()


def prediction_loss(kind: str, student: torch.Tensor, teacher: torch.Tensor, temperature: float, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """``L_pred`` for a head of ``kind`` ``classification``, ``regression`` or ``span``.

    Span logits are ``(B, T, 2)`` (start, end); the mean of both soft cross-entropies over
    the positions where ``attention_mask`` is 1.
    """
    if kind == "classification":
        return soft_cross_entropy(student, teacher, temperature)
    if kind == "regression":
        return F.mse_loss(student, teacher)
    if kind == "span":
        mask = None if attention_mask is None else attention_mask.bool()
        losses = [soft_cross_entropy(student[..., k], teacher[..., k], temperature, mask) for k in (0, 1)]
        return (losses[0] + losses[1]) / 2
    raise ValueError(f"unknown head kind {kind!r}; allowed: classification, regression, span")


class HeadMix(nn.Module):
    """Learned mixing of attention heads: ``(B, h_S, T, T) → (B, h_T, T, T)``, ``out_g = Σ_h A_h W_hg``."""

    def __init__(self, student_heads: int, teacher_heads: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((student_heads, teacher_heads), 1.0 / student_heads))

    def forward(self, probs: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bhqk,hg->bgqk", probs, self.weight)


def _projection(in_width: int, out_width: int) -> nn.Module:
    if in_width == out_width:
        return nn.Identity()
    layer = nn.Linear(in_width, out_width, bias=False)
    nn.init.normal_(layer.weight, std=0.02)
    return layer


@dataclass
class Features:
    """What one forward pass of an encoder exposes to the loss.

    Attributes:
        embeddings: ``(B, T, width)`` output of the embedding block.
        hidden: per layer, ``(B, T, width)`` block (FFN sub-layer) outputs.
        attention: per layer, MHA sub-layer outputs ``(B, T, width_i)`` or, for
            ``attn_target="probs"``, attention probabilities ``(B, heads_i, T, T)``.
        last: ``(B, T, width)`` last hidden state (the input of the task head).
    """

    embeddings: torch.Tensor
    hidden: list[torch.Tensor]
    attention: list[torch.Tensor]
    last: torch.Tensor


@dataclass(frozen=True)
class FeatureShapes:
    """Widths of an encoder's features: embedding width, hidden width, and per-layer attention width (or heads)."""

    embedding: int
    hidden: int
    attention: tuple[int, ...]

    @staticmethod
    def of(features: Features, attn_target: str) -> "FeatureShapes":
        axis = 1 if attn_target == "probs" else -1
        return FeatureShapes(features.embeddings.shape[-1], features.hidden[0].shape[-1], tuple(a.shape[axis] for a in features.attention))


class KDLoss(nn.Module):
    """Appendix C's loss with its trainable projections (see the module docstring).

    Args:
        student: feature widths of the student.
        teacher: feature widths of the teacher.
        attn_target: ``"output"`` (MHA outputs, the paper's definition) or ``"probs"``.
        temperature: τ of the soft cross-entropy.
    """

    def __init__(self, student: FeatureShapes, teacher: FeatureShapes, attn_target: str = "output", temperature: float = 1.0) -> None:
        super().__init__()
        if attn_target not in ATTN_TARGETS:
            raise ValueError(f"unknown attention target {attn_target!r}; allowed: {', '.join(ATTN_TARGETS)}")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.attn_target = attn_target
        self.temperature = temperature
        self.mapping = layer_map(len(student.attention), len(teacher.attention))
        self.w_e = _projection(student.embedding, teacher.embedding)
        self.w_h = _projection(student.hidden, teacher.hidden)
        targets = {teacher.attention[j] for j in self.mapping}
        if len(targets) != 1:
            raise ValueError(f"teacher layers of different attention widths are not supported: {sorted(targets)}")
        target = targets.pop()
        make = (lambda w: nn.Identity() if w == target else HeadMix(w, target)) if attn_target == "probs" else (lambda w: _projection(w, target))
        self.w_a = nn.ModuleDict({str(w): make(w) for w in sorted(set(student.attention))})

    def forward(
        self,
        student: Features,
        teacher: Features,
        gamma: float = 0.0,
        head_kind: str | None = None,
        student_logits: torch.Tensor | None = None,
        teacher_logits: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """The loss terms ``attn`` (Σ over layers), ``hidd`` (Σ), ``embd``, ``pred`` and the total ``loss``."""
        attn = student.embeddings.new_zeros(())
        hidd = student.embeddings.new_zeros(())
        for i, j in enumerate(self.mapping):
            a = student.attention[i]
            width = a.shape[1] if self.attn_target == "probs" else a.shape[-1]
            attn = attn + F.mse_loss(self.w_a[str(width)](a), teacher.attention[j])
            hidd = hidd + F.mse_loss(self.w_h(student.hidden[i]), teacher.hidden[j])
        embd = F.mse_loss(self.w_e(student.embeddings), teacher.embeddings)
        total = attn + hidd + embd
        pred = student.embeddings.new_zeros(())
        if gamma and student_logits is not None:
            pred = prediction_loss(head_kind or "classification", student_logits, teacher_logits, self.temperature, attention_mask)
            total = total + gamma * pred
        return {"loss": total, "attn": attn.detach(), "hidd": hidd.detach(), "embd": embd.detach(), "pred": pred.detach()}
