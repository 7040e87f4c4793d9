"""Training the SPOS supernet (paper Table 8, Appendix E.2) over an NLU space.

Training (single-path one-shot, Guo et al. 2020)
    For every batch a path is drawn uniformly from all ``12^m`` architectures (the paper
    draws from all ``(2n)^m`` combinations, feasible or not) and only that path is run and
    updated. Loss: masked-language modelling on WikiText-2 with the decoder tied to the word
    embeddings (``logits = (h W_c) Eᵀ``, :func:`spaces.nlu.modeling.tied_lm_logits`, as the
    models' ``lm_logits``); BERT masking: 15% of the non-special tokens are targets, of
    which 80% are replaced by ``[MASK]``, 10% by a uniformly drawn token and 10% kept. The
    paper pre-trains on Wikipedia + BooksCorpus and fine-tunes on GLUE with a KD loss; the
    reference data here has WikiText-2, so the supernet is pre-trained only (documented in
    ``docs/search.md``). Optimiser as the paper's training section: AdamW, β = (0.9, 0.999),
    ε = 1e-6, weight decay 0.01 (not on biases and norm parameters), linear warm-up over 10%
    of the steps then linear decay to 0. Blocks off the path get no gradient and are not
    touched by the optimiser step.

Data
    The token streams of WikiText-2 test and validation text (in that order) are cut into
    non-overlapping windows of ``seq_len − 2`` tokens wrapped in ``[CLS] … [SEP]``; the last
    10% of the windows are held out, as the paper holds out 10% for the search's evaluation.
    The batch order of epoch ``e`` is a permutation drawn from ``(seed, "spos-order", e)``;
    the path and the masks of step ``s`` from ``(seed, "spos-path", s)`` and
    ``(seed, "spos-mask", s)``; dropout from ``(seed, "spos-dropout", s)``. Training state
    is therefore a function of the step, and a resumed run reproduces an uninterrupted one.

Checkpoints
    ``checkpoint.pt`` (weights, optimiser state, step, cumulative cost) is replaced
    atomically every ``checkpoint_every`` steps and at the end; ``train_log.csv`` has one row
    per step (loss, learning rate, path, seconds); ``cost.json`` the CPU and wall time of the
    checkpointed steps and the device of each session.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from bench.errors import UserError
from bench.oneshot.mlm import mask_tokens, mlm_windows
from bench.oneshot.supernet import Supernet, mlm_loss, spos_space
from bench.seeding import derive_rng, derive_seed
from bench.store import schema
from bench.store.runs import RunStore
from bench.store.writer import append_rows, read_rows, rewrite_rows, write_atomic
from bench.train import checkpoint as ckpt
from bench.train.device import describe, resolve_device
from bench.train.optim import adamw

log = logging.getLogger(__name__)

FITNESS_NAME = "spos-mlm-loss"


@dataclass(frozen=True)
class SposScale:
    """Sizes of supernet training and of the search's held-out evaluation.

    Attributes:
        batch_size, seq_len: training batch.
        steps: training steps, or ``None`` to train ``epochs`` epochs.
        epochs: epochs when ``steps`` is ``None``.
        lr: peak learning rate.
        heldout_sequences: held-out windows the search's fitness reads (``None``: all).
        eval_batch: windows per forward pass of the fitness.
        checkpoint_every: steps between checkpoints.
    """

    name: str
    batch_size: int
    seq_len: int
    steps: int | None
    epochs: int | None
    lr: float
    heldout_sequences: int | None
    eval_batch: int
    checkpoint_every: int
    description: str


SPOS_SCALES: dict[str, SposScale] = {
    "smoke": SposScale("smoke", 4, 16, 4, None, 1e-4, 4, 4, 2, "seconds; tests"),
    "cpu": SposScale("cpu", 32, 128, 500, None, 5e-4, 64, 32, 50, "about an hour of training on 2 CPU cores (nlu-small)"),
    "paper": SposScale("paper", 256, 128, None, 10, 1e-4, None, 128, 20, "the paper's 10 epochs, batch 256, lr 1e-4; for a GPU"),
}
WARMUP_RATIO = 0.1
WEIGHT_DECAY = 0.01


def get_spos_scale(name: str) -> SposScale:
    """Raises UserError for an unknown scale."""
    if name not in SPOS_SCALES:
        raise UserError(f"unknown SPOS scale {name!r}; allowed: {', '.join(SPOS_SCALES)}")
    return SPOS_SCALES[name]


def supernet_config(space, scale: SposScale, seed: int, steps: int, data_dir: str | None) -> dict[str, Any]:
    """The manifest config of a supernet training run."""
    from bench import data
    from bench.inputs import TEXT_FILES

    return {
        "kind": "spos-supernet",
        "space": space.name,
        "scale": scale.name,
        "batch_size": scale.batch_size,
        "seq_len": scale.seq_len,
        "steps": steps,
        "epochs": scale.epochs,
        "lr": scale.lr,
        "warmup_ratio": WARMUP_RATIO,
        "weight_decay": WEIGHT_DECAY,
        "optimizer": "AdamW(0.9, 0.999, eps 1e-6)",
        "loss": "masked LM, decoder tied to the word embeddings, 15% targets (80/10/10)",
        "sampling": f"uniform path over all {space.genome().choices}^m architectures per batch",
        "data": data.data_checksums([TEXT_FILES["wikitext-2-test"], TEXT_FILES["wikitext-2"]]),
        "split": "WikiText-2 test + valid windows, last 10% held out",
        "seed": seed,
    }


def learning_rate(step: int, total: int, peak: float) -> float:
    """Linear warm-up over ``WARMUP_RATIO·total`` steps to ``peak``, then linear decay to 0 at ``total``."""
    warmup = max(1, int(round(WARMUP_RATIO * total)))
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * max(0.0, (total - step) / max(1, total - warmup))


def train_supernet(
    space_name: str,
    out_dir: str | os.PathLike,
    *,
    scale: str = "smoke",
    seed: int = 0,
    device: str = "cpu",
    data_dir: str | None = None,
    steps: int | None = None,
    stop_after: int | None = None,
    command: list[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train (or resume training) an SPOS supernet into ``out_dir``; returns the cost record.

    Args:
        space_name: an NLU space.
        scale: ``smoke``, ``cpu`` or ``paper`` (:data:`SPOS_SCALES`).
        seed: run seed (initialisation, data order, paths, masks, dropout).
        device: ``cpu`` or ``cuda[:N]``.
        steps: override the scale's number of steps.
        stop_after: stop after this many steps in this session (a checkpoint is written);
            rerun the same command to continue.

    Raises:
        UserError: for bad settings or a directory holding another run.
    """
    space = spos_space(space_name)
    genome = space.genome()
    chosen = get_spos_scale(scale)
    dev = resolve_device(device)
    if steps is not None and steps < 1:
        raise UserError(f"--steps must be >= 1, got {steps}")
    train, _ = mlm_windows(chosen.seq_len, data_dir)
    per_epoch = len(train) // chosen.batch_size
    if per_epoch < 1:
        raise UserError(f"{len(train)} training windows do not fill one batch of {chosen.batch_size}")
    total = steps or chosen.steps or chosen.epochs * per_epoch
    out = Path(out_dir)
    store = RunStore(out)
    resumed = store.open(supernet_config(space, chosen, seed, total, data_dir), command or [], kind=schema.SUPERNET)
    model = Supernet(space, seed)
    optimizer = adamw(model, chosen.lr, WEIGHT_DECAY, eps=1e-6, foreach=False)
    start, cost = 0, {"sessions": []}
    state = ckpt.load_checkpoint(out)
    if state is not None:
        model.load_state_dict(state["model"])
        model.to(dev)
        optimizer.load_state_dict(state["optimizer"])
        start, cost = state["step"], state["cost"]
    model.to(dev)
    log_path = out / schema.TRAIN_LOG
    kept = [row for row in read_rows(log_path) if int(row["step"]) < start]
    rewrite_rows(log_path, schema.SUPERNET_LOG_FIELDS, kept)
    session = {"device": describe(dev), "first_step": start, "steps": 0, "wall_seconds": 0.0, "cpu_seconds": 0.0, "resumed": resumed}
    cost["sessions"].append(session)
    log.info("%s supernet %s at step %d of %d (%d per epoch)", "resuming" if start else "training", out, start, total, per_epoch)
    end = total if stop_after is None else min(total, start + stop_after)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    model.train()
    pending: list[dict[str, Any]] = []
    bar = tqdm(total=total, initial=start, unit="step", desc="supernet", disable=not progress or None, dynamic_ncols=True)
    try:
        for step in range(start, end):
            begin = time.perf_counter()
            epoch, index = divmod(step, per_epoch)
            order = derive_rng(seed, "spos-order", epoch).permutation(len(train))
            rows = order[index * chosen.batch_size : (index + 1) * chosen.batch_size]
            path = derive_rng(seed, "spos-path", step).integers(0, genome.choices, genome.depth).tolist()
            inputs, targets, labels = mask_tokens(train[rows], derive_rng(seed, "spos-mask", step))
            lr = learning_rate(step, total, chosen.lr)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            with torch.random.fork_rng(devices=[dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []):
                torch.manual_seed(derive_seed(seed, "spos-dropout", step))
                loss = mlm_loss(model, path, inputs, targets, labels, dev)
                loss.backward()
            optimizer.step()
            pending.append({"step": step, "epoch": epoch, "path": json.dumps(path), "loss": float(loss.detach()), "lr": lr, "seconds": time.perf_counter() - begin})
            bar.update(1)
            bar.set_postfix(loss=f"{pending[-1]['loss']:.3f}")
            if (step + 1) % chosen.checkpoint_every == 0 or step + 1 == end:
                session.update(steps=step + 1 - start, wall_seconds=time.perf_counter() - wall0, cpu_seconds=time.process_time() - cpu0)
                ckpt.save_checkpoint(out, {"step": step + 1, "model": model.state_dict(), "optimizer": optimizer.state_dict(), "cost": cost})
                append_rows(log_path, schema.SUPERNET_LOG_FIELDS, pending)
                pending = []
                write_atomic(out / schema.COST, json.dumps(_cost_record(cost, step + 1, total), indent=2) + "\n")
    finally:
        bar.close()
    return _cost_record(cost, end, total)


def _cost_record(cost: dict[str, Any], step: int, total: int) -> dict[str, Any]:
    sessions = cost["sessions"]
    return {
        "step": step,
        "total_steps": total,
        "complete": step >= total,
        "wall_seconds": sum(s["wall_seconds"] for s in sessions),
        "cpu_seconds": sum(s["cpu_seconds"] for s in sessions),
        "devices": sorted({s["device"] for s in sessions}),
        "sessions": sessions,
    }
