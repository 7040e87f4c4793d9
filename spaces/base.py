"""The contract every search space implements.

A search space is a finite set of architectures with an exact size, a bijection between
architectures and the integers ``0 .. size-1`` (enumeration), uniform sampling, parsing
and validation of user-written architectures, an analytic parameter count, and a model
builder that returns a ``transformers`` ``PreTrainedModel`` exposing
:meth:`proxy_taps` (the modules whose outputs the capture pass records).

Beyond that, a space declares what it offers, and the harness reads only the declarations:

* :meth:`SearchSpace.genome`: its searchable block structure (:class:`spaces.genome.Genome`),
  or ``None`` when it cannot be searched block by block;
* :meth:`SearchSpace.benchmarks`: its benchmarks of trained architectures
  (:class:`spaces.benchmark.Benchmark`), the default first;
* :meth:`SearchSpace.stratum`: the size stratum of an architecture, for analyses within
  groups of architectures of one size.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from typing import Any, Protocol

import numpy as np

from spaces.benchmark import Benchmark
from spaces.errors import SpaceError
from spaces.genome import Genome


class Architecture(Protocol):
    """An immutable, hashable architecture of one space."""

    def to_json(self) -> Any:
        """A JSON-serialisable form that :meth:`SearchSpace.parse` reads back."""

    def describe(self) -> str:
        """A short human-readable form."""


def arch_hash(arch: Architecture) -> str:
    """A stable 12-hex-digit identifier of an architecture (sha1 of its canonical JSON)."""
    text = json.dumps(arch.to_json(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def arch_json(arch: Architecture) -> str:
    """The canonical compact JSON text of an architecture."""
    return json.dumps(arch.to_json(), sort_keys=True, separators=(",", ":"))


class SearchSpace(ABC):
    """A finite space of architectures.

    Subclasses define the size, the enumeration and the model builder; sampling by
    uniform index is provided here.
    """

    name: str
    #: Model variants the builder knows; the first is the default.
    variants: tuple[str, ...] = ("default",)
    #: What :meth:`stratum` groups architectures by, for messages (e.g. ``depth x hidden size``).
    strata: str = "none (one stratum)"
    #: How proxy inputs are tokenized for this space's models (:data:`bench.inputs.TOKENIZERS`).
    tokenizer: str = "bert-wordpiece"
    #: The gradient proxies' loss when a run does not choose one (:data:`proxies.losses.LOSSES`).
    default_loss: str = "token-ce"

    @abstractmethod
    def size(self) -> int:
        """Exact number of architectures in the space."""

    @abstractmethod
    def arch_at(self, index: int) -> Architecture:
        """The architecture with enumeration index ``index`` (``0 <= index < size()``)."""

    @abstractmethod
    def index_of(self, arch: Architecture) -> int:
        """Inverse of :meth:`arch_at`."""

    @abstractmethod
    def parse(self, obj: Any) -> Architecture:
        """Validate a JSON-like object and return the architecture it describes.

        Raises:
            SpaceError: naming the offending field and the allowed values.
        """

    @abstractmethod
    def param_count(self, arch: Architecture, variant: str | None = None) -> int:
        """Number of parameters of the built model, computed analytically."""

    @abstractmethod
    def build_model(self, arch: Architecture, seed: int, variant: str | None = None):
        """A freshly initialised model for ``arch``; initialisation depends only on ``seed``."""

    def genome(self) -> Genome | None:
        """The searchable block structure, or ``None`` (the default) when the space has none."""
        return None

    def benchmarks(self) -> dict[str, Benchmark]:
        """The space's benchmarks by name, the default first; none by default."""
        return {}

    def stratum(self, arch: Architecture) -> str:
        """The size stratum of ``arch`` (see :attr:`strata`); one stratum, ``all``, by default."""
        return "all"

    @property
    def position_seeded(self) -> bool:
        """Whether models are position-seeded: the genome declares standalone blocks
        (:class:`spaces.genome.PositionSeededBlocks`)."""
        genome = self.genome()
        return genome is not None and genome.blocks is not None

    def sample(self, rng: np.random.Generator) -> Architecture:
        """One architecture drawn uniformly from the whole space."""
        return self.arch_at(_uniform_index(rng, self.size()))

    def check_variant(self, variant: str | None) -> str:
        """Return the variant to use, the default when ``None``.

        Raises:
            SpaceError: for a variant this space does not know.
        """
        if variant is None:
            return self.variants[0]
        if variant not in self.variants:
            raise SpaceError(
                f"unknown model variant {variant!r} for space {self.name!r}; "
                f"allowed: {', '.join(self.variants)}"
            )
        return variant


def _uniform_index(rng: np.random.Generator, size: int) -> int:
    """A uniform integer in ``[0, size)``, exact for sizes beyond 2**63."""
    if size < 2**62:
        return int(rng.integers(0, size))
    words = (size.bit_length() + 63) // 64
    while True:  # rejection sampling on whole 64-bit words
        value = 0
        for word in rng.integers(0, 2**63, size=words, dtype=np.int64).tolist():
            value = (value << 63) | word
        limit = (2 ** (63 * words) // size) * size
        if value < limit:
            return value % size
