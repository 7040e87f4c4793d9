"""One resumable training stage: AdamW, linear warm-up and decay, checkpoints, a progress bar.

Optimiser and schedule (paper Sec. 6.2.2): AdamW with β = (0.9, 0.999), ε = 1e-8 and
weight decay 0.01 on every weight matrix (biases and normalisation gains and shifts, i.e.
parameters with fewer than two dimensions, are not decayed, as in the reference code);
the learning rate rises linearly from 0 over the first 10% of the steps and falls linearly
to 0 at the last step:

    lr(s) = lr_max · s / w                 for s < w = floor(0.1 · steps)
    lr(s) = lr_max · (steps − s) / (steps − w)   otherwise

Gradients are clipped to a global norm of 1.0 (the reference code's ``max_grad_norm``).

A stage is a function ``step -> loss terms``: the batch of step ``s`` depends only on
``(seed, s)``, so a stage restarted from the checkpoint of step ``s`` sees the same batches
as an uninterrupted run; the dropout generator's state is saved with the checkpoint. With
the same seed, data and number of threads the resumed run ends with the same weights.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import torch
from torch import nn
from tqdm import tqdm

from bench.train import checkpoint as ckpt
from bench.train.optim import adamw
from bench.store import schema
from bench.store.writer import append_rows, read_rows

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Schedule:
    """Optimisation settings of one stage."""

    steps: int
    lr: float
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    max_grad_norm: float = 1.0

    @property
    def warmup_steps(self) -> int:
        return int(self.warmup_ratio * self.steps)


def lr_factor(step: int, schedule: Schedule) -> float:
    """Multiplier of the peak learning rate at ``step`` (linear warm-up, then linear decay to 0)."""
    warmup = schedule.warmup_steps
    if step < warmup:
        return step / max(1, warmup)
    return max(0.0, (schedule.steps - step) / max(1, schedule.steps - warmup))


def make_optimizer(module: nn.Module, schedule: Schedule) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW over ``module``'s trainable parameters (:func:`bench.train.optim.adamw`) and its schedule."""
    optimizer = adamw(module, schedule.lr, schedule.weight_decay, schedule.betas, schedule.eps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, schedule))
    return optimizer, scheduler


def run_stage(
    directory: Path,
    trainable: nn.Module,
    step_loss: Callable[[int], Mapping[str, torch.Tensor]],
    schedule: Schedule,
    *,
    dropout_seed: int,
    device: torch.device,
    save_every: int,
    log_every: int,
    progress: bool = True,
    desc: str = "training",
    info: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """Train ``trainable`` for ``schedule.steps`` steps of ``step_loss``, resuming from a checkpoint.

    Args:
        directory: the stage directory (see :mod:`bench.train.checkpoint`).
        trainable: every module whose parameters are optimised (and checkpointed).
        step_loss: maps a step number to loss terms; ``"loss"`` is minimised.
        schedule: optimisation settings.
        dropout_seed: seed of the dropout generator at step 0.
        device: where ``trainable`` lives.
        save_every: steps between checkpoints.
        log_every: steps between rows of ``log.csv``.
        progress: draw a tqdm bar (step, loss, ETA).
        desc: the bar's label.
        info: extra fields for ``done.json``.

    Returns:
        The stage's ``done.json`` content. A complete stage is not run again.
    """
    finished = ckpt.done_info(directory)
    if finished is not None:
        state = ckpt.load_weights(directory / ckpt.FINAL, device)
        trainable.load_state_dict(state)
        log.info("%s: complete (%d steps), reusing %s", desc, finished["steps"], directory)
        return finished
    directory.mkdir(parents=True, exist_ok=True)
    if schedule.steps < 1:
        raise ValueError(f"a stage needs at least one step, got {schedule.steps}")
    optimizer, scheduler = make_optimizer(trainable, schedule)
    torch.manual_seed(dropout_seed)
    if device.type == "cuda":
        torch.cuda.manual_seed(dropout_seed)
    start, elapsed = 0, 0.0
    saved = ckpt.load_checkpoint(directory)
    if saved is not None:
        trainable.load_state_dict(saved["modules"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        ckpt.set_rng_state(saved["rng"], device)
        start, elapsed = int(saved["step"]), float(saved["seconds"])
        log.info("%s: resuming at step %d of %d from %s", desc, start, schedule.steps, directory)
    log_path = directory / schema.STAGE_LOG
    logged = {int(row["step"]) for row in read_rows(log_path)}
    began = time.perf_counter() - elapsed
    last_loss = float("nan")
    trainable.train()
    with tqdm(total=schedule.steps, initial=start, desc=desc, unit="step", disable=not progress or None, dynamic_ncols=True) as bar:
        for step in range(start, schedule.steps):
            terms = step_loss(step)
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            torch.nn.utils.clip_grad_norm_(trainable.parameters(), schedule.max_grad_norm)
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            done = step + 1
            if done % log_every == 0 or done == schedule.steps or step == start:
                values = {k: float(v.detach()) for k, v in terms.items()}
                last_loss = values["loss"]
                bar.set_postfix(loss=f"{last_loss:.4f}")
                if done not in logged:
                    append_rows(log_path, schema.STAGE_LOG_FIELDS, [{"step": done, **values, "lr": lr, "seconds": round(time.perf_counter() - began, 2)}])
            bar.update(1)
            if done % save_every == 0 and done < schedule.steps:
                ckpt.save_checkpoint(directory, {
                    "step": done,
                    "seconds": time.perf_counter() - began,
                    "modules": trainable.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "rng": ckpt.rng_state(device),
                })
    ckpt.save_weights(directory / ckpt.FINAL, trainable)
    result = {"steps": schedule.steps, "lr": schedule.lr, "seconds": round(time.perf_counter() - began, 2), "final_loss": last_loss, **(info or {})}
    ckpt.mark_done(directory, result)
    ckpt.remove_checkpoint(directory)
    return result
