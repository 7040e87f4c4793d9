"""Render a :class:`reports.model.Report` as a PDF with matplotlib's ``PdfPages``.

No dependency beyond matplotlib. Every page is A4 landscape (11.69 x 8.27 in):

* a title page: title, legend, and the first section's title and introduction (the summary,
  whose blocks follow), then the contents and inputs (and skipped inputs) before the second
  section;
* per table: its title, caption and rows (paged, header repeated), with cells shaded as in
  the HTML (ours / paper / missing), then its notes, the names of its sources (``P1``, ...)
  and how its numbers were derived;
* per figure: its title, the figure at its print size (7 in wide; a 250-dpi image), the
  caption, notes, sources and derivation;
* per missing result: what is missing and the commands that produce it;
* an appendix with every distinct source once: command, config, status, versions, git
  revision, device (many blocks share one run, so this is where most pages went before).

Text is embedded as TrueType (``pdf.fonttype`` 42), so it can be searched and extracted.
The PDF has no creation date, so the same report gives the same file.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import textwrap
from pathlib import Path
from typing import Iterable

import matplotlib
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from reports.figures import STYLE, png_bytes
from reports.model import Cell, FigureBlock, Missing, Provenance, Report, Table

logging.getLogger("fontTools").setLevel(logging.WARNING)  # its subsetting logs every table at INFO

PAGE = (11.69, 8.27)
MARGIN = 0.5  # inches
FIGURE_DPI = 250
KIND_COLOURS = {"paper": "#fff4e0", "ours": "#e8f1fb", "missing": "#f3f3f3", "label": "white", "": "white"}
_PT = 1 / 72  # inch per point


class _Writer:
    """Adds pages to a ``PdfPages`` and flows text across them."""

    def __init__(self, pdf: PdfPages, footer: str) -> None:
        self.pdf = pdf
        self.footer = footer
        self.pages = 0

    def page(self) -> Figure:
        return Figure(figsize=PAGE)

    def save(self, fig: Figure) -> None:
        self.pages += 1
        fig.text(0.5, 0.02, f"{self.footer} — page {self.pages}", ha="center", va="bottom", fontsize=7, color="#777777")
        self.pdf.savefig(fig)

    def text_pages(self, title: str, lines: Iterable[tuple[str, float, str]], fig: Figure | None = None, top: float | None = None) -> None:
        """Flow ``(text, size, weight)`` lines from ``top`` (inches from the page top) downwards."""
        width_in = PAGE[0] - 2 * MARGIN
        y = top if top is not None else MARGIN
        if fig is None:
            fig = self.page()
            fig.text(MARGIN / PAGE[0], 1 - MARGIN / PAGE[1], title, fontsize=13, weight="bold", va="top")
            y = MARGIN + 0.45
        for text, size, weight in lines:
            chars = max(20, int(width_in / (size * _PT * 0.60)))
            for piece in textwrap.wrap(text, chars, break_long_words=True, replace_whitespace=False) or [""]:
                step = size * _PT * 1.45
                if y + step > PAGE[1] - MARGIN - 0.2:
                    self.save(fig)
                    fig = self.page()
                    fig.text(MARGIN / PAGE[0], 1 - MARGIN / PAGE[1], f"{title} (continued)", fontsize=10, weight="bold", va="top")
                    y = MARGIN + 0.4
                fig.text(MARGIN / PAGE[0], 1 - y / PAGE[1], piece, fontsize=size, weight=weight, va="top", family="DejaVu Sans")
                y += step
        self.save(fig)


class _Sources:
    """Numbers the report's distinct provenance records (``P1``, ``P2``, ... in order of first use):
    under each block the PDF names them and prints what is the block's own (how its numbers were
    derived); every record is printed once, in the provenance appendix."""

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
        return lines + [(f"derived: {text}", 6.5, "normal") for text in dict.fromkeys(derived)]

    def appendix(self) -> list[tuple[str, float, str]]:
        lines: list[tuple[str, float, str]] = [
            ("Every source the tables and figures name: the recorded command, config, status, versions, git revision and device.", 9, "normal")]
        for key, name in self.records.items():
            lines.append((name, 8.5, "bold"))
            lines += [(f"{k}: {v}", 6.5, "normal") for k, v in key]
            lines.append(("", 4, "normal"))
        return lines


def _text_width(text: str, size: float, bold: bool = False) -> float:
    """Width of ``text`` in inches at ``size`` points (measured with the font's glyph metrics)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(family="DejaVu Sans", size=size, weight="bold" if bold else "normal")
    width, _, _ = TextToPath().get_text_width_height_descent(text, prop, ismath=False)
    return width * _PT


def _column_widths(table: Table, size: float) -> np.ndarray:
    """Each column's width in inches at ``size`` points: its widest cell plus padding."""
    pad = 0.16
    return np.array([
        max([_text_width(table.header[i], size, bold=True)] + [_text_width(row[i].text, size) for row in table.rows]) + pad
        for i in range(len(table.header))
    ])


def _table_font(table: Table) -> float:
    """The largest font size (5 to 8.5 pt) at which the table fits the page width."""
    at_one = _column_widths(table, 1.0).sum() - 0.16 * len(table.header)
    available = PAGE[0] - 2 * MARGIN - 0.16 * len(table.header)
    return float(np.clip(available / max(at_one, 1e-6), 5.0, 8.5))


#: Font size of a table with a wrapped column (one column much wider than the rest, e.g. the summary's answers).
WRAPPED_SIZE = 7.5


def _layout(table: Table) -> tuple[float, np.ndarray, int | None]:
    """``(font size, column widths, wrapped column)``: the table at the largest size that fits the
    page; when that would be the smallest size and one column holds most of the width, that
    column is wrapped at :data:`WRAPPED_SIZE` instead of shrinking every cell."""
    available = PAGE[0] - 2 * MARGIN
    size = _table_font(table)
    widths = _column_widths(table, size)
    if widths.sum() <= available:
        return size, widths, None
    natural = _column_widths(table, WRAPPED_SIZE)
    wide = int(np.argmax(natural))
    rest = natural.sum() - natural[wide]
    if rest < 0.6 * available:
        natural[wide] = available - rest
        return WRAPPED_SIZE, natural, wide
    return size, widths * available / widths.sum(), None  # only at the smallest font size: squeeze


def _cell_lines(text: str, width: float, size: float) -> list[str]:
    chars = max(10, int((width - 0.1) / (size * _PT * 0.56)))
    return textwrap.wrap(text, chars, break_long_words=True) or [""]


def _draw_table(writer: _Writer, table: Table, sources: _Sources) -> None:
    size, widths, wrapped = _layout(table)
    line_h = size * _PT * 1.35
    base_h = size * _PT * 2.0
    header_cells = [Cell(h, k) for h, k in zip(table.header, table.header_kinds)]

    def height(row: list[Cell]) -> float:
        if wrapped is None:
            return base_h
        return max(base_h, len(_cell_lines(row[wrapped].text, widths[wrapped], size)) * line_h + size * _PT * 0.7)

    top_space = MARGIN + 0.85
    room = PAGE[1] - top_space - MARGIN - 0.3 - height(header_cells)
    chunks: list[list[list[Cell]]] = [[]]
    used = 0.0
    for row in table.rows:
        h = height(row)
        if chunks[-1] and used + h > room:
            chunks.append([])
            used = 0.0
        chunks[-1].append(row)
        used += h
    for number, chunk in enumerate(chunks):
        fig = writer.page()
        title = table.title + (" (continued)" if number else "")
        fig.text(MARGIN / PAGE[0], 1 - MARGIN / PAGE[1], title, fontsize=12, weight="bold", va="top")
        fig.text(MARGIN / PAGE[0], 1 - (MARGIN + 0.32) / PAGE[1], textwrap.shorten(table.caption, 230), fontsize=8, va="top", color="#444444")
        y = top_space
        for r, row in enumerate([header_cells, *chunk]):
            row_h = height(row)
            x = MARGIN
            for c, (cell, width) in enumerate(zip(row, widths)):
                colour = "#eeeeee" if r == 0 and not cell.kind else KIND_COLOURS.get(cell.kind, "white")
                fig.add_artist(Rectangle((x / PAGE[0], 1 - (y + row_h) / PAGE[1]), width / PAGE[0], row_h / PAGE[1],
                                         transform=fig.transFigure, facecolor=colour, edgecolor="#c9c9c9", linewidth=0.4))
                wrap = c == wrapped and r > 0
                left = c == 0 or cell.kind == "label" or wrap
                text = "\n".join(_cell_lines(cell.text, width, size)) if wrap else cell.text
                fig.text((x + (0.05 if left else width - 0.05)) / PAGE[0], 1 - (y + row_h / 2) / PAGE[1], text, fontsize=size,
                         ha="left" if left else "right", va="center", weight="bold" if r == 0 else "normal",
                         style="italic" if cell.kind == "missing" else "normal", linespacing=1.25)
                x += width
            y += row_h
        if number == len(chunks) - 1:
            lines = [(f"• {note}", 7.5, "normal") for note in table.notes] + [("", 4, "normal")] + sources.lines(table.provenance)
            writer.text_pages(table.title, lines, fig=fig, top=y + 0.2)
        else:
            writer.save(fig)


def _draw_figure(writer: _Writer, block: FigureBlock, sources: _Sources) -> None:
    from PIL import Image

    fig = writer.page()
    fig.text(MARGIN / PAGE[0], 1 - MARGIN / PAGE[1], block.title, fontsize=12, weight="bold", va="top")
    image = Image.open(io.BytesIO(png_bytes(block.figure, dpi=FIGURE_DPI)))
    width_in, height_in = image.width / FIGURE_DPI, image.height / FIGURE_DPI
    box_w, box_h = PAGE[0] - 2 * MARGIN, PAGE[1] - 2 * MARGIN - 1.3
    scale = min(1.0, box_w / width_in, box_h / height_in)
    w, h = width_in * scale, height_in * scale
    left, top = (PAGE[0] - w) / 2, MARGIN + 0.45
    ax = fig.add_axes((left / PAGE[0], 1 - (top + h) / PAGE[1], w / PAGE[0], h / PAGE[1]))
    ax.imshow(np.asarray(image), interpolation="lanczos")
    ax.set_axis_off()
    lines = [(block.caption, 8, "normal")] + [(f"• {n}", 7.5, "normal") for n in block.notes] + [("", 4, "normal")] + sources.lines(block.provenance)
    writer.text_pages(block.title, lines, fig=fig, top=top + h + 0.15)


def _draw_missing(writer: _Writer, block: Missing) -> None:
    lines = [(f"MISSING: {block.what}", 10, "normal"), ("Produce it with:", 9, "normal")] + [(f"  {c}", 8, "normal") for c in block.commands]
    writer.text_pages(f"{block.title} — missing", lines)


def _title_page(writer: _Writer, report: Report) -> None:
    lines: list[tuple[str, float, str]] = [
        ("Built by `bench report` from stored results only: no proxy was recomputed. Reproduces W-PCA: Gradient-free proxy for "
         "efficient language model search (ICLR 2025).", 9, "normal"),
        ("Cells: ours = measured here (blue); paper = published in the W-PCA paper (orange); missing = not produced yet, with the command (grey).", 9, "normal"),
    ]
    if report.sections:
        lines += [("", 6, "normal"), (report.sections[0].title, 11, "bold"), (report.sections[0].intro, 10, "normal")]
    writer.text_pages(report.title, lines)


def _contents_pages(writer: _Writer, report: Report) -> None:
    lines: list[tuple[str, float, str]] = [("Contents", 11, "bold")]
    for section in report.sections:
        lines.append((section.title, 9, "bold"))
        for block in section.blocks:
            lines.append((f"    {block.title}{' (missing)' if isinstance(block, Missing) else ''}", 8, "normal"))
    lines += [("", 6, "normal"), ("Inputs", 11, "bold")] + [(f"{name}: {what}", 8, "normal") for name, what in report.inputs]
    if report.skipped:
        lines += [("Skipped", 10, "bold")] + [(f"{name}: {why}", 8, "normal") for name, why in report.skipped]
    writer.text_pages("Contents and inputs", lines)


def render_pdf(report: Report, path: str | os.PathLike) -> int:
    """Write the report to ``path`` (atomically: a temporary file, then a rename).

    Returns:
        The number of pages written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # the names bench.store.writer.remove_temporaries cleans
    os.close(handle)
    try:
        with matplotlib.rc_context({**STYLE, "axes.grid": False}):
            with PdfPages(tmp, metadata={"Title": report.title, "Creator": "proxybench bench report", "CreationDate": None}) as pdf:
                writer = _Writer(pdf, report.title)
                sources = _Sources()
                _title_page(writer, report)
                for index, section in enumerate(report.sections):
                    if index == 1:  # the first section (the summary) comes before the contents
                        _contents_pages(writer, report)
                    if index > 0:  # the first section's title is on the title page
                        writer.text_pages(section.title, [(section.intro, 10, "normal")])
                    for block in section.blocks:
                        if isinstance(block, Table):
                            _draw_table(writer, block, sources)
                        elif isinstance(block, FigureBlock):
                            _draw_figure(writer, block, sources)
                        else:
                            _draw_missing(writer, block)
                if len(report.sections) < 2:
                    _contents_pages(writer, report)
                if sources.records:
                    writer.text_pages("Appendix: provenance", sources.appendix())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return writer.pages
