"""Render a :class:`reports.model.Report` as an A4-landscape PDF (matplotlib ``PdfPages`` + pypdf).

Every page is A4 landscape (11.69 x 8.27 in). Blocks flow down the pages, one after the
other, instead of one block per page:

* page 1: the title, the legend, and the first section (the summary) with its blocks;
* then the contents, one line per section and block with its page number (each line links
  to its page);
* then every other section: its title and introduction, then its blocks. A table's rows
  continue on the next page under a repeated header; a figure is the PNG the HTML shows
  (:mod:`reports.rasters`), printed at its physical size or smaller when it would not fit a
  page; under each block its notes and the names of its sources (``P1``, ...);
* an appendix with the inputs, and every distinct source once: command, config, status,
  versions, git revision, device.

Layout runs first (it only measures text and images), so the contents know every page
number before a page is drawn; the pages can then be drawn in several processes. The sections and blocks become the PDF's bookmarks (pypdf).
Text is embedded as TrueType (``pdf.fonttype`` 42), so it can be searched and extracted.
The PDF has no creation date, so the same report gives the same file.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import matplotlib
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from reports.figures import STYLE
from reports.model import Block, Cell, FigureBlock, Missing, Provenance, Report, Section, Table
from reports import rasters
from reports.rasters import DPI

logging.getLogger("fontTools").setLevel(logging.WARNING)  # its subsetting logs every table at INFO

PAGE = (11.69, 8.27)
MARGIN = 0.5  # inches
TOP = MARGIN
BOTTOM = PAGE[1] - MARGIN - 0.15  # the footer sits below
TEXT_WIDTH = PAGE[0] - 2 * MARGIN
KIND_COLOURS = {"paper": "#fff4e0", "ours": "#e8f1fb", "missing": "#f3f3f3", "label": "white", "": "white"}
_PT = 1 / 72  # inch per point
#: A section starts a new page unless at least this share of the page is left.
SECTION_ROOM = 0.45
#: A table that would leave less than this share of its rows on the page it starts on starts on the next,
#: and so does any table of at most SHORT_TABLE rows (when it fits a page).
KEEP_WHOLE = 0.6
SHORT_TABLE = 12
#: Sections whose figures the PDF names but does not print (the smoke-scale appendix: tests of the harness).
TABLES_ONLY = ("appendix",)

Op = Callable[[Figure], None]


@dataclass
class _Mark:
    """A bookmark: a section (level 0) or block (level 1) title and the page it starts on."""

    key: str
    title: str
    level: int
    page: int


class _Flow:
    """Pages as lists of drawing operations, filled top to bottom (in one column, or two for the
    contents and the appendix); nothing is drawn until :func:`render_pdf` draws them."""

    GUTTER = 0.35

    def __init__(self) -> None:
        self.pages: list[list[Op]] = [[]]
        self.y = TOP
        self.marks: list[_Mark] = []
        self.links: list[tuple[int, tuple[float, float, float, float], str]] = []  # page, rect (pt), target key
        self.columns = 1
        self.column = 0
        self.column_top = TOP
        self.printed: dict[str, int] = {}  # note -> the page it was first printed on

    @property
    def page(self) -> int:
        return len(self.pages) - 1

    @property
    def left(self) -> float:
        """Left edge of the current column (inches)."""
        return MARGIN + self.column * (self.width + self.GUTTER)

    @property
    def width(self) -> float:
        """Width of the current column (inches)."""
        return (TEXT_WIDTH - (self.columns - 1) * self.GUTTER) / self.columns

    def set_columns(self, columns: int) -> None:
        """Flow in ``columns`` columns from the current position on."""
        self.columns, self.column, self.column_top = columns, 0, self.y

    def new_page(self) -> None:
        if self.pages[-1]:
            self.pages.append([])
        self.y = self.column_top = TOP
        self.column = 0

    def room(self) -> float:
        return BOTTOM - self.y

    def ensure(self, height: float) -> None:
        """Go to the next column or page unless ``height`` inches fit below the current position."""
        if height <= self.room() or self.y <= self.column_top:
            return
        if self.column + 1 < self.columns:
            self.column += 1
            self.y = self.column_top
        else:
            self.new_page()

    def draw(self, op: Op) -> None:
        self.pages[-1].append(op)

    def mark(self, key: str, title: str, level: int) -> None:
        self.marks.append(_Mark(key, title, level, self.page))

    def text(self, text: str, size: float, weight: str = "normal", colour: str = "black", indent: float = 0.0, keep: float = 0.0) -> None:
        """Wrapped text at ``size`` points; ``keep`` inches must fit below its first line."""
        step = size * _PT * 1.45
        for number, piece in enumerate(wrap(text, self.width - indent, size) or [""]):
            self.ensure(step + (keep if number == 0 else 0.0))
            y, x = self.y, self.left + indent
            self.draw(lambda fig, y=y, x=x, piece=piece: fig.text(x / PAGE[0], 1 - y / PAGE[1], piece, fontsize=size, weight=weight,
                                                                  color=colour, va="top", family="DejaVu Sans"))
            self.y += step

    def gap(self, height: float) -> None:
        self.y = min(self.y + height, BOTTOM)


def wrap(text: str, width: float, size: float) -> list[str]:
    """``text`` broken into lines of at most ``width`` inches at ``size`` points (an average glyph
    width of 0.56 em, DejaVu Sans)."""
    chars = max(10, int(width / (size * _PT * 0.56)))
    return [line for part in text.split("\n") for line in (textwrap.wrap(part, chars, break_long_words=True) or [""])]


def _text_height(text: str, size: float, width: float = TEXT_WIDTH) -> float:
    return len(wrap(text, width, size)) * size * _PT * 1.45


class _Sources:
    """Numbers the report's distinct provenance records (``P1``, ``P2``, ... in order of first use):
    under each block the PDF names them and prints what is the block's own (how its numbers were
    derived); every record is printed once, in the appendix."""

    def __init__(self) -> None:
        self.records: dict[tuple[tuple[str, str], ...], str] = {}

    def lines(self, items: list[Provenance]) -> list[tuple[str, float, str]]:
        names = []
        derived = []
        for item in items:
            key = tuple((k, v) for k, v in item.lines() if k != "derived")
            names.append(self.records.setdefault(key, f"P{len(self.records) + 1}"))
            if item.derived:
                derived.append(item.derived)
        if not items:
            return []
        lines = [(f"Provenance: {', '.join(dict.fromkeys(names))} (appendix)", 7, "bold")]
        return lines + ([("derived: " + "; ".join(dict.fromkeys(derived)), 6.5, "normal")] if derived else [])

    #: Fields that most sources share; the appendix prints their commonest value once.
    SHARED = ("versions", "device")
    #: Fields the PDF leaves to the HTML report and the sources' manifest.json.
    HTML_ONLY = ("config", "started")

    def appendix(self) -> list[tuple[str, float, str]]:
        from collections import Counter

        common = {}
        for field in self.SHARED:
            values = Counter(dict(key).get(field) for key in self.records)
            value, count = values.most_common(1)[0] if values else (None, 0)
            if value and count > 1:
                common[field] = value
        lines: list[tuple[str, float, str]] = [
            ("Every source the tables and figures name: the recorded command, status, versions, git revision and device (the full config "
             "and start time are in the HTML report and in each source's manifest.json).", 8, "normal")]
        lines += [(f"{field} (every source unless it says otherwise): {value}", 7, "normal") for field, value in common.items()]
        for key, name in self.records.items():
            lines.append((name, 8, "bold"))
            lines += [(f"{k}: {v}", 6.5, "normal") for k, v in key if common.get(k) != v and k not in self.HTML_ONLY]
        return lines


@functools.lru_cache(maxsize=None)
def _font(size: float, bold: bool) -> Any:
    from matplotlib.font_manager import FontProperties

    return FontProperties(family="DejaVu Sans", size=size, weight="bold" if bold else "normal")


@functools.lru_cache(maxsize=1 << 16)
def _text_width(text: str, size: float, bold: bool = False) -> float:
    """Width of ``text`` in inches at ``size`` points (measured with the font's glyph metrics)."""
    from matplotlib.textpath import text_to_path

    width, _, _ = text_to_path.get_text_width_height_descent(text, _font(size, bold), ismath=False)
    return width * _PT


def _column_widths(table: Table, size: float) -> np.ndarray:
    """Each column's width in inches at ``size`` points: its widest cell plus padding, widened
    evenly where a group label is wider than the columns it spans."""
    pad = 0.16
    widths = np.array([
        max([_text_width(table.header[i], size, bold=True)] + [_text_width(row[i].text, size) for row in table.rows]) + pad
        for i in range(len(table.header))
    ])
    start = 0
    for label, span in table.groups:
        need = _text_width(label, size, bold=True) + pad if label else 0.0
        have = float(widths[start:start + span].sum())
        if need > have:
            widths[start:start + span] += (need - have) / span
        start += span
    return widths


def _table_font(table: Table) -> float:
    """The largest font size (5 to 8.5 pt) at which the table fits the page width."""
    at_one = _column_widths(table, 1.0).sum() - 0.16 * len(table.header)
    available = TEXT_WIDTH - 0.16 * len(table.header)
    return float(np.clip(available / max(at_one, 1e-6), 5.0, 8.5))


#: Font size of a table with a wrapped column (one column much wider than the rest, e.g. the summary's answers).
WRAPPED_SIZE = 7.5


def _layout(table: Table) -> tuple[float, np.ndarray, int | None]:
    """``(font size, column widths, wrapped column)``: the table at the largest size that fits the
    page; when that would be the smallest size and one column holds most of the width, that
    column is wrapped at :data:`WRAPPED_SIZE` instead of shrinking every cell."""
    size = _table_font(table)
    widths = _column_widths(table, size)
    if widths.sum() <= TEXT_WIDTH:
        return size, widths, None
    natural = _column_widths(table, WRAPPED_SIZE)
    wide = int(np.argmax(natural))
    rest = natural.sum() - natural[wide]
    if rest < 0.6 * TEXT_WIDTH:
        natural[wide] = TEXT_WIDTH - rest
        return WRAPPED_SIZE, natural, wide
    return size, widths * TEXT_WIDTH / widths.sum(), None  # only at the smallest font size: squeeze


def _cell_lines(text: str, width: float, size: float) -> list[str]:
    """A wrapped cell's lines (:func:`wrap` inside the cell's padding)."""
    return wrap(text, width - 0.1, size)


def _block_heading(flow: _Flow, block: Block, first: float) -> None:
    """The block's title and caption, kept on one page with ``first`` inches of its body."""
    caption = block.caption if isinstance(block, (Table, FigureBlock)) else ""
    flow.ensure(_text_height(block.title, 11) + (_text_height(caption, 8) if caption else 0.0) + first)
    flow.mark(block.key, block.title, 1)
    flow.text(block.title, 11, "bold")
    if caption:
        flow.text(caption, 8, colour="#444444")
    flow.gap(0.06)


def _block_footer(flow: _Flow, notes: list[str], provenance: list[Provenance], sources: _Sources) -> None:
    """The block's notes (a note printed before is named by its page instead) and its sources."""
    flow.gap(0.05)
    earlier = sorted({flow.printed[note] for note in notes if note in flow.printed})
    for note in notes:
        if note not in flow.printed:
            flow.text(f"• {note}", 7.5)
            flow.printed[note] = flow.page + 1
    if earlier:
        flow.text(f"• Further notes as on page{'s' if len(earlier) > 1 else ''} {', '.join(map(str, earlier))}.", 7.5)
    for text, size, weight in sources.lines(provenance):
        flow.text(text, size, weight, colour="#555555")
    flow.gap(0.22)


def _box(fig: Figure, x: float, y: float, width: float, height: float, colour: str) -> None:
    """A table cell's background and border, its top left corner at (``x``, ``y``) inches from the page's top left."""
    fig.add_artist(Rectangle((x / PAGE[0], 1 - (y + height) / PAGE[1]), width / PAGE[0], height / PAGE[1],
                             transform=fig.transFigure, facecolor=colour, edgecolor="#c9c9c9", linewidth=0.4))


def _draw_row(fig: Figure, row: list[Cell], widths: np.ndarray, y: float, row_h: float, size: float, header: bool, wrapped: int | None) -> None:
    x = MARGIN
    for c, (cell, width) in enumerate(zip(row, widths)):
        _box(fig, x, y, width, row_h, "#eeeeee" if header and not cell.kind else KIND_COLOURS.get(cell.kind, "white"))
        wrap_cell = c == wrapped and not header
        left = c == 0 or cell.kind == "label" or wrap_cell
        text = "\n".join(_cell_lines(cell.text, width, size)) if wrap_cell else cell.text
        fig.text((x + (0.05 if left else width - 0.05)) / PAGE[0], 1 - (y + row_h / 2) / PAGE[1], text, fontsize=size,
                 ha="left" if left else "right", va="center", weight="bold" if header else "normal",
                 style="italic" if cell.kind == "missing" else "normal", linespacing=1.25)
        x += width


def _draw_groups(fig: Figure, groups: list[tuple[str, int]], widths: np.ndarray, y: float, row_h: float, size: float) -> None:
    x, start = MARGIN, 0
    for label, span in groups:
        width = float(widths[start:start + span].sum())
        if label:
            _box(fig, x, y, width, row_h, "#f7f7f7")
            fig.text((x + width / 2) / PAGE[0], 1 - (y + row_h / 2) / PAGE[1], label, fontsize=size, ha="center", va="center", weight="bold")
        x += width
        start += span


def _table(flow: _Flow, table: Table, sources: _Sources) -> None:
    size, widths, wrapped = _layout(table)
    line_h = size * _PT * 1.35
    base_h = size * _PT * 2.0
    header = [Cell(h, k) for h, k in zip(table.header, table.header_kinds)]

    def height(row: list[Cell]) -> float:
        if wrapped is None:
            return base_h
        return max(base_h, len(_cell_lines(row[wrapped].text, widths[wrapped], size)) * line_h + size * _PT * 0.7)

    def draw(row: list[Cell], is_header: bool) -> None:
        if is_header and table.groups:  # the group labels, each over the columns it spans
            top = flow.y
            flow.draw(lambda fig: _draw_groups(fig, table.groups, widths, top, base_h, size))
            flow.y += base_h
        row_h = height(row)
        y = flow.y
        flow.draw(lambda fig: _draw_row(fig, row, widths, y, row_h, size, is_header, wrapped))
        flow.y += row_h

    groups_h = base_h if table.groups else 0.0
    whole = groups_h + height(header) + sum(height(r) for r in table.rows)
    heading = _text_height(table.title, 11) + _text_height(table.caption, 8)
    fitting, used = 0, heading + groups_h + height(header)
    for row in table.rows:
        used += height(row)
        if used > flow.room():
            break
        fitting += 1
    # a table that fits a page starts on a new one rather than leave fewer than KEEP_WHOLE of its rows behind
    short = len(table.rows) <= SHORT_TABLE or fitting < KEEP_WHOLE * len(table.rows)
    keep = whole if heading + whole <= BOTTOM - TOP and short else groups_h + height(header) + sum(height(r) for r in table.rows[:3])
    _block_heading(flow, table, keep)
    draw(header, True)
    footer = min(1.2, sum(_text_height(f"• {note}", 7.5) for note in table.notes[:2]) + 0.15)
    for number, row in enumerate(table.rows):
        last = number == len(table.rows) - 1
        if height(row) + (footer if last and number > 0 else 0.0) > flow.room():
            flow.new_page()
            flow.text(f"{table.title} (continued)", 8.5, "bold")
            draw(header, True)
        draw(row, False)
    _block_footer(flow, table.notes, table.provenance, sources)


def _figure(flow: _Flow, block: FigureBlock, sources: _Sources) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(block.png)) as image:
        pixels = np.asarray(image.convert("RGB"))
    width_in, height_in = pixels.shape[1] / DPI, pixels.shape[0] / DPI
    footer = sum(_text_height(f"• {note}", 7.5) for note in block.notes) + 0.35
    tallest = max(1.5, BOTTOM - TOP - _text_height(block.title, 11) - _text_height(block.caption, 8) - footer - 0.2)
    scale = min(1.0, TEXT_WIDTH / width_in, tallest / height_in)
    w, h = width_in * scale, height_in * scale
    _block_heading(flow, block, h + footer)
    left, top = (PAGE[0] - w) / 2, flow.y

    def draw(fig: Figure) -> None:
        ax = fig.add_axes((left / PAGE[0], 1 - (top + h) / PAGE[1], w / PAGE[0], h / PAGE[1]))
        ax.imshow(pixels, interpolation="none", aspect="auto")
        ax.set_axis_off()

    flow.draw(draw)
    flow.y += h + 0.08
    _block_footer(flow, block.notes, block.provenance, sources)


