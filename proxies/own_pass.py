"""Passes a proxy runs on its own (``register_proxy(own_pass=...)``): synflow's |θ| model, GraSP's
Hessian-gradient product, ZiCo's gradients of two half batches, Zen's perturbed inputs, the
layer outputs Fisher and MeCo read.

:func:`own_pass` puts the context's model in the shared pass's mode with gradients enabled, and
clears the gradients it leaves (such proxies are evaluated after every reader of the shared
pass). :func:`forward` and :func:`loss_of` re-seed the RNG with the shared pass's dropout seed
before each forward, so in ``train()`` mode every pass sees the shared pass's dropout masks.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Mapping

import torch
from torch import nn

from proxies.context import ProxyContext
from proxies.losses import proxy_loss


@contextlib.contextmanager
def own_pass(ctx: ProxyContext, model: nn.Module | None = None) -> Iterator[nn.Module]:
    """``model`` (default ``ctx.model``) in the shared pass's mode, gradients enabled and cleared, the
    global RNG state restored on exit; on exit the mode is restored and the gradients cleared."""
    model = ctx.model if model is None else model
    was_training = model.training
    try:
        model.train(ctx.train_mode)
        model.zero_grad(set_to_none=True)
        with torch.random.fork_rng(devices=[]), torch.enable_grad():
            yield model
    finally:
        model.train(was_training)
        model.zero_grad(set_to_none=True)


def forward(ctx: ProxyContext, model: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The last hidden state of ``model`` on ``batch``, the RNG seeded with ``ctx.seed`` first."""
    torch.manual_seed(ctx.seed)
    return model(**dict(batch)).last_hidden_state


def loss_of(ctx: ProxyContext, model: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The shared pass's loss (``ctx.loss_kind``, target seed ``ctx.seed``) of ``model`` on ``batch``."""
    return proxy_loss(model, forward(ctx, model, batch), batch, ctx.loss_kind, ctx.seed)


def unpadded(batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``batch`` with every position attended (an all-ones ``attention_mask``), for passes whose
    input at the embeddings tap is their own (all ones, Gaussian noise) rather than the tokens'."""
    out = dict(batch)
    if "attention_mask" in out:
        out["attention_mask"] = torch.ones_like(out["attention_mask"])
    return out


def first_sequence(batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``batch`` cut to its first sequence (the references' batch of one)."""
    return {key: value[:1] for key, value in batch.items()}


def embeddings_taps(model: nn.Module) -> list[nn.Module]:
    """The model's embeddings tap (where a pass feeds its own input).

    Raises:
        ValueError: for a model without one.
    """
    taps = model.proxy_taps().get("embeddings", [])
    if not taps:
        raise ValueError("the model exposes no embeddings tap")
    return taps


def split_batch(batch: Mapping[str, torch.Tensor], parts: int) -> list[dict[str, torch.Tensor]]:
    """``batch`` cut into ``parts`` consecutive groups of sequences (sizes differing by at most one).

    Raises:
        ValueError: when the batch has fewer sequences than ``parts``.
    """
    size = next(iter(batch.values())).shape[0]
    if size < parts:
        raise ValueError(f"the batch has {size} sequences; this proxy needs at least {parts}")
    bounds = [round(i * size / parts) for i in range(parts + 1)]
    return [{key: value[a:b] for key, value in batch.items()} for a, b in zip(bounds[:-1], bounds[1:])]
