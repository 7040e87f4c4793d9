"""Declarations of a space's searchable block structure.

A space that can be searched block by block returns a :class:`Genome` from
:meth:`spaces.base.SearchSpace.genome`. The genetic and random search, the SPOS supernet and
prefix-activation reuse read only this declaration, so a new space that declares one is
searchable without any change to the drivers.

Example (a space of ``depth`` layers, each one of ``k`` blocks, under a parameter limit):

    >>> Genome(depth=4, choices=3, genes=lambda arch: arch.blocks, from_genes=MyArch,
    ...        limit=ParamLimit(1_000_000, count=space.param_count, accounting="built model"))
    ... # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from spaces.errors import SpaceError


@dataclass(frozen=True)
class ParamLimit:
    """An upper limit on a parameter count that every searched architecture respects.

    Attributes:
        limit: the largest allowed count (inclusive).
        count: the count the limit applies to, for an architecture of the space.
        accounting: how ``count`` counts, recorded in a search's manifest (``limit_accounting``).
        check: optionally, a function that returns the architecture when it is within the
            limit and otherwise raises :class:`~spaces.errors.SpaceError` with a message that
            helps fix it; without one, :meth:`Genome.check_feasible` states the count and the limit.
    """

    limit: int
    count: Callable[[Any], int]
    accounting: str
    check: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class PositionSeededBlocks:
    """The standalone parts of a position-seeded space's models.

    Contract: for every architecture ``a`` and seed ``s``, ``space.build_model(a, s)`` computes
    ``x = embeddings(s)(input_ids, token_type_ids)``, then for each layer ``p``
    ``x = block(p, genes(a)[p], s)(x, mask_bias(attention_mask))``, and returns ``x`` as its
    last hidden state; each part's initial weights depend only on ``s`` and its own position
    and choice. Callers therefore pass a seed that does not depend on the architecture
    (``bench.scoring.runner.init_seed``), and prefix reuse and a supernet can share blocks
    between architectures.

    Attributes:
        embeddings: ``seed -> module``, the initialised embedding block (on the CPU).
        block: ``(position, choice, seed) -> module``, the initialised block with gene
            ``choice`` at layer ``position`` (on the CPU); raises SpaceError out of range.
        mask_bias: ``attention_mask or None -> what every block takes as its second argument``.
        lm_logits: ``(embedding module, hidden states) -> vocabulary logits`` through a decoder
            tied to the word embeddings, or ``None`` when the space has none (the SPOS
            supernet needs one).
    """

    embeddings: Callable[[int], Any]
    block: Callable[[int, int, int], Any]
    mask_bias: Callable[[Any], Any]
    lm_logits: Callable[[Any, Any], Any] | None = None


@dataclass(frozen=True)
class Genome:
    """A fixed-length genome: every architecture is ``depth`` genes, each in ``0 .. choices-1``.

    Attributes:
        depth: number of genes (layers).
        choices: number of values every gene can take (candidate blocks per layer).
        genes: ``arch -> tuple of depth ints``; sorting architectures by their genes puts
            architectures that share prefixes next to each other.
        from_genes: ``genes -> arch``, the inverse of ``genes`` for any sequence of ``depth``
            ints in range (feasible or not).
        limit: the parameter limit the search respects, or ``None`` when every architecture
            is feasible.
        blocks: the models' standalone parts when the space is position-seeded, else ``None``.
    """

    depth: int
    choices: int
    genes: Callable[[Any], tuple[int, ...]]
    from_genes: Callable[[Sequence[int]], Any]
    limit: ParamLimit | None = None
    blocks: PositionSeededBlocks | None = None

    def is_feasible(self, arch: Any) -> bool:
        """Whether ``arch`` respects the parameter limit (always, without a limit)."""
        return self.limit is None or self.limit.count(arch) <= self.limit.limit

    def check_feasible(self, arch: Any) -> Any:
        """Return ``arch`` when it respects the parameter limit.

        Raises:
            SpaceError: for an architecture over the limit (the space's own message when its
                limit declares a ``check``).
        """
        if self.limit is None:
            return arch
        if self.limit.check is not None:
            return self.limit.check(arch)
        count = self.limit.count(arch)
        if count > self.limit.limit:
            raise SpaceError(f"architecture {arch.to_json()} has {count:,} parameters ({self.limit.accounting}), over the limit of {self.limit.limit:,}")
        return arch
