"""Named capture points inside the models the spaces build.

A :class:`Tap` is an identity module placed at a point of the forward pass that proxies
read (the output of an FFN's first linear layer, an attention softmax, per-head outputs,
...). The capture pass hooks taps by kind instead of guessing module names, so every
space exposes the same points in the same way.

Kinds used by the built-in spaces:

``embeddings``        (B, T, hidden) output of the embedding block
``mixer_heads``       (B, T, H, d_head) per-head output of the token-mixing operation
``attention_probs``   (B, H, T, T) softmax probabilities of attention heads
``ffn_input``         (B, T, h) input of an FFN's first linear layer (``Tap.reader`` is that layer)
``ffn_first_linear``  (B, T, f) output of an FFN's first linear layer, before its activation
``ffn_activation``    (B, T, f) output of every FFN activation function
``block_output``      (B, T, hidden) output of every encoder block

Models also mark sub-modules with a ``proxy_role`` attribute so weight-based proxies find
them without knowing module names: ``"mixer"`` for the token-mixing operation and its
output projection (the multi-head attention block), ``"ffn"`` for the feed-forward stack.

:func:`recording` is the one place forward hooks are installed (the proxies' capture pass,
prefix reuse, the distillation features): it records module outputs while its block runs
and always removes its hooks.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any, Callable, Iterable, Iterator, TypeVar

import torch
from torch import nn

T = TypeVar("T")

TAP_KINDS: tuple[str, ...] = (
    "embeddings",
    "mixer_heads",
    "attention_probs",
    "ffn_input",
    "ffn_first_linear",
    "ffn_activation",
    "block_output",
)


class Tap(nn.Identity):
    """Identity module marking a capture point of kind ``kind`` in layer ``layer``.

    ``reader`` is the module that consumes the tapped tensor, for proxies that combine it
    with that module's weights (V-PCA's factored covariance reads ``ffn_input`` and the FFN's
    first linear layer). It is a plain reference, not a sub-module: it adds nothing to the
    model's parameters or state dict.
    """

    def __init__(self, kind: str, layer: int = -1, reader: nn.Module | None = None) -> None:
        super().__init__()
        if kind not in TAP_KINDS:
            raise ValueError(f"unknown tap kind {kind!r}; known: {', '.join(TAP_KINDS)}")
        self.kind = kind
        self.layer = layer
        self.__dict__["reader"] = reader

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D401 - identity
        return x

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, layer={self.layer}"


def collect_taps(model: nn.Module) -> dict[str, list[Tap]]:
    """All taps of ``model`` grouped by kind, each list in forward (module) order."""
    found: dict[str, list[Tap]] = defaultdict(list)
    for module in model.modules():
        if isinstance(module, Tap):
            found[module.kind].append(module)
    return dict(found)


def modules_with_role(model: nn.Module, role: str) -> list[nn.Module]:
    """Sub-modules marked with ``proxy_role == role``, in module order."""
    return [module for module in model.modules() if getattr(module, "proxy_role", None) == role]


def role_weights(model: nn.Module, role: str) -> list[tuple[str, nn.Parameter]]:
    """Weight matrices (parameters with two or more dimensions) inside modules of ``role``.

    Each parameter appears once even when roles nest.
    """
    seen: set[int] = set()
    found = []
    for module in modules_with_role(model, role):
        for name, param in module.named_parameters():
            if param.ndim >= 2 and id(param) not in seen:
                seen.add(id(param))
                found.append((name, param))
    return found


def _output(_module: nn.Module, output: Any) -> Any:
    return output


@contextlib.contextmanager
def recording(
    modules: Iterable[nn.Module], pick: Callable[[nn.Module, Any], T] = _output
) -> Iterator[list[tuple[nn.Module, T]]]:
    """Record the outputs of ``modules`` while the ``with`` block runs.

    A forward hook on each module appends ``(module, pick(module, output))`` to the yielded
    list every time the module runs, so the list is in forward order across all modules.
    ``pick`` runs inside the hook (e.g. to detach the output, to keep its graph with
    ``retain_grad()``, or to take the first item of a tuple output); by default the output
    is kept as it is. Every hook is removed when the block exits, also on error.

    Example:
        >>> with recording(collect_taps(model)["block_output"], lambda _m, out: out.detach()) as seen:
        ...     model(**batch)
        >>> outputs = [out for _, out in seen]
    """
    found: list[tuple[nn.Module, T]] = []

    def hook(module: nn.Module, _inputs: Any, output: Any) -> None:
        found.append((module, pick(module, output)))

    with rewriting(modules, hook):
        yield found


@contextlib.contextmanager
def rewriting(modules: Iterable[nn.Module], rewrite: Callable[[nn.Module, tuple, Any], Any]) -> Iterator[None]:
    """Run the ``with`` block with ``rewrite(module, inputs, output)`` hooked after each of ``modules``.

    What ``rewrite`` returns replaces the module's output (``None`` keeps it), so a pass can
    feed its own input at a tap (synflow's all-ones, Zen's Gaussian input) or bypass a module
    (synflow's LayerNorm-free network). Every hook is removed when the block exits, also on error.
    """
    handles = []
    try:
        for module in modules:
            handles.append(module.register_forward_hook(rewrite))
        yield
    finally:
        for handle in handles:
            handle.remove()
