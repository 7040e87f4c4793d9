"""Inference latency as in Table 2: one sequence (batch 1) of 128 tokens, median of repeats.

The input is a real WikiText-2 window (:func:`bench.inputs.proxy_batch`, seed 0). The model
runs in eval mode under ``torch.no_grad()``; ``warmup`` untimed passes come first, then
``repeats`` timed ones (``time.perf_counter``; on CUDA each pass ends with
``torch.cuda.synchronize()``). The median is reported in milliseconds.

On the CPU the passes run on **one thread** (:data:`CPU_THREADS`; the setting is restored
afterwards). On a shared 2-core machine two-thread timings of small kernels are dominated by
waiting for the other thread: a 6-layer MobileBERT-block student measured 24 ms on one
thread and 397 ms on two under a load average of 9, MiniLM-L6 68 ms and 334 ms.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch

from bench.inputs import proxy_batch
from bench.train.models import move_batch

BATCH = 1
SEQ_LEN = 128
CPU_THREADS = 1


def latency_batch(data_dir: str | None = None, seq_len: int = SEQ_LEN) -> dict[str, torch.Tensor]:
    """The fixed latency input: one real text window of ``seq_len`` tokens."""
    return proxy_batch(BATCH, seq_len, seed=0, data_dir=data_dir)


def median_latency_ms(forward: Callable[[dict[str, torch.Tensor]], object], batch: dict[str, torch.Tensor], device: torch.device, repeats: int, warmup: int = 3) -> float:
    """Median wall time of ``forward(batch)`` in milliseconds over ``repeats`` timed passes."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    batch = move_batch(batch, device)
    times = []
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(CPU_THREADS)
    try:
        with torch.no_grad():
            for i in range(warmup + repeats):
                start = time.perf_counter()
                forward(batch)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                if i >= warmup:
                    times.append((time.perf_counter() - start) * 1000.0)
    finally:
        torch.set_num_threads(threads)
    return float(statistics.median(times))
