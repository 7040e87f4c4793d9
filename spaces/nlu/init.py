"""Position-seeded initialisation of NLU-space models.

Every part of an NLU-space model is initialised from its own generator, seeded by the
model seed and the part's identity alone:

* the embedding block by ``part_seed(seed, "embeddings")``;
* the block at position ``p`` (0 = first layer) with block index ``c`` (0..11) by
  ``part_seed(seed, "block", p, c)``.

So the weights of a block depend only on ``(seed, p, c)``, never on the other layers of the
architecture: two architectures that share their first ``k`` blocks compute identical
hidden states after those ``k`` blocks, which the search's prefix reuse
(:mod:`bench.search.prefix`) and the SPOS supernet (:mod:`bench.oneshot.supernet`) rely on.

Inside a part, parameters are drawn in module order with BERT's scheme (the reference
code's ``_init_weights``): ``N(0, std²)`` for every ``Linear`` and ``Embedding`` weight (every
row, padding row included), zero biases, LayerNorm/NoNorm gains 1 and shifts 0.

``part_seed`` is the recipe of :func:`bench.seeding.derive_seed` (first 63 bits of the
sha256 of the parts joined by ``\\x1f``), restated here so that spaces do not import the
application.
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn

from spaces.nlu.blocks import NoNorm


def part_seed(seed: int, purpose: str, *parts: object) -> int:
    """A 63-bit seed that depends only on ``seed``, ``purpose`` and ``parts``."""
    text = "\x1f".join([str(seed), purpose, *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def embeddings_seed(seed: int) -> int:
    """Seed of the embedding block of every model built with ``seed``."""
    return part_seed(seed, "embeddings")


def block_seed(seed: int, position: int, choice: int) -> int:
    """Seed of the block with index ``choice`` at layer ``position`` of every model built with ``seed``."""
    return part_seed(seed, "block", position, choice)


@torch.no_grad()
def bert_init_(module: nn.Module, seed: int, std: float = 0.02) -> nn.Module:
    """Initialise every parameter of ``module`` in place from a generator seeded with ``seed``.

    Linear and embedding weights ``~ N(0, std²)`` drawn in module order, biases 0,
    LayerNorm/NoNorm weights 1 and biases 0. Parameters on a non-CPU device are drawn on the
    CPU and copied, so the values do not depend on the device.

    Raises:
        TypeError: for a parameterised module type the scheme does not know (so no
            parameter is ever left uninitialised).
    """
    generator = torch.Generator().manual_seed(seed)
    for sub in module.modules():
        own = list(sub.parameters(recurse=False))
        if not own:
            continue
        if isinstance(sub, (nn.Linear, nn.Embedding)):
            sub.weight.copy_(torch.empty(sub.weight.shape).normal_(0.0, std, generator=generator))
            if getattr(sub, "bias", None) is not None:
                sub.bias.zero_()
        elif isinstance(sub, (nn.LayerNorm, NoNorm)):
            sub.weight.fill_(1.0)
            sub.bias.zero_()
        else:
            raise TypeError(f"no initialisation rule for {type(sub).__name__}")
    return module


def init_position_seeded_(model: nn.Module, seed: int) -> nn.Module:
    """Initialise an :class:`~spaces.nlu.modeling.NluModel` part by part (see the module docstring)."""
    std = model.config.initializer_range
    bert_init_(model.embeddings, embeddings_seed(seed), std)
    for position, (block, choice) in enumerate(zip(model.layers, model.config.blocks)):
        bert_init_(block, block_seed(seed, position, choice), std)
    return model