def _missing(flow: _Flow, block: Missing) -> None:
    _block_heading(flow, block, 0.5)
    flow.text(f"MISSING: {block.what}", 9)
    flow.text("Produce it with:", 8.5)
    for command in block.commands:
        flow.text(command, 8, indent=0.25)
    flow.gap(0.22)


def _contents(flow: _Flow, report: Report, numbers: dict[str, int]) -> None:
    """One line per section and block, in two columns, with the page it starts on (filled in once
    laid out); each line links to its page."""
    flow.new_page()
    flow.mark("contents", "Contents", 0)
    flow.text("Contents", 13, "bold")
    flow.gap(0.05)
    flow.set_columns(2)
    entries: list[tuple[str, str, int]] = []
    for section in report.sections[1:]:
        entries.append((f"section-{section.key}", section.title, 0))
        skipped = _html_only(section)
        entries += [(block.key, block.title + (" (missing)" if isinstance(block, Missing) else ""), 1) for block in section.blocks
                    if not any(block is b for b in skipped)]
    entries.append(("appendix", "Appendix: inputs and provenance", 0))
    for key, title, level in entries:
        size = 8 if level == 0 else 7
        step = size * _PT * 1.5
        flow.ensure(step + (0.3 if level == 0 else 0.0))
        if level == 0 and flow.y > flow.column_top:
            flow.gap(0.06)
        y, left, right = flow.y, flow.left + (0.0 if level == 0 else 0.2), flow.left + flow.width
        text = textwrap.shorten(title, int((right - left - 0.35) / (size * _PT * 0.56)), placeholder=" …")
        weight = "bold" if level == 0 else "normal"

        def draw(fig: Figure, y: float = y, left: float = left, right: float = right, text: str = text, key: str = key,
                 size: float = size, weight: str = weight) -> None:
            fig.text(left / PAGE[0], 1 - y / PAGE[1], text, fontsize=size, weight=weight, va="top")
            fig.text(right / PAGE[0], 1 - y / PAGE[1], str(numbers.get(key, "")), fontsize=size, weight=weight, va="top", ha="right")

        flow.draw(draw)
        flow.links.append((flow.page, (left / _PT, (PAGE[1] - y - step) / _PT, right / _PT, (PAGE[1] - y) / _PT), key))
        flow.y += step
    flow.set_columns(1)


