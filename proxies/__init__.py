"""Training-free proxies: the registry, the shared capture pass and the built-in proxies.

Importing this package registers every built-in proxy.
"""

from proxies.capture import ProxyResult, capture, score
from proxies.context import ProxyContext
from proxies.per_layer import PerLayer
from proxies.registry import (
    ProxyError,
    ProxySpec,
    get_proxy,
    list_proxies,
    load_plugins,
    register_proxy,
    resolve_options,
    select_proxies,
)

from proxies import (  # noqa: E402,F401  (register the built-in proxies)
    activation,
    baselines,
    fisher,
    grasp,
    heads,
    jacobian,
    layer_measures,
    lpzero,
    meco,
    pca,
    published,
    size,
    synaptic,
    synflow,
    zen,
    zico,
)

__all__ = [
    "PerLayer",
    "ProxyContext",
    "ProxyError",
    "ProxyResult",
    "ProxySpec",
    "capture",
    "get_proxy",
    "list_proxies",
    "load_plugins",
    "register_proxy",
    "resolve_options",
    "score",
    "select_proxies",
]
