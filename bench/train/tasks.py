"""Downstream tasks as the training stages and the evaluation see them.

A task name is a GLUE task (``cola``, ``sst-2``, ``mrpc``, ``sts-b``, ``qqp``, ``mnli``,
``qnli``, ``rte``, ``wnli``) or ``squad-v1.1`` / ``squad-v2.0`` (``squad`` is an alias of v1.1). :func:`task_status`
says whether a task can be trained and evaluated from the reference data and, if not, why;
:func:`load_task` tokenises its training data and :func:`load_eval` its evaluation data.

``smoke`` and ``cpu`` read the reference data directory (GLUE TSVs, the SQuAD v1.1 dev set
split by articles, see :mod:`bench.train.squad`); ``paper`` reads GLUE and SQuAD through
``datasets`` (train and dev sets as published).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from bench import data
from bench.errors import UserError
from bench.train import glue, squad
from bench.train.batches import Encoded, encode_pairs, epoch_indices, span_batch

SQUAD_TASKS = {"squad-v1.1": "squad/dev-v1.1.json", "squad-v2.0": "squad/dev-v2.0.json"}
ALL_TASKS: tuple[str, ...] = (*glue.GLUE_TASKS, *SQUAD_TASKS)


def canonical(name: str) -> str:
    """The canonical task name (``SST2`` → ``sst-2``, ``squad1.1`` → ``squad``).

    Raises:
        UserError: for an unknown task.
    """
    key = name.strip().lower()
    if key in ("squad", "squad1.1", "squad-v1.1", "squad-v1"):
        return "squad-v1.1"
    if key in ("squad2.0", "squad-v2.0", "squad-v2", "squad2"):
        return "squad-v2.0"
    try:
        return glue.get_task(key).name
    except UserError:
        raise UserError(f"unknown task {name!r}; allowed: all, glue, {', '.join(ALL_TASKS)}") from None


def parse_tasks(text: str) -> list[str]:
    """``all`` (every GLUE task and SQuAD v1.1/v2.0), ``glue``, ``none`` (general distillation
    only), or a comma-separated list."""
    if text.strip() == "none":
        return []
    names: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        expanded = list(ALL_TASKS) if part == "all" else list(glue.GLUE_TASKS) if part == "glue" else [canonical(part)]
        names.extend(n for n in expanded if n not in names)
    if not names:
        raise UserError(f"no task in {text!r}; allowed: all, glue, none, {', '.join(ALL_TASKS)}")
    return names


def task_status(name: str, scale: str) -> str | None:
    """``None`` when ``name`` can be trained and evaluated at ``scale``, else the reason it is missing."""
    if scale == "paper":
        return None
    if name in SQUAD_TASKS:
        if SQUAD_TASKS[name] in data.DATA_FILES:
            return None
        return f"{SQUAD_TASKS[name]} is not part of the reference data"
    return glue.missing_reason(glue.get_task(name))


def metric_names(name: str) -> list[tuple[str, str]]:
    """(split, metric) pairs a task reports."""
    if name in SQUAD_TASKS:
        return [(squad.SPLIT_NAME, "em"), (squad.SPLIT_NAME, "f1")]
    task = glue.get_task(name)
    return [(split, metric) for split in task.dev_splits for metric in (*task.metrics, "score")]


@dataclass
class TaskData:
    """Tokenised training data of one task.

    Attributes:
        name: the task.
        kind: head kind, ``classification``, ``regression`` or ``span``.
        num_labels: outputs of the classification head (1 for regression; 2 for spans).
        encoded: GLUE sequences (``None`` for SQuAD).
        span: SQuAD windows (``None`` for GLUE).
        epochs: the task's epochs at the scale (CoLA is trained longer), or ``None``.
    """

    name: str
    kind: str
    num_labels: int
    encoded: Encoded | None = None
    span: squad.Features | None = None
    epochs: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.encoded) if self.encoded is not None else len(self.span)

    def batch(self, step: int, batch_size: int, seed: int, purpose: str) -> dict[str, torch.Tensor]:
        """The training batch of ``step`` (a pure function of its arguments)."""
        indices = epoch_indices(len(self), batch_size, step, seed, f"{purpose}/{self.name}")
        if self.encoded is not None:
            return self.encoded.batch(indices)
        return span_batch(self.span.inputs, self.span.start_positions, self.span.end_positions, indices)


def _squad_examples(name: str, split: str, scale: str, data_dir: str | None) -> list[squad.SquadExample]:
    if scale == "paper":  # pragma: no cover - needs the network
        return _squad_from_datasets(name, split)
    articles = squad.load_articles(data.resolve(SQUAD_TASKS[name], data_dir))
    train, held_out = squad.split_articles(articles)
    return squad.examples_of(train if split == "train" else held_out)


def _squad_from_datasets(name: str, split: str) -> list[squad.SquadExample]:  # pragma: no cover - needs the network
    try:
        import datasets
    except ImportError as exc:
        raise UserError("the paper scale reads SQuAD through `datasets`: pip install 'proxybench[paper]'") from exc
    repo = "rajpurkar/squad" if name == "squad-v1.1" else "rajpurkar/squad_v2"
    try:
        table = datasets.load_dataset(repo, split="train" if split == "train" else "validation")
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"could not load {repo} through datasets ({exc})") from exc
    return [
        squad.SquadExample(r["id"], r["title"], r["question"], r["context"], tuple(r["answers"]["text"]), tuple(r["answers"]["answer_start"]))
        for r in table
    ]


def _glue_examples(task: glue.GlueTask, split: str, scale: str, data_dir: str | None) -> glue.Examples:
    if scale == "paper":  # pragma: no cover - needs the network
        return glue.load_task_datasets(task, split)
    return glue.load_split(task, split, data_dir)


def load_task(name: str, tokenizer, seq_len: int, scale, data_dir: str | None) -> TaskData:
    """Training data of task ``name`` at ``scale`` (a :class:`~bench.train.config.TrainScale`).

    Raises:
        UserError: when the task is missing at this scale.
    """
    reason = task_status(name, scale.name)
    if reason is not None:
        raise UserError(f"task {name} is missing: {reason}")
    if name in SQUAD_TASKS:
        examples = _squad_examples(name, "train", scale.name, data_dir)[: scale.train_limit]
        features = squad.build_features(examples, tokenizer, seq_len, scale.squad_stride)
        return TaskData(name, "span", 2, span=features, epochs=scale.squad.epochs, extra={"questions": len(examples)})
    task = glue.get_task(name)
    examples = _glue_examples(task, "train", scale.name, data_dir).head(scale.train_limit)
    encoded = encode_pairs(tokenizer, examples.texts, examples.labels, seq_len)
    epochs = scale.cola_epochs if task.name == "cola" and scale.cola_epochs is not None else scale.glue.epochs
    return TaskData(task.name, "regression" if task.is_regression else "classification", task.num_labels, encoded=encoded, epochs=epochs)


def head_spec(name: str) -> tuple[str, int]:
    """(head kind, number of outputs) of a task, without loading its data."""
    if name in SQUAD_TASKS:
        return "span", 2
    task = glue.get_task(name)
    return ("regression" if task.is_regression else "classification"), task.num_labels


def load_eval(name: str, split: str, scale, data_dir: str | None, limit: int | None) -> Any:
    """Evaluation examples: :class:`glue.Examples` of a dev split, or SQuAD held-out questions."""
    if name in SQUAD_TASKS:
        examples = _squad_examples(name, "eval", scale.name, data_dir)
        return examples if limit is None else examples[:limit]
    return _glue_examples(glue.get_task(name), split, scale.name, data_dir).head(limit)