def _html_only(section: Section) -> list[FigureBlock]:
    """The figures of a :data:`TABLES_ONLY` section, which the PDF names but does not print."""
    return [b for b in section.blocks if isinstance(b, FigureBlock)] if section.key in TABLES_ONLY else []


def _section_heading(flow: _Flow, key: str, title: str, intro: str) -> None:
    if flow.room() < SECTION_ROOM * (BOTTOM - TOP):
        flow.new_page()
    flow.mark(f"section-{key}", title, 0)
    flow.text(title, 13, "bold")
    if intro:
        flow.text(intro, 9)
    flow.gap(0.12)


def _appendix(flow: _Flow, report: Report, sources: _Sources) -> None:
    """The inputs, the skipped inputs and every source once, in two columns."""
    flow.new_page()
    flow.mark("appendix", "Appendix: inputs and provenance", 0)
    flow.text("Appendix: inputs and provenance", 13, "bold")
    flow.set_columns(2)
    flow.text("Inputs", 10, "bold", keep=0.2)
    for name, what in report.inputs:
        flow.text(f"{name}: {what}", 7, indent=0.1)
    if report.skipped:
        flow.text("Skipped", 10, "bold", keep=0.2)
        for name, why in report.skipped:
            flow.text(f"{name}: {why}", 7, indent=0.1)
    if sources.records:
        flow.gap(0.1)
        flow.text("Sources", 10, "bold", keep=0.2)
        for text, size, weight in sources.appendix():
            flow.text(text, size, weight, indent=0.0 if weight == "bold" else 0.1, keep=0.3 if weight == "bold" else 0.0)
    flow.set_columns(1)


