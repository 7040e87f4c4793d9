"""The shared capture pass: one forward (and one backward only if needed) per architecture.

:func:`capture` reads the selected proxies' declared needs, hooks exactly the taps they
read (:func:`spaces.taps.recording`), runs the model once, removes every hook (also on
error), and returns a :class:`~proxies.context.ProxyContext`. :func:`score` then calls
each proxy on it, timing each call and recording failures and non-finite values instead of
hiding them.

Gradient-free selections run under ``torch.no_grad()``. With gradients, the loss is one of
:mod:`proxies.losses` (default: token cross-entropy through a decoder tied to the word
embeddings).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import torch
from torch import nn

from proxies.context import ProxyContext
from proxies.losses import proxy_loss
from proxies.registry import ProxySpec
from spaces.taps import recording


@dataclass(frozen=True)
class ProxyResult:
    """One proxy's outcome on one architecture.

    ``status`` is ``"ok"`` for a finite value, ``"nan"`` for a non-finite value (kept in
    ``value``), ``"error"`` when the proxy raised (``value`` is NaN, ``error`` says why), and
    ``"transient"`` when it raised for a reason that may not recur (:func:`is_transient`:
    out of memory), so the caller can retry instead of storing the failure as the result.
    """

    proxy: str
    version: str
    value: float
    seconds: float
    status: str
    error: str = ""


TRANSIENT = "transient"
_OUT_OF_MEMORY = ("out of memory", "can't allocate memory", "cannot allocate memory")


def is_transient(exc: BaseException) -> bool:
    """Whether a failure may not recur on another try: ``MemoryError``, ``torch.OutOfMemoryError``,
    or a ``RuntimeError`` from an allocator that ran out of memory."""
    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return True
    return isinstance(exc, RuntimeError) and any(text in str(exc).lower() for text in _OUT_OF_MEMORY)


def failure_status(exc: BaseException) -> str:
    """``"transient"`` for :func:`is_transient` failures, else ``"error"``."""
    return TRANSIENT if is_transient(exc) else "error"


def _flop_counter(enabled: bool):
    """``FlopCounterMode`` when ``enabled``, else a context that yields ``None``."""
    import contextlib

    if not enabled:
        return contextlib.nullcontext(None)
    from torch.utils.flop_counter import FlopCounterMode

    return FlopCounterMode(display=False)


def count_parameters(model: nn.Module) -> int:
    """Total number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())


