"""Per-layer rules: how a proxy that is a sum over layers is assembled one layer at a time.

A proxy whose value combines per-layer terms, each depending only on the layers below,
can declare so when it registers (``register_proxy(..., per_layer=PerLayer(...))``). Prefix
reuse (:mod:`bench.search.prefix`) then computes each layer's record once per shared block
prefix and calls the proxy's own function on a context assembled from the records, so the
value is identical to the one of a full pass. Two ways, which may be combined:

``replay``
    tap kinds whose per-layer outputs the proxy reads: they are recorded per layer and
    replayed, in layer order, into ``ctx.captured`` of the full context.
``memo``
    a function of the context that fills ``ctx.memo`` (through :meth:`ProxyContext.cached`)
    with per-layer lists; called on a one-layer context (the layer's outputs of the proxy's
    ``taps``, ``num_params = 0``, no model), each entry it leaves must be a list of one item.
    The entries of all layers are concatenated, in layer order, into the full context's
    memo, where the proxy finds them already computed.

Example:
    >>> @register_proxy("mean-act", taps=("ffn_activation",), per_layer=PerLayer(replay=("ffn_activation",)))
    ... def mean_activation(ctx: ProxyContext) -> float:
    ...     '''Sum over layers of the mean FFN activation.'''
    ...     return float(sum(t.mean() for t in ctx.captured["ffn_activation"]))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from proxies.context import ProxyContext


@dataclass(frozen=True)
class PerLayer:
    """A proxy's per-layer rule (see the module docstring).

    Attributes:
        memo: fills ``ctx.memo`` with per-layer lists when called on a one-layer context.
        replay: tap kinds whose per-layer outputs are recorded and replayed into ``ctx.captured``.

    Raises:
        ValueError: for a rule with neither ``memo`` nor ``replay``.
    """

    memo: Callable[[ProxyContext], Any] | None = None
    replay: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "replay", tuple(self.replay))
        if self.memo is None and not self.replay:
            raise ValueError("a per-layer rule needs memo=, replay= or both")
