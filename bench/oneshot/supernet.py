"""The SPOS supernet (paper Table 8, Appendix E.2) over a searchable space.

Every layer ``p`` holds all candidate blocks (:class:`Supernet`), built and initialised
exactly as the standalone models build them (position seeds, :mod:`spaces.nlu.init`, with
``bench.scoring.runner.init_seed``): at step 0 every path *is* the model ``bench run`` builds
for that architecture. The embedding block and the tied decoder are shared by all paths.
How it is trained: :mod:`bench.oneshot.training`; the search's fitness:
:mod:`bench.oneshot.fitness`.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from bench.oneshot.mlm import model_inputs


class Supernet(nn.Module):
    """All candidate blocks of every layer of an NLU space, with a shared embedding and tied decoder.

    Args:
        space: an NLU space (position-seeded).
        seed: the run seed; blocks are initialised from ``bench.scoring.runner.init_seed(space, seed, "")``.
    """

    def __init__(self, space, seed: int) -> None:
        super().__init__()
        from bench.scoring.score import init_seed

        init = init_seed(space, seed, "")
        self.depth = space.depth
        self.num_choices = space.num_choices
        self.embeddings = space.build_embeddings(init)
        self.choices = nn.ModuleList(
            nn.ModuleList(space.build_block(p, c, init) for c in range(space.num_choices)) for p in range(space.depth)
        )

    def block(self, position: int, choice: int) -> nn.Module:
        return self.choices[position][choice]

    def forward(self, path: Sequence[int], input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Last hidden state of the path ``path`` (one block index per layer), as ``NluModel.forward`` computes it."""
        from spaces.nlu.modeling import attention_bias

        if len(path) != self.depth:
            raise ValueError(f"a path has {self.depth} block indices, got {len(path)}")
        mask_bias = attention_bias(attention_mask)
        x = self.embeddings(input_ids, token_type_ids)
        for position, choice in enumerate(path):
            x = self.choices[position][int(choice)](x, mask_bias)
        return x

    def lm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits through the decoder tied to the word embeddings."""
        from spaces.nlu.modeling import tied_lm_logits

        return tied_lm_logits(self.embeddings, hidden)


def mlm_loss(model: Supernet, path: Sequence[int], inputs: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor, device: torch.device, reduction: str = "mean") -> torch.Tensor:
    """Masked-LM cross-entropy of ``path`` on one batch (``reduction`` as in ``F.cross_entropy``)."""
    hidden = model(path, **model_inputs(inputs, device))
    selected = targets.to(device)
    logits = model.lm_logits(hidden[selected])
    return F.cross_entropy(logits.float(), labels.to(device)[selected], reduction=reduction)