def capture(
    model: nn.Module,
    batch: Mapping[str, torch.Tensor],
    specs: Iterable[ProxySpec],
    *,
    train_mode: bool = False,
    dropout_seed: int = 0,
    loss: str = "token-ce",
    arch: Any = None,
) -> ProxyContext:
    """Run the shared pass for ``specs`` and return what they need.

    Args:
        model: a model exposing ``proxy_taps()`` (every model a space builds does).
        batch: model inputs.
        specs: the proxies that will read the context.
        train_mode: run in ``train()`` mode (dropout active, seeded by ``dropout_seed``)
            instead of ``eval()``.
        dropout_seed: seed of the dropout masks in train mode and of the loss's target positions.
        loss: the loss whose gradients gradient-based proxies read (see :mod:`proxies.losses`).
        arch: the architecture, passed through to the proxies.
    """
    specs = list(specs)
    kinds = set().union(*(spec.taps for spec in specs)) if specs else set()
    grad_kinds = set().union(*(spec.tap_grads for spec in specs)) if specs else set()
    backward = any(spec.needs_grad or spec.tap_grads for spec in specs)
    forward = backward or any(spec.needs_forward for spec in specs)
    count_flops = any(spec.needs_flops for spec in specs)
    taps = model.proxy_taps() if kinds else {}
    kind_of = {tap: kind for kind in sorted(kinds) for tap in taps.get(kind, [])}

    def keep(module: nn.Module, output: torch.Tensor) -> torch.Tensor:
        if kind_of[module] in grad_kinds and output.requires_grad:
            output.retain_grad()
            return output
        return output.detach()

    was_training = model.training
    try:
        with recording(kind_of, keep) as records:
            model.train(train_mode)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(dropout_seed)
                counter = None
                if not forward:
                    last, loss_value = torch.empty(0), None
                elif backward:
                    model.zero_grad(set_to_none=True)
                    with torch.enable_grad():
                        with _flop_counter(count_flops) as counter:
                            last = model(**batch).last_hidden_state
                        loss_tensor = proxy_loss(model, last, batch, loss, dropout_seed)
                        loss_tensor.backward()
                    loss_value = float(loss_tensor.detach())
                else:
                    with torch.no_grad(), _flop_counter(count_flops) as counter:
                        last = model(**batch).last_hidden_state
                    loss_value = None
    finally:
        model.train(was_training)
    outputs: dict[str, list[torch.Tensor]] = {kind: [] for kind in kinds}
    layers: dict[str, list[int]] = {kind: [] for kind in kinds}
    tap_modules: dict[str, list[nn.Module]] = {kind: [] for kind in kinds}
    for module, output in records:
        outputs[kind_of[module]].append(output)
        layers[kind_of[module]].append(getattr(module, "layer", -1))
        tap_modules[kind_of[module]].append(module)
    grads = {
        kind: [t.grad if t.grad is not None else torch.zeros_like(t) for t in outputs[kind]] for kind in grad_kinds
    }
    captured = {kind: [t.detach() for t in tensors] for kind, tensors in outputs.items()}
    return ProxyContext(
        model=model,
        batch=MappingProxyType(dict(batch)),
        captured=MappingProxyType(captured),
        captured_layers=MappingProxyType(dict(layers)),
        captured_taps=MappingProxyType(tap_modules),
        grads=MappingProxyType(grads),
        output=last.detach(),
        loss=loss_value,
        num_params=count_parameters(model),
        arch=arch,
        flops=float(counter.get_total_flops()) if counter is not None else None,
        loss_kind=loss,
        train_mode=train_mode,
        seed=dropout_seed,
    )


def evaluate(spec: ProxySpec, ctx: ProxyContext, options: Mapping[str, Any] | None = None) -> ProxyResult:
    """Call one proxy on a prepared context, timing it and recording failures."""
    start = time.perf_counter()
    try:
        with torch.no_grad():
            value = float(spec.fn(ctx.with_options(options if options is not None else spec.options)))
    except Exception as exc:  # recorded in the result row, never swallowed silently
        return ProxyResult(spec.name, spec.version, math.nan, time.perf_counter() - start, failure_status(exc), f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - start
    return ProxyResult(spec.name, spec.version, value, seconds, "ok" if math.isfinite(value) else "nan")


def score(
    model: nn.Module,
    batch: Mapping[str, torch.Tensor],
    specs: Iterable[ProxySpec],
    options: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    train_mode: bool = False,
    dropout_seed: int = 0,
    loss: str = "token-ce",
    arch: Any = None,
) -> tuple[list[ProxyResult], float]:
    """Capture once and evaluate every proxy; returns the results (in the order of ``specs``) and
    the pass's seconds. Proxies that declare an ``own_pass`` are evaluated last.

    If the shared pass itself fails, every proxy gets an ``"error"`` (or ``"transient"``) result
    naming the failure.
    """
    specs = list(specs)
    options = options or {}
    start = time.perf_counter()
    try:
        ctx = capture(model, batch, specs, train_mode=train_mode, dropout_seed=dropout_seed, loss=loss, arch=arch)
    except Exception as exc:
        seconds = time.perf_counter() - start
        message = f"shared pass failed: {type(exc).__name__}: {exc}"
        return [ProxyResult(s.name, s.version, math.nan, 0.0, failure_status(exc), message) for s in specs], seconds
    pass_seconds = time.perf_counter() - start
    # proxies with a pass of their own overwrite parameter gradients: they run after the readers of the shared pass
    order = sorted(range(len(specs)), key=lambda i: bool(specs[i].own_pass))
    results: dict[int, ProxyResult] = {i: evaluate(specs[i], ctx, options.get(specs[i].name)) for i in order}
    return [results[i] for i in range(len(specs))], pass_seconds
