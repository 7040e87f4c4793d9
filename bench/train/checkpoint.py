"""Crash-safe checkpoints of a training stage, and the final weights it leaves behind.

A stage directory holds:

``checkpoint.pt``      the resumable state: step, trainable modules, optimizer, schedule and
                       random-number-generator states (CPU and, when used, CUDA); written
                       through a temporary file and an atomic rename every ``save_every``
                       steps, so a kill leaves the previous complete checkpoint.
``final.safetensors``  the trained weights (tensors only), written atomically when the
                       stage ends.
``done.json``          what the stage was and how it ended (steps, seconds, last loss);
                       written last, so its presence means the stage is complete.
``log.csv``            loss terms every ``log_every`` steps, appended (see :mod:`bench.train.loop`).

Checkpoints are loaded with ``torch.load(weights_only=True)``: only tensors and plain
containers, no pickled code.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors.torch import load_file, save_file

from bench.store import schema
from bench.store.writer import write_atomic

CHECKPOINT, FINAL, DONE = schema.CHECKPOINT, schema.FINAL_WEIGHTS, schema.DONE


def _replace_atomically(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        write(tmp)
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """The random-generator states that dropout draws from."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: Mapping[str, torch.Tensor], device: torch.device) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def save_checkpoint(directory: Path, state: Mapping[str, Any]) -> None:
    """Atomically write ``state`` (tensors and plain containers) as ``checkpoint.pt``."""
    _replace_atomically(directory / CHECKPOINT, lambda tmp: _torch_save(dict(state), tmp))


def _torch_save(state: dict[str, Any], path: str) -> None:
    """``torch.save`` through a handle: the bytes depend on ``state`` only, not on the file name."""
    with open(path, "wb") as handle:
        torch.save(state, handle)


def load_checkpoint(directory: Path) -> dict[str, Any] | None:
    """The saved state, or ``None`` when the stage has no checkpoint yet."""
    path = directory / CHECKPOINT
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


def save_weights(path: Path, module: torch.nn.Module) -> None:
    """Atomically write ``module``'s state dict as safetensors."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    _replace_atomically(path, lambda tmp: save_file(tensors, tmp))


def load_weights(path: Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file."""
    return load_file(str(path), device=str(device))


def mark_done(directory: Path, info: Mapping[str, Any]) -> None:
    """Write ``done.json``; the stage counts as complete from then on."""
    write_atomic(directory / DONE, json.dumps(dict(info), indent=2, sort_keys=True) + "\n")


def done_info(directory: Path) -> dict[str, Any] | None:
    """The stage's ``done.json``, or ``None`` while it is incomplete."""
    path = directory / DONE
    return json.loads(path.read_text()) if path.is_file() else None


def remove_checkpoint(directory: Path) -> None:
    """Delete the resumable state of a finished stage (its final weights stay)."""
    path = directory / CHECKPOINT
    if path.exists():
        path.unlink()
