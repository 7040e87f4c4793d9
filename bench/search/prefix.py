"""Prefix-activation reuse: score NLU-space architectures block by block, sharing the work of common prefixes.

In a position-seeded space (one whose genome declares standalone blocks,
:class:`spaces.genome.PositionSeededBlocks`; the NLU spaces) the block at layer
``p`` with index ``c`` has weights that depend only on ``(seed, p, c)``
(:mod:`spaces.nlu.init`). In ``eval()`` mode (no dropout) the hidden state after the first
``k`` blocks is therefore a function of the seed, the input batch and those ``k`` block
indices alone, and so is everything a layer's capture points record. Two architectures
that share their first ``k`` blocks share all of it.

:class:`PrefixRunner` runs architectures layer by layer from the deepest cached prefix:

* the embedding output is computed once;
* after each block it keeps, for the prefix ``blocks[:p+1]``, the block's output (the
  hidden state the next layer reads) and the layer's *record*: the tap outputs a proxy
  replays and the per-layer quantities a proxy memoises;
* hidden states and tap outputs live in an LRU cache bounded in bytes; per-layer memo
  values (a few floats) are kept for every prefix ever computed.

A genetic search proposes children that share long prefixes with their parents, and
:func:`bench.search.loop.run_search` evaluates each generation in lexicographic order, so consecutive
architectures share prefixes too.

:class:`PrefixProxyScorer` turns this into proxy values that are identical to the uncached
path (:func:`bench.scoring.runner.score_task`): the proxy's own registered function is called
through :func:`proxies.capture.evaluate` on a :class:`~proxies.context.ProxyContext`
assembled from the cached records. Two kinds of rules (:data:`PREFIX_RULES`) say what a
proxy needs:

``memo``
    V-PCA and W-PCA are sums over layers of ``PCA_dim`` of the layer's FFN input, and the
    layer's term depends only on the layers below. Per layer, the proxy module's own
    per-layer function (:func:`proxies.pca.layer_pca_dims`) runs on a one-layer context;
    the memo entries it leaves (one list per key) are concatenated over the layers and
    handed to the full context, so the proxy combines them itself (``Σ_f PCA_dim``,
    ``× #params`` for W-PCA with ``#params`` = :meth:`space.param_count`, the same count
    the built model has). The eigen-solves of a shared prefix are never repeated.
``replay``
    Head confidence, softmax confidence and activation distance read per-layer tap outputs
    only: those are cached per prefix and replayed, in layer order, into the full context.

Gradient-based proxies cannot reuse prefixes (their backward pass runs through every
layer), nor can train-mode passes (dropout masks depend on the whole pass).
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrefixRule:
    """How a proxy's value is assembled from per-layer records.

    Attributes:
        memo: the proxy module's per-layer function; called on a one-layer context, the
            ``ctx.memo`` entries it leaves (lists with one item per layer) are concatenated
            over the layers into the full context's memo.
        replay: tap kinds whose per-layer outputs are cached and replayed into
            ``ctx.captured``.
    """

    memo: Callable[[Any], Any] | None = None
    replay: tuple[str, ...] = ()


def _pca_rule() -> PrefixRule:
    from proxies.pca import layer_pca_dims

    return PrefixRule(memo=layer_pca_dims)


#: Proxies whose value can be assembled from prefix records, and how.
PREFIX_RULES: dict[str, Callable[[], PrefixRule]] = {
    "v-pca": _pca_rule,
    "w-pca": _pca_rule,
    "head-confidence": lambda: PrefixRule(replay=("mixer_heads",)),
    "softmax-confidence": lambda: PrefixRule(replay=("attention_probs",)),
    "activation-distance": lambda: PrefixRule(replay=("ffn_activation",)),
}


def prefix_unsupported(space, proxy: str, train_mode: bool) -> str | None:
    """Why prefix reuse cannot score ``proxy`` on ``space``, or ``None`` when it can."""
    from proxies import get_proxy

    spec = get_proxy(proxy)
    if not space.position_seeded:
        return f"space {space.name} is not position-seeded"
    if train_mode:
        return "train-mode passes draw dropout masks over the whole pass"
    if not spec.gradient_free:
        return f"proxy {spec.name} needs gradients (its backward pass runs through every layer)"
    if spec.name not in PREFIX_RULES:
        return f"proxy {spec.name} has no prefix rule (only {', '.join(sorted(PREFIX_RULES))})"
    return None


def _nbytes(tensors: Sequence[torch.Tensor]) -> int:
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
        layer_memo: ``layer_memo(position, captured)`` with ``captured`` = tap kind -> the
            layer's outputs per batch; returns the layer's memo entries.
        budget_bytes: upper bound of the cached hidden states and tap outputs.
    """

    def __init__(
        self,
        embed: Callable[[], tuple[torch.Tensor, ...]],
        block: Callable[[int, int], nn.Module],
        mask_biases: tuple[torch.Tensor | None, ...],
        capture: Sequence[str] = (),
        replay: Sequence[str] = (),
        layer_memo: Callable[[int, dict[str, tuple[torch.Tensor, ...]]], dict[Any, list]] | None = None,
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
        size = _nbytes(hidden) + sum(_nbytes(t) for t in taps.values())
        if prefix in self._lru:
            self._lru.move_to_end(prefix)
            return
        self._lru[prefix] = (hidden, taps)
        self._bytes += size
        while self._bytes > self.budget_bytes and len(self._lru) > 1:
            _, (old_hidden, old_taps) = self._lru.popitem(last=False)
            self._bytes -= _nbytes(old_hidden) + sum(_nbytes(t) for t in old_taps.values())

    def _run_block(self, position: int, choice: int, hidden: tuple[torch.Tensor, ...]):
        module = self._block(position, choice)
        captured: dict[str, list[torch.Tensor]] = {kind: [] for kind in self._capture}
        handles = []
        if self._capture:
            from spaces.taps import collect_taps

            for kind, taps in collect_taps(module).items():
                if kind in captured:
                    for tap in taps:
                        handles.append(tap.register_forward_hook(lambda m, i, out, kind=kind: captured[kind].append(out.detach())))
        try:
            with torch.no_grad():
                outputs = tuple(module(x, mask) for x, mask in zip(hidden, self._masks))
        finally:
            for handle in handles:
                handle.remove()
        return outputs, {kind: tuple(values) for kind, values in captured.items()}

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
            hidden, captured = self._run_block(position, blocks[position], hidden)
            seconds += time.perf_counter() - begin
            if self._layer_memo is not None and prefix not in self._memo:
                begin = time.perf_counter()
                self._memo[prefix] = self._layer_memo(position, captured)
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


class PrefixProxyScorer:
    """Proxy values of NLU-space architectures with prefix reuse, as rows like :func:`bench.scoring.runner.score_task`'s.

    Args:
        space: a position-seeded space.
        settings: the run settings (batch, text, options) of the uncached path.
        proxy: a proxy with a rule in :data:`PREFIX_RULES`.
        seed: the run seed (model initialisation ``bench.scoring.runner.init_seed``).
        budget_bytes: bound of the activation cache.
        block_cache_bytes: bound of the parameters of the built blocks kept for reuse.

    Raises:
        ValueError: when prefix reuse cannot score the proxy (see :func:`prefix_unsupported`).
    """

    def __init__(self, space, settings, proxy: str, seed: int, budget_bytes: int = 1 << 30, block_cache_bytes: int = 256 << 20) -> None:
        from bench.scoring.runner import _batch, init_seed
        from proxies import get_proxy

        reason = prefix_unsupported(space, proxy, settings.train_mode)
        if reason:
            raise ValueError(f"prefix reuse cannot score {proxy}: {reason}")
        self.space = space
        self.genome = space.genome()
        self.settings = settings
        self.spec = get_proxy(proxy)
        self.seed = seed
        self.options = dict(settings.options.get(self.spec.name, self.spec.options))
        self.rule = PREFIX_RULES[self.spec.name]()
        self.batch = _batch(settings.batch_size, settings.seq_len, settings.sample_seed, settings.text, settings.data_dir)
        self._init_seed = init_seed(space, seed, "")
        self._blocks: OrderedDict[tuple[int, int], nn.Module] = OrderedDict()
        self._block_bytes = 0
        self._block_budget = block_cache_bytes
        capture = tuple(sorted(set(self.spec.taps)))
        self.runner = PrefixRunner(
            embed=self._embed,
            block=self._block,
            mask_biases=(self.genome.blocks.mask_bias(self.batch.get("attention_mask")),),
            capture=capture,
            replay=self.rule.replay,
            layer_memo=self._layer_memo if self.rule.memo is not None else None,
            budget_bytes=budget_bytes,
        )

    def _embed(self) -> tuple[torch.Tensor, ...]:
        module = self.genome.blocks.embeddings(self._init_seed).eval()
        return (module(self.batch["input_ids"], self.batch.get("token_type_ids")),)

    def _block(self, position: int, choice: int) -> nn.Module:
        key = (position, choice)
        if key in self._blocks:
            self._blocks.move_to_end(key)
            return self._blocks[key]
        module = self.genome.blocks.block(position, choice, self._init_seed).eval()
        self._blocks[key] = module
        self._block_bytes += _nbytes(list(module.parameters()))
        while self._block_bytes > self._block_budget and len(self._blocks) > 1:
            _, old = self._blocks.popitem(last=False)
            self._block_bytes -= _nbytes(list(old.parameters()))
        return module

    def _context(self, captured: Mapping[str, list[torch.Tensor]], layers: Mapping[str, list[int]], memo: dict, output: torch.Tensor, num_params: int, arch: Any):
        from proxies.context import ProxyContext

        return ProxyContext(
            model=None,
            batch=MappingProxyType(dict(self.batch)),
            captured=MappingProxyType(dict(captured)),
            captured_layers=MappingProxyType(dict(layers)),
            grads=MappingProxyType({}),
            output=output,
            loss=None,
            num_params=num_params,
            options=MappingProxyType(self.options),
            arch=arch,
            memo=memo,
        )

    def _layer_memo(self, position: int, captured: dict[str, tuple[torch.Tensor, ...]]) -> dict[Any, list]:
        ctx = self._context({k: [v[0]] for k, v in captured.items()}, {k: [position] for k in captured}, {}, torch.empty(0), 0, None)
        self.rule.memo(ctx)
        for key, value in ctx.memo.items():
            if not isinstance(value, list) or len(value) != 1:
                raise ValueError(f"memo entry {key!r} of {self.spec.name} is not a per-layer list")
        return dict(ctx.memo)

    def score(self, arch) -> list[dict[str, Any]]:
        """The result row of ``arch`` (fields of :data:`bench.store.runs.ROW_FIELDS`)."""
        from proxies.capture import ProxyResult, evaluate
        from spaces import arch_hash, arch_json

        pass_seconds = math.nan
        try:
            prefix_pass = self.runner.run(self.genome.genes(arch))
            pass_seconds = prefix_pass.seconds
            depth = len(prefix_pass.records)
            captured: dict[str, list[torch.Tensor]] = {kind: [] for kind in self.spec.taps}
            for kind in self.rule.replay:
                captured[kind] = [record.taps[kind][0] for record in prefix_pass.records]
            memo: dict[Any, list] = {}
            for record in prefix_pass.records:
                for key, value in record.memo.items():
                    memo.setdefault(key, []).extend(value)
            layers = {kind: (list(range(depth)) if values else []) for kind, values in captured.items()}
            ctx = self._context(captured, layers, memo, prefix_pass.hidden[0], self.space.param_count(arch), arch)
            result = evaluate(self.spec, ctx, self.options)
            result = ProxyResult(result.proxy, result.version, result.value, result.seconds + prefix_pass.memo_seconds, result.status, result.error)
        except Exception as exc:  # recorded like the uncached path's model failures
            result = ProxyResult(self.spec.name, self.spec.version, math.nan, 0.0, "error", f"model failed: {type(exc).__name__}: {exc}")
        return [
            {
                "space": self.space.name,
                "arch_id": self.space.index_of(arch),
                "arch_hash": arch_hash(arch),
                "arch": arch_json(arch),
                "proxy": result.proxy,
                "proxy_version": result.version,
                "seed": self.seed,
                "value": result.value,
                "seconds": result.seconds,
                "pass_seconds": pass_seconds,
                "status": result.status,
                "error": result.error,
            }
        ]
