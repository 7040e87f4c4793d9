"""The two training stages of a searched architecture (paper Sec. 6.2.2, Appendix C).

1. **General distillation** (``<out>/general/``): the student, freshly built by the NLU
   space's model builder, learns from the pretrained teacher on raw text with the KD loss
   at γ = 0 (attention, hidden-state and embedding terms). The held-out KD loss on
   WikiText-2 test windows is stored in ``general/heldout.json``.
2. **Task distillation and fine-tuning** (``<out>/tasks/<task>/``), per task: the teacher
   is fine-tuned on the task (cached, :mod:`bench.train.teacher`); the student starts from
   the general-distillation weights (and its projections), gets a fresh head and is trained
   with the full KD loss at γ = 1 against the fine-tuned teacher's features and logits.
   Eq. (7) has no hard-label term, so the student sees the labels only through the teacher.

A training directory is a :class:`~bench.store.runs.RunStore` directory: ``manifest.json``
records the command, config (space, architecture, scale budgets, seed, teacher, loss
settings), package versions, git revision and device. Rerunning the same command resumes
an interrupted stage from its last checkpoint and skips complete ones; tasks may be added
by later commands (the task list is not part of the config).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bench.seeding import derive_seed
from bench.store import schema
from bench.store.runs import RunStore
from bench.store.writer import write_atomic
from bench.train import checkpoint as ckpt
from bench.train import loop
from bench.train.batches import heldout_stream, text_batch, training_stream
from bench.train.config import TrainScale
from bench.train.device import resolve_device
from bench.train.distill import FeatureShapes, KDLoss
from bench.train.models import StudentEncoder, TaskModel, count_parameters, make_head, move_batch
from bench.train.tasks import TaskData, load_task, task_status
from bench.train.teacher import finetuned_teacher, load_teacher, load_tokenizer

log = logging.getLogger(__name__)

HELDOUT_BATCHES = 4


@dataclass(frozen=True)
class TrainSettings:
    """Everything one ``bench train`` command fixes (its ``config`` is the manifest's config)."""

    name: str
    space: str
    arch: list[int]
    scale: TrainScale
    seed: int
    teacher: str
    attn_target: str
    temperature: float
    text: str
    data_dir: str | None
    device: str

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "space": self.space,
            "arch": list(self.arch),
            "scale": self.scale.name,
            "budgets": self.scale.as_config(),
            "seed": self.seed,
            "teacher": self.teacher,
            "kd": {"attn_target": self.attn_target, "temperature": self.temperature, "gamma_general": 0.0, "gamma_task": 1.0},
            "text": self.text,
        }


def build_student(space_name: str, arch: list[int], seed: int) -> tuple[StudentEncoder, Any]:
    """The student encoder freshly built by the space's model builder, and the parsed architecture."""
    from spaces import get_space

    space = get_space(space_name)
    parsed = space.parse(arch)
    return StudentEncoder(space.build_model(parsed, derive_seed(seed, "student-init", json.dumps(list(arch))))), parsed


def _probe(encoder: nn.Module, attn_target: str, device: torch.device) -> FeatureShapes:
    ids = torch.tensor([[101, 2023, 2003, 102]], device=device)
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    was = encoder.training
    encoder.eval()
    with torch.no_grad():
        shapes = FeatureShapes.of(encoder(batch, attn_target), attn_target)
    encoder.train(was)
    return shapes


def make_kd(student: nn.Module, teacher: nn.Module, settings: TrainSettings, device: torch.device) -> KDLoss:
    """The KD loss with projections sized by one probe pass through both encoders."""
    torch.manual_seed(derive_seed(settings.seed, "kd-projections"))
    return KDLoss(_probe(student, settings.attn_target, device), _probe(teacher, settings.attn_target, device), settings.attn_target, settings.temperature).to(device)


