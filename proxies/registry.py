"""The proxy registry.

A proxy is a function of a prepared :class:`~proxies.context.ProxyContext` that returns
one number. Registering it declares what the shared capture pass must record for it, and
that is all it takes for the proxy to appear in ``bench list proxies``, in ``--proxies``
selection, in result tables and in reports.

Example:
    >>> from proxies.registry import register_proxy
    >>> @register_proxy("mean-act", taps=("ffn_activation",), label="Mean activation")
    ... def mean_activation(ctx: ProxyContext) -> float:
    ...     '''Mean of all FFN activations.'''
    ...     return float(sum(t.mean() for t in ctx.captured["ffn_activation"]))

A proxy that is a sum over layers also declares how it is assembled layer by layer
(``per_layer=PerLayer(...)``, :mod:`proxies.per_layer`), which lets prefix reuse score it.

User proxies register the same way from their own module, loaded with ``--plugin MODULE``
or through the ``proxybench.proxies`` entry-point group.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable

from proxies.context import ProxyContext
from proxies.per_layer import PerLayer
from spaces.taps import TAP_KINDS

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "proxybench.proxies"

#: A proxy function: one number from a prepared context.
ProxyFn = Callable[[ProxyContext], float]


class ProxyError(LookupError):
    """An unknown proxy name, a bad pattern, a bad option or a plug-in that cannot load."""

    def __str__(self) -> str:  # LookupError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class ProxySpec:
    """A registered proxy and what it needs.

    Attributes:
        name: the canonical name used on the command line and in results.
        fn: the proxy function, ``fn(ctx) -> float``.
        aliases: other accepted names.
        label: display name for tables (e.g. ``"W-PCA"``).
        needs_grad: whether the shared pass must run a backward pass.
        needs_forward: whether the proxy reads anything of the forward pass (``False``
            for proxies of the model's structure alone, such as the parameter count).
        needs_flops: count the floating-point operations of the forward pass
            (``torch.utils.flop_counter``) into ``ctx.flops``.
        taps: tap kinds (see :mod:`spaces.taps`) whose outputs the proxy reads.
        tap_grads: tap kinds whose output gradients the proxy reads (implies a backward).
        higher_is_better: whether a larger value predicts a better architecture.
        version: bumped when the definition changes; part of every result row's key.
        options: tunable settings and their defaults, passed as ``ctx.options``.
        description: one-line summary (the first line of the docstring).
        per_layer: how the value is assembled layer by layer (:class:`~proxies.per_layer.PerLayer`),
            or ``None`` for a proxy prefix reuse cannot score.
        own_pass: for a proxy that runs passes of its own on ``ctx.model`` and ``ctx.batch``
            (synflow's float64 |θ| model, GraSP's Hessian-gradient product, ZiCo's per-half
            gradients), what that pass is; ``""`` for a proxy that reads only the shared pass.
            Such proxies are evaluated after every other proxy of the pass, so the gradients
            they overwrite have been read.
        own_backward: whether that own pass back-propagates.
        in_all: whether ``--proxies all`` selects the proxy (``False`` for definitions kept to
            reproduce published numbers, selected by name or glob).
    """

    name: str
    fn: ProxyFn
    aliases: tuple[str, ...] = ()
    label: str = ""
    needs_grad: bool = False
    needs_forward: bool = True
    needs_flops: bool = False
    taps: frozenset[str] = frozenset()
    tap_grads: frozenset[str] = frozenset()
    higher_is_better: bool = True
    version: str = "1"
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    per_layer: PerLayer | None = None
    own_pass: str = ""
    own_backward: bool = False
    in_all: bool = True

    @property
    def gradient_free(self) -> bool:
        return not (self.needs_grad or self.tap_grads or self.own_backward)


class ProxyRegistry:
    """Name -> :class:`ProxySpec`, with aliases, pattern selection and plug-in loading."""

    def __init__(self) -> None:
        self._specs: dict[str, ProxySpec] = {}
        self._aliases: dict[str, str] = {}
        self._entry_points_loaded = False

    def register(self, spec: ProxySpec) -> ProxySpec:
        for key in (spec.name, *spec.aliases):
            if key in self._specs or key in self._aliases:
                raise ProxyError(f"proxy name {key!r} is already registered")
        self._specs[spec.name] = spec
        for alias in spec.aliases:
            self._aliases[alias] = spec.name
        return spec

    def unregister(self, name: str) -> None:
        """Remove a proxy (used by tests and by plug-ins that replace a definition)."""
        spec = self._specs.pop(name)
        for alias in spec.aliases:
            self._aliases.pop(alias, None)

    def names(self) -> list[str]:
        self.load_entry_points()
        return sorted(self._specs)

    def specs(self) -> list[ProxySpec]:
        return [self._specs[name] for name in self.names()]

    def get(self, name: str) -> ProxySpec:
        """The proxy called ``name`` (or one of its aliases).

        Raises:
            ProxyError: naming the unknown proxy, the closest known names and all known names.
        """
        self.load_entry_points()
        key = self._aliases.get(name, name)
        if key in self._specs:
            return self._specs[key]
        known = sorted([*self._specs, *self._aliases])
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ProxyError(f"unknown proxy {name!r}; {hint}known proxies: {', '.join(sorted(self._specs))}")

    def select(self, patterns: Iterable[str], exclude: Iterable[str] = ()) -> list[ProxySpec]:
        """Proxies matching any of ``patterns`` (names, aliases, ``all`` or shell globs) minus ``exclude``.

        Raises:
            ProxyError: for a name or pattern that matches nothing.
        """
        self.load_entry_points()
        chosen: list[str] = []
        for pattern in patterns:
            for name in self._match(pattern):
                if name not in chosen:
                    chosen.append(name)
        dropped = {name for pattern in exclude for name in self._match(pattern)}
        selected = [self._specs[name] for name in chosen if name not in dropped]
        if not selected:
            raise ProxyError("no proxy left after --exclude; known proxies: " + ", ".join(sorted(self._specs)))
        return selected

    def _match(self, pattern: str) -> list[str]:
        if pattern == "all":
            return sorted(name for name, spec in self._specs.items() if spec.in_all)
        if any(ch in pattern for ch in "*?["):
            hits = sorted(n for n in self._specs if fnmatch.fnmatchcase(n, pattern))
            if not hits:
                raise ProxyError(f"pattern {pattern!r} matches no proxy; known proxies: {', '.join(sorted(self._specs))}")
            return hits
        return [self.get(pattern).name]

    def load_entry_points(self) -> None:
        """Import every module registered under the ``proxybench.proxies`` entry-point group (once)."""
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            try:
                entry.load()
            except Exception as exc:  # a broken plug-in must not hide the built-in proxies
                log.warning("proxy plug-in %s (%s) failed to load: %s", entry.name, entry.value, exc)


REGISTRY = ProxyRegistry()


def register_proxy(
    name: str,
    *aliases: str,
    label: str | None = None,
    needs_grad: bool = False,
    needs_forward: bool = True,
    needs_flops: bool = False,
    taps: Iterable[str] = (),
    tap_grads: Iterable[str] = (),
    higher_is_better: bool = True,
    version: str = "1",
    options: dict[str, Any] | None = None,
    per_layer: PerLayer | None = None,
    own_pass: str = "",
    own_backward: bool = False,
    in_all: bool = True,
) -> Callable[[ProxyFn], ProxyFn]:
    """Decorator registering ``fn(ctx) -> float`` as the proxy ``name``.

    Args:
        name: canonical name (lower case, dashes), e.g. ``"w-pca"``.
        *aliases: other names accepted on the command line.
        label: display name for tables; defaults to ``name``.
        needs_grad: run a backward pass of the shared loss before calling the proxy.
        needs_forward: ``False`` for proxies that read only the model's structure.
        needs_flops: count the forward pass's floating-point operations into ``ctx.flops``.
        taps: tap kinds whose outputs the proxy reads.
        tap_grads: tap kinds whose gradients the proxy reads.
        higher_is_better: direction of the proxy.
        version: definition version, stored with every result.
        options: tunable settings with defaults, available as ``ctx.options``.
        per_layer: the proxy's per-layer rule (:mod:`proxies.per_layer`), for proxies that
            are sums over layers; prefix reuse scores only proxies with one.
        own_pass: what the proxy's own pass on ``ctx.model`` is, for a proxy that runs one
            (it then needs no shared forward unless it also declares taps or gradients).
        own_backward: whether that own pass back-propagates (the proxy is then not gradient-free).
        in_all: whether ``--proxies all`` selects it (``False``: only by name or glob).

    Raises:
        ProxyError: for an unknown tap kind in ``taps``, ``tap_grads`` or ``per_layer.replay``
            (naming it and the known kinds, :data:`spaces.taps.TAP_KINDS`), a replayed kind
            the proxy does not read, or (when decorating) a name or alias that is taken.
    """
    taps, tap_grads = tuple(taps), tuple(tap_grads)
    _check_taps(name, "taps", taps)
    _check_taps(name, "tap_grads", tap_grads)
    if per_layer is not None:
        _check_taps(name, "per_layer.replay", per_layer.replay)
        unread = sorted(set(per_layer.replay) - set(taps) - set(tap_grads))
        if unread:
            raise ProxyError(
                f"proxy {name!r}: per_layer.replay names {', '.join(unread)}, which the proxy does not read"
                f" (taps: {', '.join(taps) or 'none'})"
            )

    def wrap(fn: ProxyFn) -> ProxyFn:
        doc = (fn.__doc__ or "").strip().splitlines()
        REGISTRY.register(
            ProxySpec(
                name=name,
                fn=fn,
                aliases=tuple(aliases),
                label=label or name,
                needs_grad=needs_grad,
                needs_forward=(needs_forward and not own_pass) or needs_flops or needs_grad or bool(taps) or bool(tap_grads),
                needs_flops=needs_flops,
                taps=frozenset(taps) | frozenset(tap_grads),
                tap_grads=frozenset(tap_grads),
                higher_is_better=higher_is_better,
                version=version,
                options=dict(options or {}),
                description=doc[0] if doc else "",
                per_layer=per_layer,
                own_pass=own_pass,
                own_backward=own_backward,
                in_all=in_all,
            )
        )
        return fn

    return wrap


def _check_taps(proxy: str, argument: str, kinds: tuple[str, ...]) -> None:
    """Raise :class:`ProxyError` naming the first kind of ``kinds`` that is not a known tap kind."""
    for kind in kinds:
        if kind not in TAP_KINDS:
            close = difflib.get_close_matches(kind, TAP_KINDS, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ProxyError(f"proxy {proxy!r}: unknown tap {kind!r} in {argument}; {hint}known taps: {', '.join(TAP_KINDS)}")


def get_proxy(name: str) -> ProxySpec:
    """The registered proxy called ``name``; see :meth:`ProxyRegistry.get`."""
    return REGISTRY.get(name)


def list_proxies() -> list[ProxySpec]:
    """All registered proxies, sorted by name."""
    return REGISTRY.specs()


def select_proxies(patterns: Iterable[str], exclude: Iterable[str] = ()) -> list[ProxySpec]:
    """See :meth:`ProxyRegistry.select`."""
    return REGISTRY.select(patterns, exclude)


def load_plugins(modules: Iterable[str]) -> None:
    """Import user modules that register proxies (``--plugin MODULE``).

    Raises:
        ProxyError: naming a module that cannot be imported.
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise ProxyError(f"cannot load proxy plug-in {module!r}: {type(exc).__name__}: {exc}") from exc


def resolve_options(specs: Iterable[ProxySpec], overrides: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each proxy's options: its defaults updated by ``overrides`` of the form ``{"proxy.option": "value"}``.

    Values are converted to the type of the default.

    Raises:
        ProxyError: for an override naming an unselected proxy or an unknown option, or a bad value.
    """
    specs = list(specs)
    resolved = {spec.name: dict(spec.options) for spec in specs}
    for key, text in overrides.items():
        proxy, _, option = key.partition(".")
        if proxy not in resolved and proxy in REGISTRY._aliases:
            proxy = REGISTRY._aliases[proxy]
        if proxy not in resolved:
            raise ProxyError(f"--proxy-option {key}: proxy {proxy!r} is not selected; selected: {', '.join(resolved)}")
        if option not in resolved[proxy]:
            known = ", ".join(resolved[proxy]) or "none"
            raise ProxyError(f"--proxy-option {key}: {proxy} has no option {option!r}; its options: {known}")
        default = resolved[proxy][option]
        try:
            value: Any = (text.lower() in ("1", "true", "yes")) if isinstance(default, bool) else type(default)(text)
        except ValueError as exc:
            raise ProxyError(f"--proxy-option {key}={text}: expected a {type(default).__name__}") from exc
        resolved[proxy][option] = value
    return resolved
