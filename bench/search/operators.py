"""The search's settings and operators: uniform feasible sampling, uniform crossover, mutation
and breeding of one generation, for any space that declares a genome (:class:`spaces.genome.Genome`).

Breeding (paper Sec. 6.2.1; the evolutionary searcher of the reference code, ra225/W-PCA
``spos.py``, itself SPOS's): a child takes two parents drawn uniformly from the parents and,
with probability ``crossover``, inherits each gene from either parent with probability 1/2
(uniform crossover), otherwise copies the first; then every gene is replaced, with
probability ``mutation``, by a value drawn uniformly from all ``genome.choices`` (the
reference's mutation). A child that is over the parameter limit, or that was evaluated
before, is discarded without being scored and another is bred (at most ``10 × population``
tries, as the reference); remaining slots are filled with new feasible random architectures.

Every random choice comes from the generator passed in, in a fixed order, so a generation
is a function of that generator, the parents and the architectures seen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from bench.errors import UserError

MAX_BREED_TRIES = 10  # × population, as the reference's max_iters
MAX_SAMPLE_DRAWS = 200_000


@dataclass(frozen=True)
class GAParams:
    """Settings of a search.

    Attributes:
        population: architectures scored per generation (paper: 50).
        generations: number of generations (paper: 40).
        crossover: probability that a child is bred by uniform crossover (paper: 1).
        mutation: per-gene (per-layer) mutation probability (paper: 0.1).
        select: number of best architectures that parent the next generation.
    """

    population: int = 50
    generations: int = 40
    crossover: float = 1.0
    mutation: float = 0.1
    select: int = 10

    def check(self) -> None:
        """Raises UserError for settings out of range."""
        if self.population < 1:
            raise UserError(f"--population must be >= 1, got {self.population}")
        if self.generations < 1:
            raise UserError(f"--generations must be >= 1, got {self.generations}")
        if not 0.0 <= self.crossover <= 1.0:
            raise UserError(f"--crossover is a probability in [0, 1], got {self.crossover}")
        if not 0.0 <= self.mutation <= 1.0:
            raise UserError(f"--mutation is a probability in [0, 1], got {self.mutation}")
        if self.select < 1:
            raise UserError(f"--select must be >= 1, got {self.select}")


def sample_feasible(space, rng: np.random.Generator, count: int, seen: set) -> list:
    """``count`` new (not in ``seen``), distinct, feasible architectures drawn uniformly.

    Uniform draws over the whole space (``space.sample``), rejected when over the genome's
    parameter limit or seen: the result is uniform over the feasible architectures not seen yet.

    Args:
        space: a space that declares a genome.

    Raises:
        UserError: when ``MAX_SAMPLE_DRAWS`` draws per wanted architecture do not suffice.
    """
    genome = space.genome()
    found: list = []
    taken = set(seen)
    draws = 0
    while len(found) < count:
        draws += 1
        if draws > MAX_SAMPLE_DRAWS * max(count, 1):
            raise UserError(f"{space.name}: found only {len(found)} of {count} new feasible architectures; the space is exhausted")
        arch = space.sample(rng)
        if arch in taken or not genome.is_feasible(arch):
            continue
        taken.add(arch)
        found.append(arch)
    return found


def uniform_crossover(rng: np.random.Generator, first: tuple[int, ...], second: tuple[int, ...]) -> tuple[int, ...]:
    """Each gene from ``first`` or ``second`` with probability 1/2."""
    take_first = rng.random(len(first)) < 0.5
    return tuple(a if t else b for a, b, t in zip(first, second, take_first))


def mutate(rng: np.random.Generator, genes: tuple[int, ...], probability: float, choices: int) -> tuple[int, ...]:
    """Replace each gene, with ``probability``, by a value drawn uniformly from ``0 .. choices-1``."""
    hit = rng.random(len(genes)) < probability
    draws = rng.integers(0, choices, len(genes))
    return tuple(int(d) if h else g for g, d, h in zip(genes, draws, hit))


def breed(space, rng: np.random.Generator, parents: Sequence[Any], params: GAParams, seen: set) -> tuple[list, Counter]:
    """One generation of children of ``parents`` (see the module docstring).

    Per try, the generator is drawn in this order: the first parent, the second parent, the
    crossover coin, the crossover mask (when the coin says so), the mutation mask and the
    mutation values; then the random fill-ins (:func:`sample_feasible`).

    Args:
        space: a space that declares a genome.

    Returns:
        The ``params.population`` children (feasible, new, distinct) and counts of bred
        children, infeasible and duplicate children resampled, and random fill-ins.
    """
    genome = space.genome()
    stats: Counter = Counter()
    children: list = []
    taken = set(seen)
    tries = 0
    while parents and len(children) < params.population and tries < MAX_BREED_TRIES * params.population:
        tries += 1
        first = genome.genes(parents[int(rng.integers(len(parents)))])
        second = genome.genes(parents[int(rng.integers(len(parents)))])
        genes = uniform_crossover(rng, first, second) if rng.random() < params.crossover else first
        child = genome.from_genes(mutate(rng, genes, params.mutation, genome.choices))
        if not genome.is_feasible(child):
            stats["infeasible_resampled"] += 1
            continue
        if child in taken:
            stats["duplicate_resampled"] += 1
            continue
        taken.add(child)
        children.append(child)
    stats["bred"] = len(children)
    fill = sample_feasible(space, rng, params.population - len(children), taken)
    stats["random_fill"] = len(fill)
    return children + fill, stats
