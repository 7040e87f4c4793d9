"""Render a :class:`reports.model.Report` as one self-contained HTML file (Jinja2).

The template is ``reports/templates/report.html.j2`` (installed as package data). Images
are embedded as base64 PNG ``data:`` URIs, styles are inline, and nothing is loaded from
the network, so the file reads the same offline. The output is deterministic: the same
report gives the same bytes (no timestamps; PNGs carry no date).
"""

from __future__ import annotations

import base64
import re
import struct
from typing import Any

import jinja2

from reports import rasters
from reports.model import Cell, FigureBlock, Missing, Report, Table


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels from a PNG's IHDR chunk.

    Raises:
        ValueError: when ``data`` is not a PNG.
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def ensure_png(block: FigureBlock) -> bytes:
    """The block's PNG (:func:`reports.rasters.attach`), rendered now when it has none."""
    if not block.png:
        block.png, block.min_font_pt = rasters.render([block.figure])[0]
    return block.png


def _unbroken_intervals(text: str) -> str:
    """``+0.94 [+0.93, +0.95]`` with no-break spaces inside the brackets: a cell wraps before an interval, not within it."""
    return re.sub(r"\[[^\]]*\]", lambda m: m.group(0).replace(" ", "\u00a0"), text)


def _view(block: Table | FigureBlock | Missing) -> dict[str, Any]:
    if isinstance(block, Table):
        rows = [[Cell(_unbroken_intervals(cell.text), cell.kind) for cell in row] for row in block.rows]
        return {"kind": "table", "key": block.key, "title": block.title, "caption": block.caption, "header": block.header,
                "header_kinds": block.header_kinds, "groups": block.groups, "rows": rows, "notes": block.notes, "provenance": block.provenance}
    if isinstance(block, FigureBlock):
        data = ensure_png(block)
        width, height = png_size(data)
        scale = 96 / rasters.DPI  # show at the figure's physical size on a 96-dpi screen
        return {"kind": "figure", "key": block.key, "title": block.title, "caption": block.caption, "notes": block.notes, "min_font_pt": block.min_font_pt,
                "provenance": block.provenance, "png_base64": base64.b64encode(data).decode("ascii"),
                "width": round(width * scale), "height": round(height * scale)}
    return {"kind": "missing", "key": block.key, "title": block.title, "what": block.what, "commands": block.commands}


def render_html(report: Report) -> str:
    """The report as an HTML document (a string)."""
    from bench import __version__

    sections = [{"key": s.key, "title": s.title, "intro": s.intro, "blocks": [_view(b) for b in s.blocks]} for s in report.sections]
    view = {"title": report.title, "sections": sections, "inputs": report.inputs, "skipped": report.skipped}
    generator = {"version": __version__, "roots": report.generator.get("roots", [])}
    return _environment().get_template("report.html.j2").render(report=view, generator=generator, dpi=rasters.DPI)
