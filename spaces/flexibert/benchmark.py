"""Loader of the FlexiBERT benchmark: 500 trained architectures with GLUE dev scores.

The file (``flexibert/BERT_benchmark.json``, Serianni & Kalita 2023) is a list of entries
``{"id", "scores": {task: score, "glue": mean}, "hparams": {"model_hparam_overrides":
{"hidden_size", "nas_config": {"encoder_layers": [...]}}}}``.
"""

from __future__ import annotations

import json
from pathlib import Path

from spaces.benchmark import Benchmark, BenchmarkEntry
from spaces.errors import SpaceError
from spaces.flexibert.arch import parse_arch

#: The eight GLUE tasks the benchmark reports, and the key of their mean.
GLUE_TASKS: tuple[str, ...] = ("cola", "mnli", "mrpc", "qnli", "qqp", "rte", "sst", "sts")
GLUE_MEAN = "glue"
#: The benchmark file's path inside the reference data.
BENCHMARK_FILE = "flexibert/BERT_benchmark.json"


def load_benchmark(path: str | Path) -> list[BenchmarkEntry]:
    """Parse every entry of ``BERT_benchmark.json``.

    Raises:
        SpaceError: for an entry whose architecture or scores cannot be read, naming its id.
    """
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SpaceError(f"cannot read the FlexiBERT benchmark {path}: {exc}") from exc
    entries = []
    for position, item in enumerate(raw):
        ident = item.get("id", position) if isinstance(item, dict) else position
        try:
            overrides = item["hparams"]["model_hparam_overrides"]
            arch = parse_arch(overrides)
            scores = {key: float(item["scores"][key]) for key in (*GLUE_TASKS, GLUE_MEAN)}
        except (KeyError, TypeError, ValueError) as exc:
            raise SpaceError(f"benchmark entry {ident} in {path} cannot be read: {exc}") from exc
        entries.append(BenchmarkEntry(int(ident), arch, scores))
    return entries


#: The declaration of the benchmark (:meth:`spaces.flexibert.FlexiBertSpace.benchmarks`).
BENCHMARK = Benchmark(
    name="bert-benchmark",
    file=BENCHMARK_FILE,
    load=load_benchmark,
    tasks=(GLUE_MEAN, *GLUE_TASKS),
    main_task=GLUE_MEAN,
    main_label="GLUE mean",
)
