"""Experiment scales: how big a proxy input batch is.

``smoke``  seconds per run; used by the tests and CI.
``cpu``    real results on a 2-core machine within hours (the committed ``results/``).
``paper``  the sizes of the published proxy code (batch 128 × 512 tokens), for a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """Proxy-input sizes of one scale."""

    name: str
    batch_size: int
    seq_len: int
    description: str


SCALES: dict[str, Scale] = {
    "smoke": Scale("smoke", 8, 32, "seconds per run; tests and CI"),
    "cpu": Scale("cpu", 32, 128, "real results on a 2-core CPU"),
    "paper": Scale("paper", 128, 512, "the published proxy code's batch (128 x 512 tokens); GPU"),
}


def get_scale(name: str) -> Scale:
    """The scale called ``name``.

    Raises:
        UserError: for an unknown scale.
    """
    from bench.errors import UserError

    if name not in SCALES:
        raise UserError(f"unknown scale {name!r}; allowed: {', '.join(SCALES)}")
    return SCALES[name]