def general_distillation(out: Path, settings: TrainSettings, device: torch.device, progress: bool) -> Path:
    """Stage 1 (see the module docstring); returns its directory."""
    directory = out / "general"
    if ckpt.done_info(directory) is not None and (directory / schema.HELDOUT).is_file():
        return directory
    scale = settings.scale
    student, _ = build_student(settings.space, settings.arch, settings.seed)
    student.to(device)
    teacher = load_teacher(settings.teacher).to(device)
    kd = make_kd(student, teacher, settings, device)
    trainable = nn.ModuleDict({"student": student, "kd": kd})
    stream = training_stream(settings.text, settings.data_dir, out.parent / "corpus")
    budget = scale.general
    steps = budget.steps(len(stream) // (budget.seq_len - 2))

    def step_loss(step: int) -> dict[str, torch.Tensor]:
        batch = move_batch(text_batch(stream, budget.batch_size, budget.seq_len, settings.seed, step), device)
        with torch.no_grad():
            target = teacher(batch, settings.attn_target)
        return kd(student(batch, settings.attn_target), target, gamma=0.0)

    loop.run_stage(
        directory, trainable, step_loss, loop.Schedule(steps=steps, lr=budget.lr),
        dropout_seed=derive_seed(settings.seed, "dropout", "general"), device=device,
        save_every=scale.save_every, log_every=scale.log_every, progress=progress, desc="general distillation",
        info={"text": settings.text, "tokens": int(len(stream)), "batch_size": budget.batch_size, "seq_len": budget.seq_len},
    )
    if not (directory / schema.HELDOUT).is_file():
        held = heldout_stream(settings.data_dir)
        trainable.eval()
        totals: dict[str, float] = {}
        with torch.no_grad():
            for k in range(HELDOUT_BATCHES):
                batch = move_batch(text_batch(held, budget.batch_size, budget.seq_len, derive_seed(settings.seed, "heldout"), k), device)
                terms = kd(student(batch, settings.attn_target), teacher(batch, settings.attn_target), gamma=0.0)
                for key, value in terms.items():
                    totals[key] = totals.get(key, 0.0) + float(value) / HELDOUT_BATCHES
        write_atomic(directory / schema.HELDOUT, json.dumps({"text": "wikitext-2-test", "batches": HELDOUT_BATCHES, "batch_size": budget.batch_size, "seq_len": budget.seq_len, **totals}, indent=2, sort_keys=True) + "\n")
    return directory


def task_distillation(out: Path, task: TaskData, settings: TrainSettings, device: torch.device, progress: bool, teacher_cache: Path) -> Path:
    """Stage 2 for one task (see the module docstring); returns its directory."""
    directory = out / "tasks" / task.name
    if ckpt.done_info(directory) is not None:
        return directory
    scale = settings.scale
    budget = scale.squad if task.kind == "span" else scale.glue
    teacher_budget = scale.teacher_squad if task.kind == "span" else scale.teacher_glue
    teacher, teacher_dir = finetuned_teacher(
        settings.teacher, task, teacher_budget, seed=settings.seed, cache_dir=teacher_cache, device=device,
        save_every=scale.save_every, log_every=scale.log_every, progress=progress,
    )
    student, _ = build_student(settings.space, settings.arch, settings.seed)
    student.to(device)
    kd = make_kd(student, teacher.encoder, settings, device)
    general = ckpt.load_weights(out / "general" / ckpt.FINAL, device)
    nn.ModuleDict({"student": student, "kd": kd}).load_state_dict(general)
    torch.manual_seed(derive_seed(settings.seed, "head", task.name))
    head = make_head(task.kind, student.hidden_size, task.num_labels).to(device)
    model = TaskModel(student, head)
    trainable = nn.ModuleDict({"student": student, "head": head, "kd": kd})
    steps = budget.steps(len(task), task.epochs)

    def step_loss(step: int) -> dict[str, torch.Tensor]:
        batch = move_batch(task.batch(step, budget.batch_size, settings.seed, "student"), device)
        with torch.no_grad():
            teacher_logits, teacher_features = teacher(batch, settings.attn_target)
        logits, features = model(batch, settings.attn_target)
        return kd(features, teacher_features, gamma=1.0, head_kind=task.kind, student_logits=logits,
                  teacher_logits=teacher_logits, attention_mask=batch["attention_mask"])

    loop.run_stage(
        directory, trainable, step_loss, loop.Schedule(steps=steps, lr=budget.lr),
        dropout_seed=derive_seed(settings.seed, "dropout", task.name), device=device,
        save_every=scale.save_every, log_every=scale.log_every, progress=progress, desc=f"task {task.name}",
        info={"task": task.name, "kind": task.kind, "num_labels": task.num_labels, "examples": len(task),
              "batch_size": budget.batch_size, "seq_len": budget.seq_len, "teacher_dir": str(teacher_dir.resolve())},
    )
    return directory


def train(out: Path, settings: TrainSettings, tasks: list[str], *, teacher_cache: Path, progress: bool, command: list[str]) -> dict[str, str]:
    """Run (or resume) both stages for ``tasks``; returns task -> ``"done"`` or the reason it is missing."""
    device = resolve_device(settings.device)
    store = RunStore(out)
    resumed = store.open(settings.config(), command, kind=schema.TRAINING)
    log.info("%s training directory %s (%s, %s)", "resuming" if resumed else "new", out, settings.name, settings.scale.name)
    student, arch = build_student(settings.space, settings.arch, settings.seed)
    from spaces import get_space

    space = get_space(settings.space)
    write_atomic(out / schema.MODEL_INFO, json.dumps({
        "name": settings.name, "space": settings.space, "arch": list(settings.arch), "describe": arch.describe(),
        "params": count_parameters(student.model), "params_official": space.official_param_count(arch),
    }, indent=2) + "\n")
    del student
    general_distillation(out, settings, device, progress)
    tokenizer = load_tokenizer(settings.teacher)
    outcome: dict[str, str] = {}
    for name in tasks:
        reason = task_status(name, settings.scale.name)
        if reason is not None:
            log.warning("task %s is missing: %s", name, reason)
            outcome[name] = f"missing: {reason}"
            continue
        if ckpt.done_info(out / "tasks" / name) is not None:
            outcome[name] = "done"
            continue
        budget = settings.scale.squad if name.startswith("squad") else settings.scale.glue
        task = load_task(name, tokenizer, budget.seq_len, settings.scale, settings.data_dir)
        task_distillation(out, task, settings, device, progress, teacher_cache)
        outcome[name] = "done"
    return outcome
