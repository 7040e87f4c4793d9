"""Scalar losses whose gradients the gradient-based proxies read.

``token-ce`` (default)
    Token cross-entropy of a decoder tied to the model's own word embeddings
    (``model.lm_logits``), predicting the input token at 15% of the non-special positions of
    every sequence (at least one per sequence), chosen by a seeded generator. It uses only
    the model's own weights, so it is the masked-LM objective without masking the shared
    forward pass's input.
``next-token``
    Next-token cross-entropy of a decoder language model through its own output softmax
    (``model.lm_nll``): position ``t`` predicts token ``t + 1``, averaged over the positions
    whose both tokens are unmasked. The natural loss of the decoder space ``lts``.
``ones``
    The sum of the last hidden state, i.e. back-propagating a tensor of ones, as the
    benchmark's published proxy code does. Every built-in encoder ends in a LayerNorm whose
    gain is 1 at initialisation, and ``Σ_i LN(x)_i`` does not depend on ``x``: this loss has a
    zero gradient (rounding noise) for every weight before the last LayerNorm. It is offered
    only to reproduce published numbers.
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn
from torch.nn import functional as F

LOSSES: tuple[str, ...] = ("token-ce", "next-token", "ones")
TARGET_SHARE = 0.15


def target_positions(batch: Mapping[str, torch.Tensor], seed: int) -> torch.Tensor:
    """Boolean (B, T) mask of the positions whose input token the ``token-ce`` loss predicts."""
    ids = batch["input_ids"]
    candidates = torch.ones_like(ids, dtype=torch.bool)
    candidates[:, 0] = False
    candidates[:, -1] = False
    if "attention_mask" in batch:
        candidates &= batch["attention_mask"].bool()
    draws = torch.rand(ids.shape, generator=torch.Generator().manual_seed(seed))
    chosen = candidates & (draws < TARGET_SHARE)
    fallback = torch.where(candidates, draws, torch.full_like(draws, -1.0)).argmax(dim=1)
    empty = ~chosen.any(dim=1) & candidates.any(dim=1)
    chosen[empty, fallback[empty]] = True
    return chosen


def proxy_loss(model: nn.Module, last_hidden: torch.Tensor, batch: Mapping[str, torch.Tensor], kind: str, seed: int) -> torch.Tensor:
    """The scalar loss of kind ``kind`` (see the module docstring).

    Raises:
        ValueError: for an unknown kind, or a model without ``lm_logits`` for ``token-ce``.
    """
    if kind == "ones":
        return last_hidden.sum()
    if kind == "token-ce":
        if not hasattr(model, "lm_logits"):
            raise ValueError(f"{type(model).__name__} has no lm_logits(); use the 'ones' loss")
        positions = target_positions(batch, seed).to(last_hidden.device)
        logits = model.lm_logits(last_hidden[positions])
        return F.cross_entropy(logits.float(), batch["input_ids"][positions])
    if kind == "next-token":
        if not hasattr(model, "lm_nll"):
            raise ValueError(f"{type(model).__name__} is not a decoder language model (no lm_nll()); use the token-ce loss")
        ids = batch["input_ids"].to(last_hidden.device)
        keep = torch.ones_like(ids[:, 1:], dtype=torch.bool)
        if "attention_mask" in batch:
            mask = batch["attention_mask"].to(last_hidden.device).bool()
            keep = mask[:, 1:] & mask[:, :-1]
        return model.lm_nll(last_hidden[:, :-1][keep], ids[:, 1:][keep]).float().mean()
    raise ValueError(f"unknown loss {kind!r}; allowed: {', '.join(LOSSES)}")
