"""The report's content, independent of its format.

:mod:`reports.build` fills a :class:`Report` from stored results; :mod:`reports.html` and
:mod:`reports.pdf` render the same object, so both files carry the same tables, figures,
notes and provenance. A block is a :class:`Table`, a :class:`FigureBlock` or a
:class:`Missing` (a result that does not exist yet, with the command that makes it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Union

from matplotlib.figure import Figure

from reports.rasters import Deferred

#: Cell kinds: ``ours`` (measured here), ``paper`` (published in the paper), ``missing``
#: (not produced yet), ``label`` (a row name), ``""`` (other).
CELL_KINDS = ("", "ours", "paper", "missing", "label")


@dataclass(frozen=True)
class Cell:
    """One table cell: its text and what kind of number it is."""

    text: str
    kind: str = ""


@dataclass
class Provenance:
    """Where a table's or figure's numbers come from.

    Attributes:
        source: the result directory or file.
        command: the command that wrote it (as recorded, or ``not recorded``).
        config: a one-line summary of the run's config.
        config_json: the complete recorded config.
        versions: package versions.
        git_revision: the project's revision when the result was made.
        device: the machine.
        started: when the run started.
        status: completeness (e.g. ``complete: 491 of 491 architectures``).
        derived: how the report got the shown numbers from the stored files.
    """

    source: str
    command: str = "not recorded"
    config: str = ""
    config_json: str = ""
    versions: str = ""
    git_revision: str = "not recorded"
    device: str = "not recorded"
    started: str = "not recorded"
    status: str = ""
    derived: str = ""

    def lines(self) -> list[tuple[str, str]]:
        """``(field, value)`` pairs, empty fields left out (for rendering)."""
        pairs = [
            ("source", self.source), ("command", self.command), ("config", self.config), ("status", self.status),
            ("derived", self.derived), ("versions", self.versions), ("git revision", self.git_revision),
            ("device", self.device), ("started", self.started),
        ]
        return [(k, v) for k, v in pairs if v]


@dataclass
class Table:
    """A table: header, rows of cells, notes, provenance.

    ``groups`` optionally spans the header with a row of group labels: ``(label, columns)`` pairs
    covering every column, left to right (``""`` for columns without a group).
    """

    key: str
    title: str
    caption: str
    header: list[str]
    rows: list[list[Cell]]
    notes: list[str] = field(default_factory=list)
    provenance: list[Provenance] = field(default_factory=list)
    header_kinds: list[str] = field(default_factory=list)
    groups: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.header_kinds:
            self.header_kinds = [""] * len(self.header)
        if self.groups and sum(span for _, span in self.groups) != len(self.header):
            raise ValueError(f"table {self.key}: its groups span {sum(s for _, s in self.groups)} of {len(self.header)} columns")
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(f"table {self.key}: a row has {len(row)} cells for {len(self.header)} columns")


@dataclass
class FigureBlock:
    """A figure (a matplotlib ``Figure`` drawn from stored numbers, or one deferred until it is
    needed: :func:`reports.figures.defer`) with its caption."""

    key: str
    title: str
    caption: str
    figure: Figure | Deferred
    provenance: list[Provenance] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    png: bytes = b""
    #: The smallest font size (points) of any text drawn in the figure, at its physical size.
    min_font_pt: float = 0.0

    def drawn(self) -> Figure:
        """The figure, drawn now if it was deferred."""
        if isinstance(self.figure, Deferred):
            self.figure = self.figure.build()
        return self.figure

    def release(self) -> None:
        """Free a drawn figure's artists (the PNG stays)."""
        if isinstance(self.figure, Figure):
            self.figure.clear()


@dataclass
class Missing:
    """A table or figure whose results do not exist yet, and the commands that make them."""

    key: str
    title: str
    what: str
    commands: list[str] = field(default_factory=list)


Block = Union[Table, FigureBlock, Missing]


@dataclass
class Section:
    """A titled group of blocks."""

    key: str
    title: str
    intro: str = ""
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Report:
    """The whole report: title, what it was built from, and its sections."""

    title: str
    inputs: list[tuple[str, str]]
    skipped: list[tuple[str, str]]
    sections: list[Section]
    generator: dict[str, Any] = field(default_factory=dict)

    def blocks(self) -> list[Block]:
        return [block for section in self.sections for block in section.blocks]

    def figures(self) -> list[FigureBlock]:
        return [b for b in self.blocks() if isinstance(b, FigureBlock)]

    def tables(self) -> list[Table]:
        return [b for b in self.blocks() if isinstance(b, Table)]

    def missing(self) -> list[Missing]:
        return [b for b in self.blocks() if isinstance(b, Missing)]

    def index(self) -> dict[str, Any]:
        """A JSON-able list of the report's blocks (key, kind, title), for tests and tools."""
        return {
            "title": self.title,
            "sections": [
                {"key": s.key, "title": s.title, "blocks": [{"key": b.key, "kind": type(b).__name__, "title": b.title} for b in s.blocks]}
                for s in self.sections
            ],
        }

    def index_json(self) -> str:
        return json.dumps(self.index(), indent=2) + "\n"
