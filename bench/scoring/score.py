"""Score one architecture: build the model, run the shared capture pass, evaluate the proxies.

This is the function every backend runs (:mod:`bench.scoring.backends`). The model's
initialisation is seeded by :func:`init_seed`: ``derive_seed(seed, "init", arch_hash)``, or
``derive_seed(seed, "init")`` for spaces whose models are position-seeded. A model that
cannot be built or fed is recorded as an ``error`` row per proxy, never hidden; a failure that
may not recur (out of memory) gives ``transient`` rows, which the runner keeps out of
``rows.csv`` so a rerun retries them; a :class:`~bench.errors.UserError` (missing data or
vocabulary, a problem of the environment, not of the architecture) propagates and stops the run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bench.config import ScoringSettings
from bench.errors import UserError
from bench.init_schemes import reinitialise
from bench.inputs import proxy_batch
from bench.seeding import derive_seed
from bench.store import schema


@dataclass(frozen=True)
class Task:
    """One architecture × seed, with the proxies still missing for it."""

    arch_json: str
    arch_hash: str
    arch_id: int
    seed: int
    proxies: tuple[str, ...]


def init_seed(space, seed: int, arch_hash: str) -> int:
    """The seed passed to ``space.build_model`` for an architecture and a run seed.

    ``derive_seed(seed, "init", arch_hash)``; position-seeded spaces (``space.position_seeded``,
    the NLU spaces) derive every block's weights from the seed and the block's position inside
    ``build_model``, so they get ``derive_seed(seed, "init")``, the same for every architecture.
    """
    if space.position_seeded:
        return derive_seed(seed, "init")
    return derive_seed(seed, "init", arch_hash)


@lru_cache(maxsize=2)
def proxy_input(batch_size: int, seq_len: int, seed: int, text: str, data_dir: str | None, tokenizer: str = "bert-wordpiece"):
    return proxy_batch(batch_size, seq_len, derive_seed(seed, "proxy-batch"), text, data_dir, tokenizer)


def on_device(batch: dict, device: str) -> dict:
    """The batch's tensors on ``device`` (the same dict when it is the CPU)."""
    if device == "cpu":
        return batch
    return {name: value.to(device) for name, value in batch.items()}


def space_input(settings: ScoringSettings):
    """The proxy input batch of a run: its sizes, seed and text through its space's tokenizer."""
    from spaces import get_space

    tokenizer = settings.tokenizer or get_space(settings.space).tokenizer
    return proxy_input(settings.batch_size, settings.seq_len, settings.sample_seed, settings.text, settings.data_dir, tokenizer)


def check_environment(settings: ScoringSettings) -> None:
    """Load what every architecture needs (plug-ins, the space, the text, the vocabulary and the
    input batch) once, so a problem of the environment stops a run before any row is scored.

    Raises:
        UserError, ProxyError: naming the missing piece and the fix.
    """
    from proxies import load_plugins
    from spaces import get_space

    load_plugins(settings.plugins)
    get_space(settings.space)
    space_input(settings)


def score_task(task: Task, settings: ScoringSettings) -> list[dict[str, Any]]:
    """Build one model and score it with the task's proxies; returns complete result rows."""
    import torch

    from proxies import get_proxy, load_plugins, score
    from spaces import get_space

    if settings.threads:
        torch.set_num_threads(settings.threads)
    load_plugins(settings.plugins)
    space = get_space(settings.space)
    specs = [get_proxy(name) for name in task.proxies]
    arch = space.parse(json.loads(task.arch_json))
    try:
        model = space.build_model(arch, init_seed(space, task.seed, task.arch_hash), settings.variant)
        reinitialise(model, settings.init, derive_seed(task.seed, "reinit", task.arch_hash))
        model.to(settings.device)
        batch = on_device(space_input(settings), settings.device)
        results, pass_seconds = score(
            model,
            batch,
            specs,
            settings.options,
            train_mode=settings.train_mode,
            dropout_seed=derive_seed(task.seed, "dropout", task.arch_hash),
            loss=settings.loss,
            arch=arch,
        )
    except UserError:
        raise
    except Exception as exc:  # a model that cannot be built or fed is recorded per proxy
        message = f"model failed: {type(exc).__name__}: {exc}"
        results = [_failed(spec, message, exc) for spec in specs]
        pass_seconds = math.nan
    return ScoredRows(
        [schema.proxy_row(settings.space, task.arch_id, task.arch_hash, task.arch_json, task.seed, r, pass_seconds) for r in results],
        threads=torch.get_num_threads(),
    )


class ScoredRows(list):
    """The result rows of one task, and ``threads``: the torch threads of the process that scored them
    (a worker's real count, which a joblib or dask worker may set below the parent's)."""

    def __init__(self, rows=(), threads: int = 0) -> None:
        super().__init__(rows)
        self.threads = threads


def _failed(spec, message: str, exc: Exception):
    from proxies import ProxyResult
    from proxies.capture import failure_status

    return ProxyResult(spec.name, spec.version, math.nan, 0.0, failure_status(exc), message)
