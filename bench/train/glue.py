"""GLUE tasks: which exist in the reference data, how their TSVs are read, and their metrics.

Files are the original GLUE TSVs (``glue/<Task>/{train,dev}.tsv`` in the data directory,
resolved and checksum-verified by :func:`bench.data.resolve`). They are read with pandas,
``quoting=3`` (``csv.QUOTE_NONE``: the texts contain unbalanced quotes) and
``keep_default_na=False`` (words like "NA" and "null" are text, not missing values); the
MRPC files start with a byte-order mark (``utf-8-sig``). CoLA has no header row.

A task whose training or dev file is not part of the reference data is *missing*: it is
reported with the reason, never trained on or filled in. Here that is MNLI and QQP (not
in the data directory: too large) and QNLI (dev set only, so it cannot be fine-tuned).
At the ``paper`` scale the same tasks are read from the ``datasets`` package instead
(:func:`load_task_datasets`).

Metrics (:func:`task_metrics`), each in percent as the paper reports them:

* CoLA: Matthews correlation ``(TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))``
  (0 when a factor of the denominator is 0);
* STS-B: Pearson and Spearman correlation of predicted and gold similarity;
* MRPC, QQP: F1 of the positive class ``2·TP / (2·TP + FP + FN)`` and accuracy;
* MNLI (matched / mismatched), QNLI, RTE, SST-2, WNLI: accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from bench import data
from bench.errors import UserError


@dataclass(frozen=True)
class GlueTask:
    """One GLUE task as stored in the original TSV layout.

    Attributes:
        name: the task's name on the command line and in result rows (``cola``, ``sst-2``, ...).
        directory: folder under ``glue/`` in the data directory.
        text_columns: one column (single sentence) or two (a pair).
        label_column: the gold label (or score) column.
        labels: label strings in class order; ``None`` for regression (STS-B).
        metrics: metric names written to result rows, the first being the task's headline.
        dev_splits: result split name -> dev file (MNLI has matched and mismatched).
        header: whether the TSV has a header row.
        columns: column names for files without a header (CoLA).
        paper_epochs: fine-tuning epochs at the paper scale (Sec. 6.2.2: CoLA 50, others 10).
        hf_name: the task's configuration name in the ``datasets`` GLUE collection.
        headline: the one metric the paper's tables show for the task (BERT's convention:
            F1 for MRPC and QQP, Spearman for STS-B, MCC for CoLA, accuracy otherwise).
    """

    name: str
    directory: str
    text_columns: tuple[str, ...]
    label_column: str
    labels: tuple[str, ...] | None
    metrics: tuple[str, ...]
    dev_splits: dict[str, str] = field(default_factory=lambda: {"dev": "dev.tsv"})
    header: bool = True
    columns: tuple[str, ...] | None = None
    paper_epochs: int = 10
    hf_name: str = ""
    headline: str = "accuracy"

    @property
    def num_labels(self) -> int:
        """Outputs of the task head: classes, or 1 for regression."""
        return 1 if self.labels is None else len(self.labels)

    @property
    def is_regression(self) -> bool:
        return self.labels is None


GLUE_TASKS: dict[str, GlueTask] = {
    task.name: task
    for task in (
        GlueTask("cola", "CoLA", ("sentence",), "label", ("0", "1"), ("mcc",), header=False,
                 columns=("source", "label", "original_label", "sentence"), paper_epochs=50, hf_name="cola", headline="mcc"),
        GlueTask("sst-2", "SST-2", ("sentence",), "label", ("0", "1"), ("accuracy",), hf_name="sst2"),
        GlueTask("mrpc", "MRPC", ("#1 String", "#2 String"), "Quality", ("0", "1"), ("f1", "accuracy"), hf_name="mrpc", headline="f1"),
        GlueTask("sts-b", "STS-B", ("sentence1", "sentence2"), "score", None, ("pearson", "spearman"), hf_name="stsb", headline="spearman"),
        GlueTask("qqp", "QQP", ("question1", "question2"), "is_duplicate", ("0", "1"), ("f1", "accuracy"), hf_name="qqp", headline="f1"),
        GlueTask("mnli", "MNLI", ("sentence1", "sentence2"), "gold_label", ("contradiction", "entailment", "neutral"),
                 ("accuracy",), dev_splits={"dev-m": "dev_matched.tsv", "dev-mm": "dev_mismatched.tsv"}, hf_name="mnli"),
        GlueTask("qnli", "QNLI", ("question", "sentence"), "label", ("entailment", "not_entailment"), ("accuracy",), hf_name="qnli"),
        GlueTask("rte", "RTE", ("sentence1", "sentence2"), "label", ("entailment", "not_entailment"), ("accuracy",), hf_name="rte"),
        GlueTask("wnli", "WNLI", ("sentence1", "sentence2"), "label", ("0", "1"), ("accuracy",), hf_name="wnli"),
    )
}

#: Column order of the paper's GLUE tables (WNLI last: the paper leaves it out).
TABLE_ORDER: tuple[str, ...] = ("qnli", "mrpc", "sst-2", "cola", "sts-b", "mnli", "rte", "qqp", "wnli")


def get_task(name: str) -> GlueTask:
    """The GLUE task called ``name`` (case-insensitive; ``sst2``/``stsb`` accepted).

    Raises:
        UserError: for an unknown task.
    """
    key = name.strip().lower()
    key = {"sst2": "sst-2", "stsb": "sts-b", "sts": "sts-b", "sst": "sst-2"}.get(key, key)
    if key not in GLUE_TASKS:
        raise UserError(f"unknown GLUE task {name!r}; allowed: {', '.join(GLUE_TASKS)}")
    return GLUE_TASKS[key]


def _relpath(task: GlueTask, filename: str) -> str:
    return f"glue/{task.directory}/{filename}"


def missing_reason(task: GlueTask) -> str | None:
    """Why ``task`` cannot be trained and evaluated from the reference data, or ``None``.

    A file counts as present when it is one of the reference files :mod:`bench.data` knows.
    """
    has_train = _relpath(task, "train.tsv") in data.DATA_FILES
    has_dev = all(_relpath(task, f) in data.DATA_FILES for f in task.dev_splits.values())
    if has_train and has_dev:
        return None
    if has_dev:
        return f"{task.directory} has a dev set but no training set in the reference data, so it cannot be fine-tuned here"
    return f"{task.directory} is not in the reference data (glue/{task.directory}/ absent)"


def read_tsv(path, task: GlueTask) -> pd.DataFrame:
    """Read one GLUE TSV with ``quoting=3`` and ``keep_default_na=False``.

    Returns:
        A frame with the task's text columns and label column, as strings.
    """
    frame = pd.read_csv(
        path,
        sep="\t",
        quoting=3,
        keep_default_na=False,
        dtype=str,
        encoding="utf-8-sig",
        header=0 if task.header else None,
        names=None if task.header else list(task.columns or ()),
    )
    needed = [*task.text_columns, task.label_column]
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise UserError(f"{path} lacks the column(s) {', '.join(absent)} of GLUE task {task.name}")
    return frame[needed].reset_index(drop=True)


@dataclass(frozen=True)
class Examples:
    """Texts and gold labels of one split: ``texts`` is one tuple per text column."""

    texts: tuple[list[str], ...]
    labels: np.ndarray  # int64 class ids, or float32 scores for regression

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, n: int | None) -> "Examples":
        """The first ``n`` examples (all when ``n`` is ``None``)."""
        if n is None or n >= len(self):
            return self
        return Examples(tuple(t[:n] for t in self.texts), self.labels[:n])


def to_examples(frame: pd.DataFrame, task: GlueTask) -> Examples:
    """Texts and encoded labels of a frame read by :func:`read_tsv`.

    Raises:
        UserError: for a label outside the task's label set.
    """
    texts = tuple(frame[c].astype(str).tolist() for c in task.text_columns)
    raw = frame[task.label_column].astype(str).str.strip()
    if task.is_regression:
        labels = raw.astype(np.float32).to_numpy()
    else:
        index = {label: i for i, label in enumerate(task.labels)}
        bad = sorted(set(raw) - set(index))
        if bad:
            raise UserError(f"GLUE task {task.name}: unexpected label(s) {bad[:5]}; allowed: {', '.join(task.labels)}")
        labels = raw.map(index).to_numpy(dtype=np.int64)
    return Examples(texts, labels)


def load_split(task: GlueTask, split: str, data_dir: str | None = None) -> Examples:
    """Examples of ``split`` (``train`` or one of ``task.dev_splits``) from the reference data.

    Raises:
        UserError: when the task is missing from the reference data, or for an unknown split.
    """
    reason = missing_reason(task)
    if reason is not None:
        raise UserError(f"GLUE task {task.name} is missing: {reason}")
    filename = "train.tsv" if split == "train" else task.dev_splits.get(split)
    if filename is None:
        raise UserError(f"unknown split {split!r} of {task.name}; allowed: train, {', '.join(task.dev_splits)}")
    return to_examples(read_tsv(data.resolve(_relpath(task, filename), data_dir), task), task)


def load_task_datasets(task: GlueTask, split: str) -> Examples:  # pragma: no cover - needs the network
    """Examples of ``split`` from the ``datasets`` GLUE collection (``paper`` scale).

    ``dev`` is ``validation`` (MNLI: ``validation_matched`` / ``validation_mismatched``).

    Raises:
        UserError: when ``datasets`` is not installed or the data cannot be loaded.
    """
    try:
        import datasets
    except ImportError as exc:
        raise UserError("the paper scale reads GLUE through `datasets`: pip install 'proxybench[paper]'") from exc
    hf_split = {"train": "train", "dev": "validation", "dev-m": "validation_matched", "dev-mm": "validation_mismatched"}[split]
    try:
        table = datasets.load_dataset("nyu-mll/glue", task.hf_name, split=hf_split)
    except Exception as exc:  # noqa: BLE001 - any loader failure is the user's environment
        raise UserError(f"could not load GLUE {task.hf_name}/{hf_split} through datasets ({exc})") from exc
    columns = {"cola": ("sentence",), "sst2": ("sentence",), "mrpc": ("sentence1", "sentence2"), "stsb": ("sentence1", "sentence2"),
               "qqp": ("question1", "question2"), "mnli": ("premise", "hypothesis"), "qnli": ("question", "sentence"),
               "rte": ("sentence1", "sentence2"), "wnli": ("sentence1", "sentence2")}[task.hf_name]
    texts = tuple(list(table[c]) for c in columns)
    labels = np.asarray(table["label"], dtype=np.float32 if task.is_regression else np.int64)
    if not task.is_regression and task.hf_name == "mnli":
        # datasets orders MNLI as entailment, neutral, contradiction; the TSV order is used here.
        labels = np.asarray([(1, 2, 0)[int(v)] for v in labels], dtype=np.int64)
    return Examples(texts, labels)


# --------------------------------------------------------------------------- metrics


def accuracy(pred: Sequence[int], gold: Sequence[int]) -> float:
    """Share of predictions equal to the gold label."""
    pred, gold = np.asarray(pred), np.asarray(gold)
    return float((pred == gold).mean())


def f1_binary(pred: Sequence[int], gold: Sequence[int], positive: int = 1) -> float:
    """F1 of the positive class: ``2·TP / (2·TP + FP + FN)`` (0 when there is no positive at all)."""
    pred, gold = np.asarray(pred) == positive, np.asarray(gold) == positive
    tp = int((pred & gold).sum())
    denominator = 2 * tp + int((pred & ~gold).sum()) + int((~pred & gold).sum())
    return 0.0 if denominator == 0 else 2 * tp / denominator


def matthews_corr(pred: Sequence[int], gold: Sequence[int]) -> float:
    """Matthews correlation of binary predictions (0 when the denominator vanishes)."""
    pred, gold = np.asarray(pred).astype(bool), np.asarray(gold).astype(bool)
    tp = float((pred & gold).sum())
    tn = float((~pred & ~gold).sum())
    fp = float((pred & ~gold).sum())
    fn = float((~pred & gold).sum())
    denominator = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return 0.0 if denominator == 0 else (tp * tn - fp * fn) / denominator


def pearson(pred: Sequence[float], gold: Sequence[float]) -> float:
    """Pearson correlation (NaN for a constant input)."""
    pred, gold = np.asarray(pred, dtype=float), np.asarray(gold, dtype=float)
    if np.ptp(pred) == 0 or np.ptp(gold) == 0:
        return float("nan")
    return float(scipy_stats.pearsonr(pred, gold).statistic)


def spearman(pred: Sequence[float], gold: Sequence[float]) -> float:
    """Spearman correlation with average ranks for ties (NaN for a constant input)."""
    pred, gold = np.asarray(pred, dtype=float), np.asarray(gold, dtype=float)
    if np.ptp(pred) == 0 or np.ptp(gold) == 0:
        return float("nan")
    return float(scipy_stats.spearmanr(pred, gold).statistic)


_METRICS = {"accuracy": accuracy, "f1": f1_binary, "mcc": matthews_corr, "pearson": pearson, "spearman": spearman}


def task_metrics(task: GlueTask, outputs: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """The task's official metrics in percent, and ``score``: the headline one again.

    Args:
        task: the GLUE task.
        outputs: model outputs, ``(n, classes)`` logits or ``(n,)`` / ``(n, 1)`` regression values.
        gold: gold class ids or scores.
    """
    outputs = np.asarray(outputs)
    pred = outputs.reshape(-1) if task.is_regression else outputs.argmax(axis=-1)
    values = {name: 100.0 * _METRICS[name](pred, gold) for name in task.metrics}
    values["score"] = values[task.headline]
    return values
