"""``bench evaluate``: score trained models into an evaluation directory of tidy rows.

An evaluation directory is a :class:`~bench.store.runs.RunStore` directory (``manifest.json``
with the scale, evaluation limit, SQuAD split, latency settings and device) holding
``metrics.csv``, one row per (model, task, metric, split, seed):

=========  ==================================================================================
column     meaning
=========  ==================================================================================
model      the model's name (``--name`` of ``bench train``; ``teacher (<name>)`` for teachers)
task       a GLUE task (``cola``, ``sst-2``, ``mrpc``, ``sts-b``, ``qqp``, ``mnli``, ``qnli``,
           ``rte``, ``wnli``), ``squad-v1.1`` / ``squad-v2.0``, ``model`` (parameter counts),
           ``latency``, or ``general`` (the held-out loss of general distillation)
metric     GLUE: ``mcc``, ``accuracy``, ``f1``, ``pearson``, ``spearman`` and ``score`` (the
           paper's headline metric of the task again); SQuAD: ``em``, ``f1`` (all in percent);
           ``params`` / ``params_official`` (counts); ``ms`` (latency); ``heldout_kd_loss``
value      the number (empty for missing tasks)
split      ``dev`` (GLUE dev set; MNLI ``dev-m`` / ``dev-mm``), ``dev-heldout-articles`` (SQuAD,
           see :mod:`bench.train.squad`), ``batch1-seq128`` (latency), ``wikitext-2-test``, ``-``
seed       the training seed
steps      optimisation steps of the stage that produced the model (task stage, or general)
n          examples evaluated
status     ``ok`` or ``missing`` (the task is not in the local data; ``note`` says why)
note       why a task is missing; the device of a latency
space, arch, teacher, train_dir   where the model came from
=========  ==================================================================================

Rows are appended as each (model, task) finishes; a rerun skips what is stored, and an
evaluation directory made with other settings is refused. ``training/<model>.json`` keeps a
copy of each evaluated training directory's manifest (the ``bench train`` command, config,
package versions), so that the scores and the commands that made them are stored together.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from bench.errors import UserError
from bench.store import schema
from bench.store.lock import exclusive_lock
from bench.store.runs import RunStore
from bench.store.manifest import device_description
from bench.store.writer import write_atomic
from bench.train import checkpoint as ckpt
from bench.train import glue, squad
from bench.train.batches import encode_pairs, span_batch
from bench.train.config import TrainScale, get_train_scale
from bench.train.latency import BATCH, CPU_THREADS, SEQ_LEN, latency_batch, median_latency_ms
from bench.train.models import TaskModel, count_parameters, make_head, move_batch
from bench.store.writer import append_rows, lock_path, read_rows
from bench.train.device import resolve_device
from bench.train.stages import build_student
from bench.train.tasks import SQUAD_TASKS, head_spec, load_eval, metric_names, task_status
from bench.train.teacher import load_teacher, load_tokenizer, teacher_label

log = logging.getLogger(__name__)

ROWS = schema.METRICS
FIELDS = schema.METRIC_FIELDS
LATENCY_SPLIT = f"batch{BATCH}-seq{SEQ_LEN}"
LATENCY = ("latency", "ms")


def _key(row: dict[str, Any]) -> tuple[str, ...]:
    return (str(row["model"]), str(row["task"]), str(row["metric"]), str(row["split"]), str(row["seed"]))


def _device_note(device: torch.device) -> str:
    """What the latency was measured on (CPU model and threads, or the GPU) and the machine's load."""
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    description = device_description()
    description = description.split(", torch threads")[0] if description.startswith("cpu") else "cpu"
    return f"{description}, {CPU_THREADS} thread; 1-min load average {os.getloadavg()[0]:.2f}"