def layout(report: Report) -> _Flow:
    """Every page of the report as drawing operations, with its bookmarks and contents links.

    Figures without a PNG get one (:func:`reports.rasters.attach`, uncached).
    """
    rasters.attach(report)  # figures without a PNG yet (the CLI attaches them, from the cache, before the HTML)
    flow = _Flow()
    sources = _Sources()
    numbers: dict[str, int] = {}
    flow.text(report.title, 16, "bold")
    flow.text("Built by `bench report` from stored results only: no proxy was recomputed. Reproduces W-PCA: Gradient-free proxy for "
              "efficient language model search (ICLR 2025).", 9)
    flow.text("Cells: ours = measured here (blue); paper = published in the W-PCA paper (orange); missing = not produced yet, with the command (grey).", 9)
    flow.gap(0.15)
    for index, section in enumerate(report.sections):
        if index == 1:
            _contents(flow, report, numbers)
            flow.new_page()
        _section_heading(flow, section.key, section.title, section.intro)
        in_html_only = _html_only(section)
        for block in section.blocks:
            if any(block is b for b in in_html_only):
                continue
            if isinstance(block, Table):
                _table(flow, block, sources)
            elif isinstance(block, FigureBlock):
                _figure(flow, block, sources)
            else:
                _missing(flow, block)
        if in_html_only:
            flow.text("In the HTML report only: " + "; ".join(b.title for b in in_html_only) + ".", 8, colour="#444444")
    if len(report.sections) < 2:
        _contents(flow, report, numbers)
    _appendix(flow, report, sources)
    numbers.update({mark.key: mark.page + 1 for mark in flow.marks})
    return flow


