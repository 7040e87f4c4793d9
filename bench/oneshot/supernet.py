"""The one-shot baseline (paper Table 8, Appendix E.2): an SPOS supernet over an NLU space.

Any space whose genome declares standalone blocks with a tied decoder
(:class:`spaces.genome.PositionSeededBlocks` with ``lm_logits``) can be trained and searched
this way (:func:`spos_space`); the NLU spaces do.

Supernet
    Every layer ``p`` holds all candidate blocks (:class:`Supernet`; 12 in the NLU spaces), built
    and initialised exactly as the standalone models build them (position seeds, the genome's
    blocks, with ``bench.scoring.runner.init_seed``): at step 0 every path *is* the model
    ``bench run`` builds for that architecture. The embedding block and the tied decoder are
    shared by all paths.

Training (single-path one-shot, Guo et al. 2020)
    For every batch a path is drawn uniformly from all ``12^m`` architectures (``choices^depth``; the paper
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

Fitness (:class:`SposFitness`)
    The mean masked-LM cross-entropy of a path on held-out windows with fixed masks (drawn
    from ``(seed, "spos-heldout-mask")``), lower is better; run with prefix reuse
    (:class:`bench.search.prefix.PrefixRunner`) since the supernet's blocks are fixed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from bench.errors import UserError
from bench.seeding import derive_rng, derive_seed
from bench.store.runs import RunStore, device_description, write_atomic

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
TRAIN_LOG = "train_log.csv"
COST = "cost.json"
LOG_FIELDS = ("step", "epoch", "path", "loss", "lr", "seconds")
MASK_SHARE, MASK_TOKEN, RANDOM_TOKEN = 0.15, 0.8, 0.1
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


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N``.

    Raises:
        UserError: for another name or CUDA without a GPU.
    """
    if name != "cpu" and not name.startswith("cuda"):
        raise UserError(f"unknown device {name!r}; allowed: cpu, cuda, cuda:N")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: no CUDA device is available here; use --device cpu")
    return torch.device(name)


# --- the supernet -----------------------------------------------------------------------------


