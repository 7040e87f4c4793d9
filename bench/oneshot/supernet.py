"""The SPOS supernet (paper Table 8, Appendix E.2) over a searchable space.

Every layer ``p`` holds all candidate blocks (:class:`Supernet`), built and initialised
exactly as the standalone models build them (position seeds, the genome's blocks, with
``bench.scoring.score.init_seed``): at step 0 every path *is* the model ``bench run`` builds
for that architecture. The embedding block and the tied decoder are shared by all paths.
Any space whose genome declares standalone blocks with a tied decoder
(:class:`spaces.genome.PositionSeededBlocks` with ``lm_logits``) can be trained and searched
this way (:func:`spos_space`); the NLU spaces do.
How it is trained: :mod:`bench.oneshot.training`; the search's fitness:
:mod:`bench.oneshot.fitness`.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from bench.errors import UserError
from bench.oneshot.mlm import model_inputs


class Supernet(nn.Module):
    """All candidate blocks of every layer of a space, with a shared embedding and tied decoder.

    Args:
        space: a space accepted by :func:`spos_space` (position-seeded blocks, a tied decoder).
        seed: the run seed; blocks are initialised from ``bench.scoring.runner.init_seed(space, seed, "")``.
    """

    def __init__(self, space, seed: int) -> None:
        super().__init__()
        from bench.scoring.score import init_seed

        genome = space.genome()
        parts = genome.blocks
        init = init_seed(space, seed, "")
        self.depth = genome.depth
        self.num_choices = genome.choices
        self._mask_bias = parts.mask_bias
        self._lm_logits = parts.lm_logits
        self.embeddings = parts.embeddings(init)
        self.choices = nn.ModuleList(
            nn.ModuleList(parts.block(p, c, init) for c in range(genome.choices)) for p in range(genome.depth)
        )

    def block(self, position: int, choice: int) -> nn.Module:
        return self.choices[position][choice]

    def forward(self, path: Sequence[int], input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Last hidden state of the path ``path`` (one block index per layer), as the space's
        ``build_model`` computes it (the contract of :class:`spaces.genome.PositionSeededBlocks`)."""
        if len(path) != self.depth:
            raise ValueError(f"a path has {self.depth} block indices, got {len(path)}")
        mask_bias = self._mask_bias(attention_mask)
        x = self.embeddings(input_ids, token_type_ids)
        for position, choice in enumerate(path):
            x = self.choices[position][int(choice)](x, mask_bias)
        return x

    def lm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits through the decoder tied to the word embeddings."""
        return self._lm_logits(self.embeddings, hidden)


def spos_space(name: str):
    """The space called ``name``, if a supernet can be built over it.

    Raises:
        UserError: for a space without a genome (:func:`bench.search.loop.search_space`), or whose
            genome declares no position-seeded blocks with a tied decoder.
    """
    from bench.search.loop import search_space

    space = search_space(name)
    blocks = space.genome().blocks
    if blocks is None or blocks.lm_logits is None:
        raise UserError(f"space {name!r} has no position-seeded blocks with a tied decoder; an SPOS supernet cannot be built over it")
    return space


def mlm_loss(model: Supernet, path: Sequence[int], inputs: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor, device: torch.device, reduction: str = "mean") -> torch.Tensor:
    """Masked-LM cross-entropy of ``path`` on one batch (``reduction`` as in ``F.cross_entropy``)."""
    hidden = model(path, **model_inputs(inputs, device))
    selected = targets.to(device)
    logits = model.lm_logits(hidden[selected])
    return F.cross_entropy(logits.float(), labels.to(device)[selected], reduction=reduction)
