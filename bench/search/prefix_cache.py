"""Block-by-block runs of position-seeded models that share the work of common prefixes.

In a position-seeded space (``space.position_seeded``, the NLU spaces) the block at layer
``p`` with index ``c`` has weights that depend only on ``(seed, p, c)``
(:mod:`spaces.nlu.init`). In ``eval()`` mode (no dropout) the hidden state after the first
``k`` blocks is therefore a function of the seed, the input batch and those ``k`` block
indices alone, and so is everything a layer's capture points record. Two architectures
that share their first ``k`` blocks share all of it.

:class:`PrefixRunner` runs architectures layer by layer from the deepest cached prefix:

* the embedding output is computed once;
* after each block it keeps, for the prefix ``blocks[:p+1]``, the block's output (the
  hidden state the next layer reads) and the layer's *record*: the tap outputs to replay
  and the per-layer memo values;
* hidden states and tap outputs live in an LRU cache bounded in bytes; per-layer memo
  values (a few floats) are kept for every prefix ever computed.

It knows nothing of proxies: :class:`bench.search.prefix.PrefixProxyScorer` turns its
records into proxy values, and the SPOS fitness (:mod:`bench.oneshot.supernet`) reads only
the last hidden state.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import nn

from spaces.taps import collect_taps, recording


def tensor_bytes(tensors: Sequence[torch.Tensor]) -> int:
    """Bytes held by ``tensors``."""
    return sum(t.numel() * t.element_size() for t in tensors)


@dataclass
class LayerRecord:
    """What one layer of one prefix produced.

    Attributes:
        taps: replayed tap kind -> the layer's output per batch.
        memo: memo key -> the layer's one-item list.
    """

    taps: dict[str, tuple[torch.Tensor, ...]] = field(default_factory=dict)
    memo: dict[Any, list] = field(default_factory=dict)


@dataclass
class PrefixPass:
    """The result of running one architecture.

    Attributes:
        hidden: the last hidden state per batch.
        records: one :class:`LayerRecord` per layer, first layer first.
        computed: layers run by this call (the others came from the cache).
        seconds: time spent running blocks (and the embedding) in this call.
        memo_seconds: time spent in per-layer memo functions in this call.
    """

    hidden: tuple[torch.Tensor, ...]
    records: list[LayerRecord]
    computed: int
    seconds: float
    memo_seconds: float


class PrefixRunner:
    """Run architectures block by block from the deepest cached prefix.

    Args:
        embed: returns the embedding output per batch (called once).
        block: ``block(position, choice)`` returns the module of that layer (in eval mode).
        mask_biases: the additive attention bias per batch (or ``None``), as the model uses.
        capture: tap kinds hooked in every block.
        replay: the subset of ``capture`` whose outputs are kept per layer.
        layer_memo: ``layer_memo(position, captured, taps)`` with ``captured`` = tap kind -> the
            layer's outputs per batch and ``taps`` = tap kind -> the block's taps that recorded
            them; returns the layer's memo entries.
        budget_bytes: upper bound of the cached hidden states and tap outputs.
    """

    def __init__(
        self,
        embed: Callable[[], tuple[torch.Tensor, ...]],
        block: Callable[[int, int], nn.Module],
        mask_biases: tuple[torch.Tensor | None, ...],
        capture: Sequence[str] = (),
        replay: Sequence[str] = (),
        layer_memo: Callable[[int, dict[str, tuple[torch.Tensor, ...]], dict[str, list[nn.Module]]], dict[Any, list]] | None = None,
        budget_bytes: int = 1 << 30,
    ) -> None:
        self._embed = embed
        self._block = block
        self._masks = mask_biases
        self._capture = tuple(capture)
        self._replay = tuple(replay)
        self._layer_memo = layer_memo
        self.budget_bytes = int(budget_bytes)
        self._root: tuple[torch.Tensor, ...] | None = None
        self._lru: OrderedDict[tuple[int, ...], tuple[tuple[torch.Tensor, ...], dict[str, tuple[torch.Tensor, ...]]]] = OrderedDict()
        self._bytes = 0
        self._memo: dict[tuple[int, ...], dict[Any, list]] = {}
        self.layers_computed = 0
        self.layers_reused = 0

    def _available(self, prefix: tuple[int, ...]) -> bool:
        """Whether the record of the prefix's last layer can be rebuilt without running it."""
        if self._replay and prefix not in self._lru:
            return False
        return self._layer_memo is None or prefix in self._memo

    def _record(self, prefix: tuple[int, ...]) -> LayerRecord:
        return LayerRecord(taps=self._lru[prefix][1] if self._replay else {}, memo=self._memo.get(prefix, {}))

    def _start(self, blocks: tuple[int, ...]) -> int:
        """Deepest k such that the hidden state after ``blocks[:k]`` is cached and every layer record below it is available."""
        start = 0
        for k in range(1, len(blocks) + 1):
            prefix = blocks[:k]
            if not self._available(prefix):
                break
            if prefix in self._lru:
                start = k
        return start

    def _store(self, prefix: tuple[int, ...], hidden: tuple[torch.Tensor, ...], taps: dict[str, tuple[torch.Tensor, ...]]) -> None:
        size = tensor_bytes(hidden) + sum(tensor_bytes(t) for t in taps.values())
        if prefix in self._lru:
            self._lru.move_to_end(prefix)
            return
        self._lru[prefix] = (hidden, taps)
        self._bytes += size
        while self._bytes > self.budget_bytes and len(self._lru) > 1:
            _, (old_hidden, old_taps) = self._lru.popitem(last=False)
            self._bytes -= tensor_bytes(old_hidden) + sum(tensor_bytes(t) for t in old_taps.values())

    def _run_block(
        self, position: int, choice: int, hidden: tuple[torch.Tensor, ...]
    ) -> tuple[tuple[torch.Tensor, ...], dict[str, tuple[torch.Tensor, ...]], dict[str, list[nn.Module]]]:
        """The block's output per batch, its captured tap outputs (kind -> one output per batch)
        and the taps that recorded them (kind -> the block's taps of that kind)."""
        module = self._block(position, choice)
        captured: dict[str, list[torch.Tensor]] = {kind: [] for kind in self._capture}
        taps = collect_taps(module) if self._capture else {}
        hooked = [tap for kind, kind_taps in taps.items() if kind in captured for tap in kind_taps]
        with recording(hooked, lambda _tap, out: out.detach()) as seen:
            with torch.no_grad():
                outputs = tuple(module(x, mask) for x, mask in zip(hidden, self._masks))
        for tap, output in seen:
            captured[tap.kind].append(output)
        return outputs, {kind: tuple(values) for kind, values in captured.items()}, {kind: list(taps.get(kind, [])) for kind in captured}

    def run(self, blocks: Sequence[int]) -> PrefixPass:
        """Run the architecture ``blocks`` (block index per layer), reusing cached prefixes."""
        blocks = tuple(int(b) for b in blocks)
        seconds = memo_seconds = 0.0
        if self._root is None:
            start_time = time.perf_counter()
            with torch.no_grad():
                self._root = tuple(self._embed())
            seconds += time.perf_counter() - start_time
        start = self._start(blocks)
        # records of the reused layers are taken before any new entry can evict them
        records = [self._record(blocks[: position + 1]) for position in range(start)]
        hidden = self._root if start == 0 else self._lru[blocks[:start]][0]
        if start:
            self._lru.move_to_end(blocks[:start])
        for position in range(start, len(blocks)):
            prefix = blocks[: position + 1]
            begin = time.perf_counter()
            hidden, captured, block_taps = self._run_block(position, blocks[position], hidden)
            seconds += time.perf_counter() - begin
            if self._layer_memo is not None and prefix not in self._memo:
                begin = time.perf_counter()
                self._memo[prefix] = self._layer_memo(position, captured, block_taps)
                memo_seconds += time.perf_counter() - begin
            taps = {kind: captured[kind] for kind in self._replay}
            records.append(LayerRecord(taps=taps, memo=self._memo.get(prefix, {})))
            self._store(prefix, hidden, taps)
        self.layers_computed += len(blocks) - start
        self.layers_reused += start
        return PrefixPass(hidden, records, len(blocks) - start, seconds, memo_seconds)

    def stats(self) -> dict[str, int]:
        """Layers computed and reused so far, cached prefixes and bytes."""
        return {
            "layers_computed": self.layers_computed,
            "layers_reused": self.layers_reused,
            "cached_prefixes": len(self._lru),
            "cached_bytes": self._bytes,
        }
