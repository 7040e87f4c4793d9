"""The SPOS search's fitness: a trained supernet's held-out masked-LM loss of a path.

The mean masked-LM cross-entropy of a path on held-out windows with fixed masks (drawn from
``(seed, "spos-heldout-mask")``), lower is better; run with prefix reuse
(:class:`bench.search.prefix_cache.PrefixRunner`) since the supernet's blocks are fixed. The
fitness version is a digest of the supernet checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from torch.nn import functional as F

from bench.errors import UserError
from bench.oneshot.mlm import mask_tokens, mlm_windows, model_inputs
from bench.oneshot.supernet import Supernet, spos_space
from bench.oneshot.training import FITNESS_NAME, get_spos_scale
from bench.seeding import derive_rng
from bench.store import schema
from bench.store.runs import RunStore
from bench.train import checkpoint as ckpt
from bench.train.device import resolve_device

log = logging.getLogger(__name__)


def file_digest(path: Path) -> str:
    """First 16 hex digits of the sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


class SposFitness:
    """A trained supernet's held-out masked-LM loss of a path (lower is better).

    Args:
        supernet_dir: a finished ``bench spos train`` directory.
        seed: the search seed (recorded in the rows; seeds the search's random choices).
        device: where the supernet runs.
        heldout_sequences: held-out windows to read (default: the training scale's).
        eval_batch: windows per forward pass (default: the training scale's).
        prefix: reuse the activations of shared prefixes (identical values).
        prefix_budget_mb: bound of the activation cache.

    Raises:
        UserError: for a directory without a finished supernet.
    """

    label = "SPOS held-out MLM loss"
    higher_is_better = False
    name = FITNESS_NAME

    def __init__(self, supernet_dir: str | os.PathLike, seed: int = 0, device: str = "cpu", heldout_sequences: int | None = None, eval_batch: int | None = None, data_dir: str | None = None, prefix: bool = True, prefix_budget_mb: int = 1024) -> None:
        from bench.search.prefix_cache import PrefixRunner

        self.dir = Path(supernet_dir)
        manifest = RunStore(self.dir).manifest()
        config = manifest["config"]
        if config.get("kind") != schema.SUPERNET:
            raise UserError(f"{self.dir} is not a supernet directory (made by `bench spos train`)")
        cost_path = self.dir / schema.COST
        self.training_cost = json.loads(cost_path.read_text()) if cost_path.is_file() else None
        if not (self.dir / schema.CHECKPOINT).is_file() or not (self.training_cost or {}).get("complete"):
            raise UserError(f"the supernet in {self.dir} has not finished training; rerun `bench spos train` with its options to continue")
        scale = get_spos_scale(config["scale"])
        self.space = spos_space(config["space"])
        self.genome = self.space.genome()
        self.seed = seed
        self.device = resolve_device(device)
        self.version = file_digest(self.dir / schema.CHECKPOINT)
        self.supernet_config = config
        state = ckpt.load_checkpoint(self.dir)
        self.model = Supernet(self.space, config["seed"])
        self.model.load_state_dict(state["model"])
        self.model.to(self.device).eval()
        _, heldout = mlm_windows(config["seq_len"], data_dir)
        count = heldout_sequences or scale.heldout_sequences or len(heldout)
        if count < 1:
            raise UserError(f"--heldout must be >= 1, got {count}")
        self.heldout_sequences = min(count, len(heldout))
        self.eval_batch = eval_batch or scale.eval_batch
        inputs, targets, labels = mask_tokens(heldout[: self.heldout_sequences], derive_rng(config["seed"], "spos-heldout-mask"))
        self.batches = [
            (inputs[i : i + self.eval_batch], targets[i : i + self.eval_batch], labels[i : i + self.eval_batch])
            for i in range(0, self.heldout_sequences, self.eval_batch)
        ]
        self._device_batches = [(model_inputs(i, self.device), t.to(self.device), l.to(self.device)) for i, t, l in self.batches]
        self.prefix_active = prefix
        self.prefix_verified: bool | None = None
        self.runner = PrefixRunner(
            embed=self._embed,
            block=lambda p, c: self.model.block(p, c),
            mask_biases=tuple(self.genome.blocks.mask_bias(b[0]["attention_mask"]) for b in self._device_batches),
            budget_bytes=int(prefix_budget_mb) << 20,
        )

    def _embed(self) -> tuple[torch.Tensor, ...]:
        return tuple(self.model.embeddings(b[0]["input_ids"], b[0]["token_type_ids"]) for b in self._device_batches)

    def config(self) -> dict[str, Any]:
        return {
            "kind": "spos",
            "fitness": self.name,
            "version": self.version,
            "higher_is_better": False,
            "supernet": str(self.dir),
            "supernet_config": self.supernet_config,
            "heldout_sequences": self.heldout_sequences,
            "eval_batch": self.eval_batch,
            "device": str(self.device),
        }

    def session_info(self) -> dict[str, Any]:
        return {"prefix_reuse": {"active": self.prefix_active, "verified_against_uncached": self.prefix_verified, **self.runner.stats()}}

    def _loss(self, hidden: Sequence[torch.Tensor]) -> float:
        total, count = 0.0, 0
        with torch.no_grad():
            for h, (_, targets, labels) in zip(hidden, self._device_batches):
                logits = self.model.lm_logits(h[targets])
                total += float(F.cross_entropy(logits.float(), labels[targets], reduction="sum").double())
                count += int(targets.sum())
        return total / count

    def uncached_value(self, arch) -> float:
        """The held-out loss of ``arch`` from full forward passes (no prefix reuse)."""
        with torch.no_grad():
            hidden = [self.model(self.genome.genes(arch), **b[0]) for b in self._device_batches]
        return self._loss(hidden)

    def _row(self, arch, value: float, seconds: float, pass_seconds: float, status: str = "ok", error: str = "") -> list[dict[str, Any]]:
        from proxies.capture import ProxyResult
        from spaces import arch_hash, arch_json

        if status == "ok" and not math.isfinite(value):
            status = "nan"
        result = ProxyResult(self.name, self.version, value, seconds, status, error)
        return [schema.proxy_row(self.space.name, self.space.index_of(arch), arch_hash(arch), arch_json(arch), self.seed, result, pass_seconds)]

    def score(self, arch) -> list[dict[str, Any]]:
        """One result row for ``arch``."""
        try:
            if not self.prefix_active:
                begin = time.perf_counter()
                value = self.uncached_value(arch)
                return self._row(arch, value, 0.0, time.perf_counter() - begin)
            result = self.runner.run(self.genome.genes(arch))
            begin = time.perf_counter()
            value = self._loss(result.hidden)
            return self._row(arch, value, time.perf_counter() - begin, result.seconds)
        except Exception as exc:  # recorded, never hidden
            return self._row(arch, math.nan, 0.0, math.nan, "error", f"{type(exc).__name__}: {exc}")

    def compute(self, archs: Sequence[Any]) -> Iterator[list[dict[str, Any]]]:
        archs = list(archs)
        if archs and self.prefix_active and self.prefix_verified is None:
            fast = self.score(archs[0])
            plain = self.uncached_value(archs[0])
            self.prefix_verified = fast[0]["value"] == plain
            if not self.prefix_verified:
                log.warning("prefix reuse disabled: %r differs from the uncached %r", fast[0]["value"], plain)
                self.prefix_active = False
                fast = self.score(archs[0])
            yield fast
            archs = archs[1:]
        for arch in archs:
            yield self.score(arch)
