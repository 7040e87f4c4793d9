"""Training budgets per scale (``smoke``, ``cpu``, ``paper``).

``paper`` is Sec. 6.2.2 of the W-PCA paper: pre-training (general) distillation with batch
256 at learning rate 1e-4 (10 epochs over the corpus, the reference code's
``pretrain_mysupernet.sh``; the paper gives no number); GLUE fine-tuning with batch 32 at
5e-5 for 10 epochs, CoLA 50; SQuAD at 1e-4 (batch 32, 10 epochs: the paper gives neither);
sequences of 128 tokens (SQuAD 384, stride 128). The teacher (bert-base-uncased) is
fine-tuned per task with the same batch and epochs at 2e-5 (BERT's usual rate).

``cpu`` trains one ~15M-parameter student on a 2-core CPU in a few hours: every stage is
capped at 300 steps of batch 16 (general distillation about 15 minutes at one thread, a GLUE
task 2–25 minutes, SQuAD about 70), and the learning rates are raised (a short schedule
needs larger steps). ``smoke`` runs each stage for a few steps of
tiny batches: seconds, for tests and CI; its numbers mean nothing.

Every number here is recorded in the training directory's manifest.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from bench.errors import UserError


@dataclass(frozen=True)
class StageBudget:
    """Batch, learning rate and length of one kind of stage.

    ``steps = min(max_steps, ceil(epochs · examples / batch_size))``; either bound may be
    absent (``None``), not both.
    """

    batch_size: int
    lr: float
    seq_len: int
    epochs: float | None = None
    max_steps: int | None = None

    def steps(self, examples: int, epochs: float | None = None) -> int:
        """Number of optimisation steps over ``examples`` training examples (at least 1)."""
        epochs = self.epochs if epochs is None else epochs
        bounds = []
        if epochs is not None:
            bounds.append(math.ceil(epochs * examples / self.batch_size))
        if self.max_steps is not None:
            bounds.append(self.max_steps)
        if not bounds:
            raise ValueError("a stage budget needs epochs or max_steps")
        return max(1, min(bounds))


@dataclass(frozen=True)
class TrainScale:
    """All budgets of one scale.

    Attributes:
        general: pre-training distillation on raw text (examples = text windows).
        glue: task distillation on a GLUE task (``epochs`` for all tasks but CoLA).
        cola_epochs: CoLA's epochs (the paper trains CoLA 5× longer).
        squad: task distillation on SQuAD.
        teacher_glue / teacher_squad: fine-tuning of the teacher per task.
        squad_stride: overlap of SQuAD context windows in tokens.
        eval_batch: batch size of evaluation passes.
        train_limit: train on the first N examples (questions) of each task (``None``: all).
        eval_limit: evaluate on the first N examples of each dev set (``None``: all).
        latency_repeats: timed forward passes for the latency median.
        save_every / log_every: steps between checkpoints / log rows.
    """

    name: str
    general: StageBudget
    glue: StageBudget
    cola_epochs: float | None
    squad: StageBudget
    teacher_glue: StageBudget
    teacher_squad: StageBudget
    squad_stride: int
    eval_batch: int
    train_limit: int | None
    eval_limit: int | None
    latency_repeats: int
    save_every: int
    log_every: int

    def as_config(self) -> dict[str, Any]:
        """A JSON-ready copy for the manifest."""
        return asdict(self)

    def capped(self, max_steps: int | None = None, save_every: int | None = None) -> "TrainScale":
        """This scale with ``max_steps`` as every stage's step cap (replacing the scale's; the
        epoch bound still applies) and/or another checkpoint interval."""
        scale = self
        if max_steps is not None:
            if max_steps < 1:
                raise UserError(f"--max-steps must be >= 1, got {max_steps}")
            stages = ("general", "glue", "squad", "teacher_glue", "teacher_squad")
            scale = replace(scale, **{k: replace(getattr(scale, k), max_steps=max_steps) for k in stages})
        if save_every is not None:
            if save_every < 1:
                raise UserError(f"--save-every must be >= 1, got {save_every}")
            scale = replace(scale, save_every=save_every)
        return scale


TRAIN_SCALES: dict[str, TrainScale] = {
    "smoke": TrainScale(
        "smoke",
        general=StageBudget(batch_size=2, lr=1e-4, seq_len=16, max_steps=3),
        glue=StageBudget(batch_size=4, lr=5e-5, seq_len=16, max_steps=3),
        cola_epochs=None,
        squad=StageBudget(batch_size=2, lr=1e-4, seq_len=48, max_steps=3),
        teacher_glue=StageBudget(batch_size=4, lr=5e-5, seq_len=16, max_steps=3),
        teacher_squad=StageBudget(batch_size=2, lr=1e-4, seq_len=48, max_steps=3),
        squad_stride=16,
        eval_batch=16,
        train_limit=64,
        eval_limit=24,
        latency_repeats=3,
        save_every=2,
        log_every=1,
    ),
    "cpu": TrainScale(
        "cpu",
        general=StageBudget(batch_size=16, lr=3e-4, seq_len=128, max_steps=300),
        glue=StageBudget(batch_size=16, lr=1e-4, seq_len=128, epochs=3, max_steps=300),
        cola_epochs=15,
        squad=StageBudget(batch_size=16, lr=2e-4, seq_len=256, epochs=2, max_steps=300),
        teacher_glue=StageBudget(batch_size=16, lr=5e-5, seq_len=128, epochs=3, max_steps=300),
        teacher_squad=StageBudget(batch_size=16, lr=1e-4, seq_len=256, epochs=2, max_steps=300),
        squad_stride=64,
        eval_batch=64,
        train_limit=None,
        eval_limit=None,
        latency_repeats=50,
        save_every=50,
        log_every=10,
    ),
    "paper": TrainScale(
        "paper",
        general=StageBudget(batch_size=256, lr=1e-4, seq_len=128, epochs=10),
        glue=StageBudget(batch_size=32, lr=5e-5, seq_len=128, epochs=10),
        cola_epochs=50,
        squad=StageBudget(batch_size=32, lr=1e-4, seq_len=384, epochs=10),
        teacher_glue=StageBudget(batch_size=32, lr=2e-5, seq_len=128, epochs=10),
        teacher_squad=StageBudget(batch_size=32, lr=5e-5, seq_len=384, epochs=10),
        squad_stride=128,
        eval_batch=128,
        train_limit=None,
        eval_limit=None,
        latency_repeats=100,
        save_every=1000,
        log_every=100,
    ),
}


def get_train_scale(name: str) -> TrainScale:
    """The training scale called ``name``.

    Raises:
        UserError: for an unknown scale.
    """
    if name not in TRAIN_SCALES:
        raise UserError(f"unknown scale {name!r}; allowed: {', '.join(TRAIN_SCALES)}")
    return TRAIN_SCALES[name]