class Evaluation:
    """One evaluation directory: settings, stored keys, appending rows."""

    def __init__(self, out: Path, scale: TrainScale, limit: int | None, device: torch.device, command: list[str]) -> None:
        self.out = out
        self.scale = scale
        self.limit = limit
        self.device = device
        config = {
            "scale": scale.name,
            "eval_limit": limit,
            "eval_batch": scale.eval_batch,
            "latency": {"batch": BATCH, "seq_len": SEQ_LEN, "repeats": scale.latency_repeats, "device": device.type, "cpu_threads": CPU_THREADS},
            "squad": {"split_seed": squad.SPLIT_SEED, "train_articles": squad.TRAIN_ARTICLES, "seq_len": scale.squad.seq_len, "stride": scale.squad_stride},
        }
        RunStore(out).open(config, command, kind=schema.EVALUATION)
        self.path = out / ROWS
        self.done = {_key(r) for r in read_rows(self.path)}

    def has(self, model: str, task: str, seed: int, pairs: Iterable[tuple[str, str]]) -> bool:
        return all((model, task, metric, split, str(seed)) in self.done for split, metric in pairs)

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Append the rows not stored yet. Under an exclusive lock the stored keys are read
        again, so two evaluations writing to the same directory never store a row twice."""
        with exclusive_lock(lock_path(self.path)):
            self.done |= {_key(r) for r in read_rows(self.path)}
            fresh = [r for r in rows if _key(r) not in self.done]
            append_rows(self.path, FIELDS, fresh, locked=True)
            self.done.update(_key(r) for r in fresh)


def _logits(model: TaskModel, batches: Iterable[dict[str, torch.Tensor]], device: torch.device) -> list[np.ndarray]:
    outputs = []
    model.eval()
    with torch.no_grad():
        for batch in batches:
            logits, _ = model(move_batch(batch, device))
            outputs.append(logits.float().cpu().numpy())
    return outputs


def glue_scores(model: TaskModel, task: glue.GlueTask, examples: glue.Examples, tokenizer, seq_len: int, batch_size: int, device: torch.device) -> dict[str, float]:
    """The task's official metrics (percent) of ``model`` on ``examples``."""
    encoded = encode_pairs(tokenizer, examples.texts, examples.labels, seq_len)
    batches = (encoded.batch(range(i, min(i + batch_size, len(encoded)))) for i in range(0, len(encoded), batch_size))
    return glue.task_metrics(task, np.concatenate(_logits(model, batches, device)), examples.labels)


def squad_eval(model: TaskModel, examples: list[squad.SquadExample], tokenizer, seq_len: int, stride: int, batch_size: int, device: torch.device, version_2: bool) -> dict[str, float]:
    """EM and F1 (percent) of ``model`` on SQuAD ``examples``."""
    features = squad.build_features(examples, tokenizer, seq_len, stride)
    n = len(features)
    starts = np.full((n, seq_len), -1e9, dtype=np.float32)
    ends = np.full((n, seq_len), -1e9, dtype=np.float32)
    for begin in range(0, n, batch_size):
        index = list(range(begin, min(begin + batch_size, n)))
        batch = span_batch(features.inputs, features.start_positions, features.end_positions, index)
        (logits,) = _logits(model, [batch], device)
        starts[index, : logits.shape[1]] = logits[..., 0]
        ends[index, : logits.shape[1]] = logits[..., 1]
    predictions = squad.decode(examples, features, starts, ends, version_2=version_2)
    return squad.squad_scores(examples, predictions)


def _task_model(encoder: nn.Module, kind: str, num_labels: int, state: dict[str, torch.Tensor], device: torch.device) -> TaskModel:
    """``encoder`` with a head, loaded from a stage's final weights (student stages store the
    encoder as ``student.*`` and the KD projections as ``kd.*``, which inference does not use)."""
    model = TaskModel(encoder, make_head(kind, encoder.hidden_size, num_labels))
    wanted = {("encoder." + k[len("student."):] if k.startswith("student.") else k): v for k, v in state.items() if not k.startswith("kd.")}
    model.load_state_dict(wanted)
    return model.to(device).eval()


def _score_task(ev: Evaluation, model: TaskModel, name: str, tokenizer, data_dir: str | None) -> tuple[dict[tuple[str, str], float], int]:
    scale = ev.scale
    if name in SQUAD_TASKS:
        examples = load_eval(name, "eval", scale, data_dir, ev.limit)
        scores = squad_eval(model, examples, tokenizer, scale.squad.seq_len, scale.squad_stride, scale.eval_batch, ev.device, name == "squad-v2.0")
        return {(squad.SPLIT_NAME, m): v for m, v in scores.items()}, len(examples)
    task = glue.get_task(name)
    found: dict[tuple[str, str], float] = {}
    n = 0
    for split in task.dev_splits:
        examples = load_eval(name, split, scale, data_dir, ev.limit)
        n += len(examples)
        for metric, value in glue_scores(model, task, examples, tokenizer, scale.glue.seq_len, scale.eval_batch, ev.device).items():
            found[(split, metric)] = value
    return found, n


