"""Architectures of the W-PCA NLU search space (paper Sec. 4, 6.2.1; Appendix E.1).

An architecture is a sequence of ``m`` block indices, one per encoder layer, each in
``0 .. 2n-1`` with ``n = 6``:

* indices ``0 .. 5`` choose a BERT block whose FFN width is ``unit · (i + 1)``;
* indices ``6 .. 11`` choose a MobileBERT (bottleneck) block whose FFN width is
  ``unit · (i − 5)``;

with ``unit = 132`` (a quarter of the hidden size 528) for the small and tiny spaces and
``264`` for the large one. The space therefore holds ``(2n)^m`` architectures: ``12^12`` for
``m = 12`` and ``12^6`` for ``m = 6``.

The JSON form is the plain list of indices, e.g. ``[6, 6, 7, 11, 0, 3, 8, 8, 9, 10, 11, 11]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Any

from spaces.errors import SpaceError

#: Candidate FFN widths per block family (``n`` in the paper).
WIDTH_CHOICES = 6
#: Candidate blocks per layer (``2n``).
NUM_CHOICES = 2 * WIDTH_CHOICES
BERT = "bert"
MOBILEBERT = "mobilebert"


def block_type(index: int) -> str:
    """``"bert"`` for indices 0..5, ``"mobilebert"`` for 6..11."""
    _check_index_range(index)
    return BERT if index < WIDTH_CHOICES else MOBILEBERT


def width_multiple(index: int) -> int:
    """The FFN width of block ``index`` in units: ``i + 1`` (BERT) or ``i − 5`` (MobileBERT)."""
    _check_index_range(index)
    return index % WIDTH_CHOICES + 1


def ffn_width(index: int, unit: int) -> int:
    """FFN width of block ``index`` when the width unit is ``unit`` (132 or 264)."""
    return unit * width_multiple(index)


def _check_index_range(index: int) -> None:
    if not 0 <= index < NUM_CHOICES:
        raise ValueError(f"block index {index} is out of range; allowed: 0..{NUM_CHOICES - 1}")


@dataclass(frozen=True)
class NluArch:
    """An NLU-space architecture: the block index of every encoder layer, first layer first.

    Attributes:
        blocks: one index in ``0 .. 11`` per layer (any iterable is stored as a tuple).
    """

    blocks: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple(int(b) for b in self.blocks))

    def to_json(self) -> list[int]:
        """The plain list of block indices."""
        return list(self.blocks)

    @property
    def depth(self) -> int:
        """Number of encoder layers ``m``."""
        return len(self.blocks)

    def block_types(self) -> tuple[str, ...]:
        """``"bert"`` or ``"mobilebert"`` per layer."""
        return tuple(block_type(b) for b in self.blocks)

    def describe(self) -> str:
        """A short human-readable form: ``B<k>`` / ``M<k>`` per layer, ``k`` the width in units.

        Example: ``[0, 5, 6, 11]`` is ``B1 B6 M1 M6``.
        """
        return " ".join(f"{'B' if block_type(b) == BERT else 'M'}{width_multiple(b)}" for b in self.blocks)


def parse_arch(obj: Any, depth: int) -> NluArch:
    """Validate a list of ``depth`` block indices and return the architecture.

    An :class:`NluArch` is validated the same way.

    Raises:
        SpaceError: for a non-list, a wrong length, a non-integer or an out-of-range index;
            the message names the position (counted from 0) and the allowed values.
    """
    if isinstance(obj, NluArch):
        obj = list(obj.blocks)
    if not isinstance(obj, (list, tuple)):
        raise SpaceError(
            f"an NLU architecture is a list of {depth} block indices in 0..{NUM_CHOICES - 1}, got {type(obj).__name__}"
        )
    if len(obj) != depth:
        raise SpaceError(f"expected {depth} block indices, got {len(obj)}")
    for position, value in enumerate(obj):
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise SpaceError(
                f"position {position}: block index {value!r} is not an integer; allowed: 0..{NUM_CHOICES - 1}"
            )
        if not 0 <= value < NUM_CHOICES:
            raise SpaceError(f"position {position}: block index {value} is out of range; allowed: 0..{NUM_CHOICES - 1}")
    return NluArch(tuple(int(v) for v in obj))
