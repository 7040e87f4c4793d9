"""Alternative weight initialisations, applied after a model is built (for sensitivity studies).

``default``        the space's own initialisation (BERT's N(0, 0.02) for the built-in spaces);
``xavier-uniform`` Glorot-uniform weights of every linear and convolution layer, zero biases;
``kaiming-normal`` He-normal (fan-in, ReLU gain) weights of every linear and convolution layer,
                   zero biases;
``torch-default``  PyTorch's own ``reset_parameters()`` of every linear, convolution and
                   embedding layer (Kaiming-uniform with a = √5, N(0, 1) embeddings).

Norm layers keep unit gains and zero shifts. Re-initialisation draws from a generator seeded
with the given seed, so the same seed gives the same weights.
"""

from __future__ import annotations

import torch
from torch import nn

INIT_SCHEMES: tuple[str, ...] = ("default", "xavier-uniform", "kaiming-normal", "torch-default")


def reinitialise(model: nn.Module, scheme: str, seed: int) -> nn.Module:
    """Re-initialise ``model``'s weights in place with ``scheme``; returns the model.

    Raises:
        ValueError: for an unknown scheme.
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown initialisation {scheme!r}; allowed: {', '.join(INIT_SCHEMES)}")
    if scheme == "default":
        return model
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Conv1d)):
                if scheme == "xavier-uniform":
                    nn.init.xavier_uniform_(module.weight)
                elif scheme == "kaiming-normal":
                    nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                else:
                    module.reset_parameters()
                    continue
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding) and scheme == "torch-default":
                module.reset_parameters()
    return model