def _add_latency(ev: Evaluation, base: dict[str, Any], encoder: nn.Module, data_dir: str | None) -> None:
    """Latency of ``encoder`` with a two-class GLUE head (batch 1, 128 tokens) as one row."""
    probe = TaskModel(encoder, make_head("classification", encoder.hidden_size, 2)).to(ev.device).eval()
    ms = median_latency_ms(probe, latency_batch(data_dir), ev.device, ev.scale.latency_repeats)
    ev.add(_rows({**base, "n": BATCH}, LATENCY[0], {(LATENCY_SPLIT, LATENCY[1]): ms}, note=_device_note(ev.device)))


def _rows(base: dict[str, Any], task: str, values: dict[tuple[str, str], float], **extra: Any) -> list[dict[str, Any]]:
    return [{**base, "task": task, "split": split, "metric": metric, "value": float(value), "status": "ok", **extra} for (split, metric), value in values.items()]


TEACHER_MODES = ("no", "also", "only")


def evaluate_training(ev: Evaluation, train_dir: Path, tasks: list[str], teachers: str, data_dir: str | None, progress: bool) -> None:
    """Append the rows of one training directory and/or of the teachers it learned from to ``ev``.

    Args:
        teachers: ``no`` (the student only), ``also`` (student and teachers) or ``only``.
    """
    manifest = RunStore(train_dir).manifest()
    config = manifest["config"]
    if config["scale"] != ev.scale.name:
        raise UserError(f"{train_dir} was trained at scale {config['scale']}, this evaluation directory holds scale {ev.scale.name}")
    if not (train_dir / schema.MODEL_INFO).is_file() or ckpt.done_info(train_dir / "general") is None:
        raise UserError(f"{train_dir} has not finished general distillation; rerun its `bench train` command first")
    if teachers != "only":  # the training's command, config and versions travel with its scores
        write_atomic(ev.out / schema.TRAINING_COPIES / f"{config['name']}.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    tokenizer = load_tokenizer(config["teacher"])
    for task in tasks:
        if task_status(task, ev.scale.name) is None and ckpt.done_info(train_dir / "tasks" / task) is None:
            log.warning("%s: task %s is not trained; skipped (run `bench train ... --tasks %s` first)", config["name"], task, task)
    if teachers != "only":
        _evaluate_student(ev, train_dir, config, tasks, tokenizer, data_dir, progress)
    if teachers != "no":
        trained = {t: ckpt.done_info(train_dir / "tasks" / t) for t in tasks}
        _evaluate_teachers(ev, config, {t: Path(d["teacher_dir"]) for t, d in trained.items() if d is not None}, tokenizer, data_dir)


def _evaluate_student(ev: Evaluation, train_dir: Path, config: dict[str, Any], tasks: list[str], tokenizer, data_dir: str | None, progress: bool) -> None:
    info = json.loads((train_dir / schema.MODEL_INFO).read_text())
    name, seed = config["name"], config["seed"]
    general = ckpt.done_info(train_dir / "general")
    base = {"model": name, "seed": seed, "space": config["space"], "arch": json.dumps(config["arch"]), "teacher": config["teacher"], "train_dir": str(train_dir.resolve())}
    ev.add(_rows({**base, "steps": general["steps"], "n": ""}, "model", {("-", "params"): info["params"], ("-", "params_official"): info["params_official"]}))
    if not ev.has(name, LATENCY[0], seed, [(LATENCY_SPLIT, LATENCY[1])]):
        student, _ = build_student(config["space"], config["arch"], seed)
        _add_latency(ev, {**base, "steps": general["steps"]}, student, data_dir)
    heldout = train_dir / "general" / schema.HELDOUT
    if heldout.is_file():
        held = json.loads(heldout.read_text())
        ev.add(_rows({**base, "steps": general["steps"], "n": held["batches"] * held["batch_size"]}, "general", {("wikitext-2-test", "heldout_kd_loss"): held["loss"]}))
    for task in tqdm(tasks, desc=f"evaluating {name}", unit="task", disable=not progress or None):
        reason = task_status(task, ev.scale.name)
        if reason is not None:
            ev.add([{**base, "task": task, "split": split, "metric": metric, "value": "", "steps": "", "n": 0, "status": "missing", "note": reason} for split, metric in metric_names(task)])
            continue
        done = ckpt.done_info(train_dir / "tasks" / task)
        if done is None or ev.has(name, task, seed, metric_names(task)):
            continue
        kind, num_labels = head_spec(task)
        student, _ = build_student(config["space"], config["arch"], seed)
        model = _task_model(student, kind, num_labels, ckpt.load_weights(train_dir / "tasks" / task / ckpt.FINAL), ev.device)
        values, n = _score_task(ev, model, task, tokenizer, data_dir)
        ev.add(_rows({**base, "steps": done["steps"], "n": n}, task, values))


def _evaluate_teachers(ev: Evaluation, config: dict[str, Any], teachers: dict[str, Path], tokenizer, data_dir: str | None) -> None:
    spec, seed = config["teacher"], config["seed"]
    name = f"teacher ({teacher_label(spec)})"
    base = {"model": name, "seed": seed, "space": "", "arch": "", "teacher": spec, "train_dir": ""}
    if not ev.has(name, LATENCY[0], seed, [(LATENCY_SPLIT, LATENCY[1])]):
        encoder = load_teacher(spec)
        ev.add(_rows({**base, "steps": "", "n": ""}, "model", {("-", "params"): count_parameters(encoder)}))
        _add_latency(ev, {**base, "steps": ""}, encoder, data_dir)
    for task, directory in teachers.items():
        done = ckpt.done_info(directory)
        if done is None:
            log.warning("%s: the fine-tuned teacher of task %s is not at %s (moved or deleted); no teacher row for it", name, task, directory)
            continue
        if ev.has(name, task, seed, metric_names(task)):
            continue
        kind, num_labels = head_spec(task)
        model = _task_model(load_teacher(spec), kind, num_labels, ckpt.load_weights(directory / ckpt.FINAL), ev.device)
        values, n = _score_task(ev, model, task, tokenizer, data_dir)
        ev.add(_rows({**base, "steps": done["steps"], "n": n, "train_dir": str(directory)}, task, values))


def evaluate(train_dirs: list[Path], out: Path, tasks: list[str], *, device: str, teachers: str, limit: int | None, data_dir: str | None, progress: bool, command: list[str]) -> pd.DataFrame:
    """Evaluate every training directory into ``out``; returns all stored rows."""
    scales = set()
    for directory in train_dirs:
        scales.add(RunStore(directory).manifest()["config"]["scale"])
    if len(scales) != 1:
        raise UserError(f"the training directories were trained at different scales ({', '.join(sorted(scales))}); evaluate each scale into its own directory")
    scale = get_train_scale(scales.pop())
    if teachers not in TEACHER_MODES:
        raise UserError(f"unknown teacher mode {teachers!r}; allowed: {', '.join(TEACHER_MODES)}")
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be >= 1, got {limit}")
    ev = Evaluation(out, scale, scale.eval_limit if limit is None else limit, resolve_device(device), command)
    for directory in train_dirs:
        evaluate_training(ev, directory, tasks, teachers, data_dir, progress)
    return load_rows(out)


def load_rows(out: Path) -> pd.DataFrame:
    """The rows of an evaluation directory (``value`` numeric, NaN for missing tasks)."""
    path = out / ROWS
    if not path.is_file():
        return pd.DataFrame(columns=list(FIELDS))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame


def summary_table(rows: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a text table: model, #params, latency, each GLUE task's headline score, SQuAD EM and F1."""
    ok = rows[rows["status"] == "ok"]
    order = [t for t in (*glue.TABLE_ORDER, *SQUAD_TASKS) if t in set(rows["task"])]
    columns = [(t, s, m) for t in order for s, m in metric_names(t) if m == "score" or t in SQUAD_TASKS]
    headers = ["model", "#params", "latency ms", *[(f"{t}" if m == "score" else f"{t} {m}") + (f" ({s})" if s.startswith("dev-m") else "") for t, s, m in columns]]
    table = []
    for model in dict.fromkeys(rows["model"]):
        mine = ok[ok["model"] == model]

        def cell(task: str, split: str, metric: str, digits: int = 1) -> str:
            hit = mine[(mine["task"] == task) & (mine["split"] == split) & (mine["metric"] == metric)]["value"]
            if hit.empty:
                missing = rows[(rows["model"] == model) & (rows["task"] == task) & (rows["status"] == "missing")]
                return "missing" if not missing.empty else "-"
            value = float(hit.iloc[0])
            return "nan" if math.isnan(value) else f"{value:.{digits}f}"

        params = mine[(mine["task"] == "model") & (mine["metric"] == "params")]["value"]
        size = f"{float(params.iloc[0]) / 1e6:.1f}M" if not params.empty else "-"
        table.append([model, size, cell(LATENCY[0], LATENCY_SPLIT, LATENCY[1]), *[cell(t, s, m) for t, s, m in columns]])
    return headers, table
