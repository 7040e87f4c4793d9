"""What a proxy receives: the outputs of one shared forward (and backward) pass."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Callable, Hashable, Mapping

import torch
from torch import nn


@dataclass(frozen=True)
class ProxyContext:
    """Read-only inputs of a proxy function.

    Proxies must not modify the tensors they are given: every proxy of an architecture
    reads the same captured outputs.

    Attributes:
        model: the model, in the mode the pass used; after a backward pass its parameters
            hold ``.grad`` of ``loss``.
        batch: the model inputs (``input_ids``, ``attention_mask``, ``token_type_ids``).
        captured: tap kind -> list of captured outputs, in forward order (detached).
        captured_layers: tap kind -> the encoder-layer index of each captured output.
        captured_taps: tap kind -> the :class:`~spaces.taps.Tap` that recorded each captured
            output (its ``reader`` is the module consuming it, e.g. the FFN's first linear layer).
        grads: tap kind -> list of gradients of ``loss`` w.r.t. those outputs (only for
            kinds some selected proxy declared in ``tap_grads``).
        output: the model's last hidden state (detached; empty when no selected proxy
            needs a forward pass).
        loss: the scalar whose gradients were taken, or ``None`` without backward.
        num_params: number of parameters of the model.
        options: this proxy's resolved options (see ``register_proxy(options=...)``).
        arch: the architecture being scored, for proxies that read its description.
        flops: floating-point operations of the forward pass (only when a selected proxy
            declared ``needs_flops``).
        memo: quantities derived from the captured outputs that several proxies share
            (read and filled through :meth:`cached`).
        loss_kind: the shared pass's loss (:mod:`proxies.losses`), for proxies whose own pass
            takes gradients of the same loss.
        train_mode: whether the shared pass ran in ``train()`` mode (dropout active).
        seed: the dropout seed of the shared pass, also the seed of the loss's target positions.
    """

    model: nn.Module
    batch: Mapping[str, torch.Tensor]
    captured: Mapping[str, list[torch.Tensor]]
    captured_layers: Mapping[str, list[int]]
    grads: Mapping[str, list[torch.Tensor]]
    output: torch.Tensor
    loss: float | None
    num_params: int
    options: Mapping[str, Any] = field(default_factory=dict)
    arch: Any = None
    flops: float | None = None
    memo: dict = field(default_factory=dict)
    loss_kind: str = "token-ce"
    train_mode: bool = False
    seed: int = 0
    captured_taps: Mapping[str, list[nn.Module]] = field(default_factory=dict)

    def cached(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``, evaluated once per context and ``key`` (e.g. per-layer PCA dims shared by V-PCA and W-PCA)."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def with_options(self, options: Mapping[str, Any]) -> "ProxyContext":
        """The same context with another proxy's options."""
        return replace(self, options=MappingProxyType(dict(options)))
