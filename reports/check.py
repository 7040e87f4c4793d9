"""Check a built report as a reader sees it: the HTML in headless Chromium, the PDF with pypdf.

``python -m reports.check DIR`` prints one line per problem in ``DIR/report.html`` and
``DIR/report.pdf`` and exits 1 when there is any (0 when none; 2 when a file or Chromium is
missing). The checks:

* HTML, laid out by Chromium at a 1,366 x 900 px window: no table is wider than the window or
  than its own box (a table that scrolls sideways hides columns); no figure shows text below
  9 px (its smallest font in points, at the PNG's resolution, times the displayed / natural
  width of the image);
* PDF: every page A4 landscape (841.9 x 595.3 pt), a bookmark for every section, and every
  bookmark on a page that shows its title.

It reads the output files only.
"""

from __future__ import annotations

import html as html_module
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: The window a reader's laptop shows.
WINDOW = (1366, 900)
#: The smallest text a figure may show, in CSS pixels.
MIN_TEXT_PX = 9.0
#: A4 landscape in points.
A4_LANDSCAPE = (841.89, 595.28)

_PROBE = """<script>window.addEventListener('load', function () {
  var out = {window: window.innerWidth, tables: [], figures: []};
  document.querySelectorAll('table').forEach(function (t) {
    var box = t.getBoundingClientRect();
    var block = t.closest('[data-kind]');
    out.tables.push({id: block ? block.id : '', width: box.width, right: box.right, scroll: t.scrollWidth, client: t.clientWidth});
  });
  document.querySelectorAll('img').forEach(function (i) {
    var block = i.closest('[data-kind]');
    out.figures.push({id: block ? block.id : '', shown: i.getBoundingClientRect().width, natural: i.naturalWidth,
                      pt: parseFloat(i.getAttribute('data-min-font-pt') || '0'), dpi: parseFloat(i.getAttribute('data-dpi') || '0')});
  });
  var pre = document.createElement('pre'); pre.id = 'layout-probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});</script>"""


def chromium() -> str | None:
    """The Chromium executable, or ``None``."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def browser_layout(html: Path, browser: str, window: tuple[int, int] = WINDOW) -> dict[str, Any]:
    """Tables' and images' boxes as Chromium lays out ``html`` in a ``window``-sized window."""
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(html.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--hide-scrollbars", f"--user-data-dir={Path(tmp) / 'profile'}",
                   f"--window-size={window[0]},{window[1]}", "--virtual-time-budget=20000", "--dump-dom", page.as_uri()]
        done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    match = re.search(r'<pre id="layout-probe">(.*?)</pre>', done.stdout, re.S)
    if not match:
        raise RuntimeError(f"Chromium returned no layout (exit {done.returncode}): {done.stderr[-500:]}")
    return json.loads(html_module.unescape(match.group(1)))


def html_problems(layout: dict[str, Any]) -> list[str]:
    """Tables wider than the window or than their box, figures with text below :data:`MIN_TEXT_PX`."""
    problems = []
    for table in layout["tables"]:
        if table["right"] > layout["window"] + 0.5:
            problems.append(f"table {table['id']}: its right edge is at {table['right']:.0f} px, beyond the {layout['window']} px window")
        if table["scroll"] > table["client"] + 1:
            problems.append(f"table {table['id']}: {table['scroll']} px of content in a {table['client']} px box (columns hidden)")
    for figure in layout["figures"]:
        if not figure["natural"] or not figure["dpi"]:
            problems.append(f"figure {figure['id']}: no image size or resolution")
            continue
        if figure["pt"] <= 0:  # a figure without text
            continue
        px = figure["pt"] / 72 * figure["dpi"] * figure["shown"] / figure["natural"]
        if px < MIN_TEXT_PX:
            problems.append(f"figure {figure['id']}: its smallest text is {px:.1f} px as shown ({figure['pt']:g} pt), below {MIN_TEXT_PX:g} px")
    return problems


def pdf_layout(pdf: Path) -> dict[str, Any]:
    """Page sizes, bookmarks (title, level, page) and the text of every page."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    marks: list[tuple[str, int, int]] = []

    def walk(items: list, level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            else:
                marks.append((str(item.title), level, reader.get_destination_page_number(item) + 1))

    walk(reader.outline, 0)
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]
    return {"sizes": sizes, "bookmarks": marks, "texts": [p.extract_text() or "" for p in reader.pages]}


def pdf_problems(layout: dict[str, Any], sections: list[str]) -> list[str]:
    """Pages that are not A4 landscape, sections without a bookmark, bookmarks whose page does not show their title."""
    problems = [f"page {n}: {w:.1f} x {h:.1f} pt, not A4 landscape" for n, (w, h) in enumerate(layout["sizes"], 1)
                if abs(w - A4_LANDSCAPE[0]) > 1 or abs(h - A4_LANDSCAPE[1]) > 1]
    top = {title for title, level, _ in layout["bookmarks"] if level == 0}
    problems += [f"section {title!r} has no bookmark" for title in sections if title not in top]
    texts = [" ".join(text.split()) for text in layout["texts"]]
    for title, _, page in layout["bookmarks"]:
        head = " ".join(title.split())[:40]
        if not 1 <= page <= len(texts) or head not in texts[page - 1]:
            problems.append(f"bookmark {title!r} points to page {page}, which does not show it")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m reports.check DIR (a folder with report.html, report.pdf and report-index.json)", file=sys.stderr)
        return 2
    folder = Path(args[0])
    missing = [n for n in ("report.html", "report.pdf", "report-index.json") if not (folder / n).is_file()]
    browser = chromium()
    if missing or browser is None:
        print(f"cannot check {folder}: " + (f"missing {', '.join(missing)}" if missing else "Chromium is not installed"), file=sys.stderr)
        return 2
    sections = [s["title"] for s in json.loads((folder / "report-index.json").read_text())["sections"]]
    html = browser_layout(folder / "report.html", browser)
    pdf = pdf_layout(folder / "report.pdf")
    problems = html_problems(html) + pdf_problems(pdf, sections)
    for problem in problems:
        print(problem)
    print(f"{len(html['tables'])} tables and {len(html['figures'])} figures at {WINDOW[0]} px, {len(pdf['sizes'])} PDF pages: "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