def _finish(parts: list[Path], flow: _Flow, title: str, path: Path) -> None:
    """Join the rendered parts into ``path`` with the outline (sections, then their blocks) and the contents links."""
    from pypdf import PdfWriter
    from pypdf.annotations import Link

    writer = PdfWriter()
    for part in parts:
        writer.append(str(part))
    parent = None
    for mark in flow.marks:
        if mark.level == 0:
            parent = writer.add_outline_item(mark.title, mark.page)
        else:
            writer.add_outline_item(mark.title, mark.page, parent=parent)
    pages = {mark.key: mark.page for mark in flow.marks}
    for page, rect, key in flow.links:
        if key in pages:
            writer.add_annotation(page, Link(rect=rect, target_page_index=pages[key]))
    writer.page_mode = "/UseOutlines"
    writer.add_metadata({"/Title": title, "/Creator": "proxybench bench report"})
    with open(path, "wb") as file:
        writer.write(file)


def _render_pages(flow: _Flow, pages: range, title: str, path: Path) -> None:
    """Draw ``pages`` (0-based) of the laid-out report into a PDF at ``path``."""
    total = len(flow.pages)
    with matplotlib.rc_context({**STYLE, "axes.grid": False, "savefig.bbox": "standard"}):
        with PdfPages(path, metadata={"Title": title, "Creator": "proxybench bench report", "CreationDate": None}) as pdf:
            for index in pages:
                fig = Figure(figsize=PAGE)
                for op in flow.pages[index]:
                    op(fig)
                fig.text(0.5, 0.02, f"{title} — page {index + 1} of {total}", ha="center", va="bottom", fontsize=7, color="#777777")
                pdf.savefig(fig)