class Supernet(nn.Module):
    """All candidate blocks of every layer of a space, with a shared embedding and tied decoder.

    Args:
        space: a space accepted by :func:`spos_space` (position-seeded blocks, a tied decoder).
        seed: the run seed; blocks are initialised from ``bench.scoring.runner.init_seed(space, seed, "")``.
    """

    def __init__(self, space, seed: int) -> None:
        super().__init__()
        from bench.scoring.runner import init_seed

        genome = space.genome()
        parts = genome.blocks
        init = init_seed(space, seed, "")
        self.depth = genome.depth
        self.num_choices = genome.choices
        self._mask_bias = parts.mask_bias
        self._lm_logits = parts.lm_logits
        self.embeddings = parts.embeddings(init)
        self.choices = nn.ModuleList(
            nn.ModuleList(parts.block(p, c, init) for c in range(genome.choices)) for p in range(genome.depth)
        )

    def block(self, position: int, choice: int) -> nn.Module:
        return self.choices[position][choice]

    def forward(self, path: Sequence[int], input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Last hidden state of the path ``path`` (one block index per layer), as the space's
        ``build_model`` computes it (the contract of :class:`spaces.genome.PositionSeededBlocks`)."""
        if len(path) != self.depth:
            raise ValueError(f"a path has {self.depth} block indices, got {len(path)}")
        mask_bias = self._mask_bias(attention_mask)
        x = self.embeddings(input_ids, token_type_ids)
        for position, choice in enumerate(path):
            x = self.choices[position][int(choice)](x, mask_bias)
        return x

    def lm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits through the decoder tied to the word embeddings."""
        return self._lm_logits(self.embeddings, hidden)


# --- data ----------------------------------------------------------------------------------


def mlm_windows(seq_len: int, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Training and held-out windows ``(n, seq_len)`` of token ids (see the module docstring).

    Raises:
        UserError: for a sequence length outside 3..512.
    """
    from bench.inputs import load_tokenizer, token_stream

    if not 3 <= seq_len <= 512:
        raise UserError(f"sequence length must be in 3..512, got {seq_len}")
    stream = np.concatenate([token_stream("wikitext-2-test", data_dir), token_stream("wikitext-2", data_dir)])
    width = seq_len - 2
    count = len(stream) // width
    body = stream[: count * width].reshape(count, width)
    tokenizer = load_tokenizer()
    windows = np.concatenate([np.full((count, 1), tokenizer.cls_token_id), body, np.full((count, 1), tokenizer.sep_token_id)], axis=1)
    held = max(1, count // 10)
    return windows[: count - held], windows[count - held :]


def mask_tokens(ids: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """BERT masking of ``ids`` (B, T): returns (input ids, target mask, target ids).

    Targets: 15% of the positions other than the first and last ([CLS], [SEP]); at least one
    per sequence. 80% of the targets become ``[MASK]``, 10% a uniform random token, 10% stay.
    """
    from bench.inputs import load_tokenizer

    tokenizer = load_tokenizer()
    ids = np.asarray(ids, dtype=np.int64)
    draws = rng.random(ids.shape)
    action = rng.random(ids.shape)
    random_tokens = rng.integers(0, tokenizer.vocab_size, ids.shape)
    candidates = np.ones(ids.shape, dtype=bool)
    candidates[:, 0] = candidates[:, -1] = False
    targets = candidates & (draws < MASK_SHARE)
    empty = ~targets.any(axis=1)
    fallback = np.where(candidates, draws, np.inf).argmin(axis=1)
    targets[empty, fallback[empty]] = True
    inputs = ids.copy()
    inputs[targets & (action < MASK_TOKEN)] = tokenizer.mask_token_id
    swap = targets & (action >= MASK_TOKEN) & (action < MASK_TOKEN + RANDOM_TOKEN)
    inputs[swap] = random_tokens[swap]
    return torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(ids)


def _inputs(ids: torch.Tensor, device: torch.device) -> dict[str, torch.Tensor]:
    return {"input_ids": ids.to(device), "attention_mask": torch.ones_like(ids, device=device), "token_type_ids": torch.zeros_like(ids, device=device)}


# --- training ------------------------------------------------------------------------------


def spos_space(name: str):
    """The space called ``name``, if a supernet can be built over it.

    Raises:
        UserError: for a space without a genome (:func:`bench.search.loop.search_space`), or whose
            genome declares no position-seeded blocks with a tied decoder.
    """
    from bench.search.loop import search_space

    space = search_space(name)
    blocks = space.genome().blocks
    if blocks is None or blocks.lm_logits is None:
        raise UserError(f"space {name!r} has no position-seeded blocks with a tied decoder; an SPOS supernet cannot be built over it")
    return space


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


def _optimizer(model: nn.Module, lr: float) -> torch.optim.AdamW:
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if param.ndim < 2 else decay).append(param)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, betas=(0.9, 0.999), eps=1e-6, foreach=False,
    )


def mlm_loss(model: Supernet, path: Sequence[int], inputs: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor, device: torch.device, reduction: str = "mean") -> torch.Tensor:
    """Masked-LM cross-entropy of ``path`` on one batch (``reduction`` as in ``F.cross_entropy``)."""
    hidden = model(path, **_inputs(inputs, device))
    selected = targets.to(device)
    logits = model.lm_logits(hidden[selected])
    return F.cross_entropy(logits.float(), labels.to(device)[selected], reduction=reduction)


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        torch.save(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _read_log(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        text = handle.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    return list(csv.DictReader(io.StringIO(text)))


def _append_log(path: Path, rows: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOG_FIELDS, lineterminator="\n")
    if not path.is_file() or path.stat().st_size == 0:
        writer.writeheader()
    for row in rows:
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, buffer.getvalue().encode())
        os.fsync(fd)
    finally:
        os.close(fd)


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
    resumed = store.open(supernet_config(space, chosen, seed, total, data_dir), command or [])
    model = Supernet(space, seed)
    optimizer = _optimizer(model, chosen.lr)
    start, cost = 0, {"sessions": []}
    checkpoint = out / CHECKPOINT
    if checkpoint.is_file():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        model.to(dev)
        optimizer.load_state_dict(state["optimizer"])
        start, cost = state["step"], state["cost"]
    model.to(dev)
    log_path = out / TRAIN_LOG
    kept = [row for row in _read_log(log_path) if int(row["step"]) < start]
    _rewrite_log(log_path, kept)
    session = {"device": device_description() if dev.type == "cpu" else f"cuda: {torch.cuda.get_device_name(dev)}", "first_step": start, "steps": 0, "wall_seconds": 0.0, "cpu_seconds": 0.0, "resumed": resumed}
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
                _save_checkpoint(checkpoint, {"step": step + 1, "model": model.state_dict(), "optimizer": optimizer.state_dict(), "cost": cost})
                _append_log(log_path, pending)
                pending = []
                write_atomic(out / COST, json.dumps(_cost_record(cost, step + 1, total), indent=2) + "\n")
    finally:
        bar.close()
    return _cost_record(cost, end, total)


def _rewrite_log(path: Path, rows: list[dict[str, str]]) -> None:
    """Keep only ``rows`` (the steps the checkpoint holds) in the training log."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOG_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, buffer.getvalue())


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


# --- the search's fitness ------------------------------------------------------------------


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
        from bench.search.prefix import PrefixRunner

        self.dir = Path(supernet_dir)
        manifest = RunStore(self.dir).manifest()
        config = manifest["config"]
        if config.get("kind") != "spos-supernet":
            raise UserError(f"{self.dir} is not a supernet directory (made by `bench spos train`)")
        cost_path = self.dir / COST
        self.training_cost = json.loads(cost_path.read_text()) if cost_path.is_file() else None
        if not (self.dir / CHECKPOINT).is_file() or not (self.training_cost or {}).get("complete"):
            raise UserError(f"the supernet in {self.dir} has not finished training; rerun `bench spos train` with its options to continue")
        scale = get_spos_scale(config["scale"])
        self.space = spos_space(config["space"])
        self.genome = self.space.genome()
        self.seed = seed
        self.device = resolve_device(device)
        self.version = file_digest(self.dir / CHECKPOINT)
        self.supernet_config = config
        state = torch.load(self.dir / CHECKPOINT, map_location="cpu", weights_only=False)
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
        self._device_batches = [(_inputs(i, self.device), t.to(self.device), l.to(self.device)) for i, t, l in self.batches]
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
        from spaces import arch_hash, arch_json

        if status == "ok" and not math.isfinite(value):
            status = "nan"
        return [{
            "space": self.space.name, "arch_id": self.space.index_of(arch), "arch_hash": arch_hash(arch), "arch": arch_json(arch),
            "proxy": self.name, "proxy_version": self.version, "seed": self.seed, "value": value, "seconds": seconds,
            "pass_seconds": pass_seconds, "status": status, "error": error,
        }]

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
