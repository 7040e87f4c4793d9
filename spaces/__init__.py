"""Search spaces, found by name.

Example:
    >>> from spaces import get_space
    >>> space = get_space("flexibert")
    >>> space.size()
    10621440

A new space subclasses :class:`SearchSpace`, declares what it offers (:meth:`SearchSpace.genome`,
:meth:`SearchSpace.benchmarks`, :meth:`SearchSpace.stratum`) and registers a factory with
:func:`register_space`; the harness reads only the declarations.
"""

from __future__ import annotations

from typing import Callable

from spaces.errors import SpaceError
from spaces.base import Architecture, SearchSpace, arch_hash, arch_json
from spaces.benchmark import Benchmark, BenchmarkEntry
from spaces.genome import Genome, ParamLimit, PositionSeededBlocks

_FACTORIES: dict[str, Callable[[], SearchSpace]] = {}
_INSTANCES: dict[str, SearchSpace] = {}


def register_space(name: str) -> Callable[[Callable[[], SearchSpace]], Callable[[], SearchSpace]]:
    """Register a zero-argument factory that builds the space called ``name``."""

    def wrap(factory: Callable[[], SearchSpace]) -> Callable[[], SearchSpace]:
        if name in _FACTORIES:
            raise ValueError(f"search space {name!r} is already registered")
        _FACTORIES[name] = factory
        return factory

    return wrap


def list_spaces() -> list[str]:
    """Names of all registered spaces, sorted."""
    return sorted(_FACTORIES)


def get_space(name: str) -> SearchSpace:
    """The space called ``name``.

    Raises:
        SpaceError: for an unknown name, listing the known ones.
    """
    if name not in _FACTORIES:
        raise SpaceError(f"unknown search space {name!r}; known spaces: {', '.join(list_spaces())}")
    if name not in _INSTANCES:
        _INSTANCES[name] = _FACTORIES[name]()
    return _INSTANCES[name]


from spaces import flexibert  # noqa: E402,F401  (registers the built-in spaces)
from spaces import nlu  # noqa
from spaces import lts  # noqa

__all__ = [
    "Architecture",
    "Benchmark",
    "BenchmarkEntry",
    "Genome",
    "ParamLimit",
    "PositionSeededBlocks",
    "SearchSpace",
    "SpaceError",
    "arch_hash",
    "arch_json",
    "get_space",
    "list_spaces",
    "register_space",
]
