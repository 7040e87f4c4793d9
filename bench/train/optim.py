"""The optimiser every training in the product uses: AdamW without decay on 0-/1-D parameters.

Weight decay applies to every weight matrix; biases and normalisation gains and shifts
(parameters with fewer than two dimensions) are not decayed, as in the reference code.
Distillation stages (:mod:`bench.train.loop`) and the SPOS supernet
(:mod:`bench.oneshot.training`) build theirs here and differ only in ``eps`` and schedule.
"""

from __future__ import annotations

import torch
from torch import nn


def adamw(
    module: nn.Module,
    lr: float,
    weight_decay: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    foreach: bool | None = None,
) -> torch.optim.AdamW:
    """AdamW over ``module``'s trainable parameters in two groups: decayed (≥ 2-D) and not."""
    params = [p for p in module.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, foreach=foreach)
