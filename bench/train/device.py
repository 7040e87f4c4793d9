"""The one device resolver of every command that trains or runs a model (``--device``)."""

from __future__ import annotations

import torch

from bench.errors import UserError


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (the first GPU when one is visible, else the CPU).

    Raises:
        UserError: for another name, or CUDA without a GPU.
    """
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"--device {name}: no CUDA device is available here; use --device cpu")
        return torch.device(name)
    raise UserError(f"unknown device {name!r}; allowed: cpu, cuda, cuda:N, auto")


def describe(device: torch.device) -> str:
    """The device as manifests and cost records name it."""
    from bench.store.manifest import device_description

    return device_description() if device.type == "cpu" else f"cuda: {torch.cuda.get_device_name(device)}"
