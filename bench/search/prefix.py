"""Proxy values of NLU-space architectures with prefix-activation reuse, identical to the uncached path.

Many proxies are sums over layers of a term that depends only on the layers below, and in a
position-seeded space two architectures that share their first ``k`` blocks share those
layers' hidden states and tap outputs (:mod:`bench.search.prefix_cache`, whose
:class:`~bench.search.prefix_cache.PrefixRunner` runs architectures block by block from the
deepest cached prefix). A genetic search proposes children that share long prefixes with
their parents, and :mod:`bench.search.loop` evaluates each generation in lexicographic
order, so consecutive architectures share prefixes too.

A proxy declares how its value is assembled layer by layer when it registers:
``register_proxy(..., per_layer=PerLayer(memo=..., replay=...))`` (:mod:`proxies.per_layer`).
This module reads ``spec.per_layer`` and names no proxy. :class:`PrefixProxyScorer` calls
the proxy's own registered function through :func:`proxies.capture.evaluate` on a
:class:`~proxies.context.ProxyContext` assembled from the cached records:

``replay``
    the per-layer outputs of these tap kinds are cached per prefix and replayed, in layer
    order, into ``ctx.captured``.
``memo``
    per layer, the rule's function runs on a one-layer context; the memo entries it leaves
    (one list per key, one item each) are concatenated over the layers and handed to the
    full context, so the proxy combines them itself and no per-layer computation of a shared
    prefix is repeated. ``ctx.num_params`` is :meth:`space.param_count`, the same count the
    built model has; ``ctx.model`` is ``None``.

Gradient-based proxies cannot reuse prefixes (their backward pass runs through every
layer), nor can train-mode passes (dropout masks depend on the whole pass);
:func:`prefix_unsupported` says why a proxy cannot be scored this way.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from types import MappingProxyType
from typing import Any, Mapping


import torch
from torch import nn

from bench.search.prefix_cache import PrefixRunner, tensor_bytes
from bench.store import schema
from proxies.context import ProxyContext
from proxies.per_layer import PerLayer

log = logging.getLogger(__name__)


def prefix_proxies() -> list[str]:
    """Names of the registered proxies with a per-layer rule, sorted."""
    from proxies import list_proxies

    return [spec.name for spec in list_proxies() if spec.per_layer is not None]


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
    if spec.per_layer is None:
        return f"proxy {spec.name} has no per-layer rule (only {', '.join(prefix_proxies())})"
    return None


class PrefixProxyScorer:
    """Proxy values of NLU-space architectures with prefix reuse, as rows like :func:`bench.scoring.runner.score_task`'s.

    Args:
        space: a position-seeded space.
        settings: the run settings (batch, text, options) of the uncached path.
        proxy: a gradient-free proxy registered with a per-layer rule (``spec.per_layer``).
        seed: the run seed (model initialisation ``bench.scoring.runner.init_seed``).
        budget_bytes: bound of the activation cache.
        block_cache_bytes: bound of the parameters of the built blocks kept for reuse.

    Raises:
        ValueError: when prefix reuse cannot score the proxy (see :func:`prefix_unsupported`).
    """

    def __init__(
        self, space, settings, proxy: str, seed: int, budget_bytes: int = 1 << 30, block_cache_bytes: int = 256 << 20
    ) -> None:
        from bench.scoring.score import init_seed, space_input
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
        self.rule: PerLayer = self.spec.per_layer
        self.batch = space_input(settings)
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
        self._block_bytes += tensor_bytes(list(module.parameters()))
        while self._block_bytes > self._block_budget and len(self._blocks) > 1:
            _, old = self._blocks.popitem(last=False)
            self._block_bytes -= tensor_bytes(list(old.parameters()))
        return module

    def _context(
        self,
        captured: Mapping[str, list[torch.Tensor]],
        layers: Mapping[str, list[int]],
        memo: dict,
        output: torch.Tensor,
        num_params: int,
        arch: Any,
        taps: Mapping[str, list[nn.Module]] | None = None,
    ) -> ProxyContext:
        """A context without a model, as the proxy's function reads it."""
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
            captured_taps=MappingProxyType(dict(taps or {})),
        )

    def _layer_memo(
        self, position: int, captured: dict[str, tuple[torch.Tensor, ...]], taps: dict[str, list[nn.Module]]
    ) -> dict[Any, list]:
        """The memo entries the rule's ``memo`` function leaves on a one-layer context.

        Raises:
            ValueError: for an entry that is not a list of one item.
        """
        ctx = self._context(
            {k: [v[0]] for k, v in captured.items()}, {k: [position] for k in captured}, {}, torch.empty(0), 0, None, taps
        )
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
        return [schema.proxy_row(self.space.name, self.space.index_of(arch), arch_hash(arch), arch_json(arch), self.seed, result, pass_seconds)]