def _split(flow: _Flow, parts: int) -> list[range]:
    """Contiguous page ranges with about equal numbers of drawing operations."""
    weights = np.cumsum([len(ops) + 1 for ops in flow.pages])
    cuts = [0] + [int(np.searchsorted(weights, weights[-1] * k / parts)) + 1 for k in range(1, parts)] + [len(flow.pages)]
    cuts = sorted(set(min(c, len(flow.pages)) for c in cuts))
    return [range(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


#: The pages are drawn as this many contiguous parts (each in its own process when ``jobs`` allows), then
#: joined: a fixed number, so the file is the same whatever ``jobs`` and the platform are.
PARTS = 2


def render_pdf(report: Report, path: str | os.PathLike, jobs: int = 1) -> int:
    """Write the report to ``path`` (atomically: temporary files, then a rename).

    The laid-out pages are drawn as :data:`PARTS` contiguous ranges and joined in order; with
    ``jobs`` > 1 and the ``fork`` start method (Linux) the ranges are drawn in parallel processes.
    The bytes do not depend on ``jobs``.

    Returns:
        The number of pages written.
    """
    import multiprocessing

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flow = layout(report)
    ranges = _split(flow, PARTS) if len(flow.pages) >= PARTS else [range(len(flow.pages))]
    parallel = jobs > 1 and len(ranges) > 1 and "fork" in multiprocessing.get_all_start_methods()
    temporaries = []
    for _ in range(len(ranges) + 1):
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # the names bench.store.writer.remove_temporaries cleans
        os.close(handle)
        temporaries.append(Path(tmp))
    *parts, joined = temporaries
    children = []
    try:
        if parallel:
            for pages, part in zip(ranges[1:], parts[1:]):
                child = multiprocessing.get_context("fork").Process(target=_render_pages, args=(flow, pages, report.title, part))
                child.start()
                children.append(child)
            _render_pages(flow, ranges[0], report.title, parts[0])
        else:
            for pages, part in zip(ranges, parts):
                _render_pages(flow, pages, report.title, part)
        for child in children:
            child.join()
            if child.exitcode != 0:
                raise RuntimeError(f"a process drawing PDF pages exited with code {child.exitcode}")
        _finish(parts, flow, report.title, joined)
        os.chmod(joined, 0o644)
        os.replace(joined, path)
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
            child.join()
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)
    return len(flow.pages)
