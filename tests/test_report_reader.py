"""The report as a reader sees it, built from a slice of the committed results.

The slice: the LTS Transformer-XL WT103 homogeneous run (98 models, every proxy, its ceiling and
predictor files) and the committed cross-benchmark tables. The tests read the built files
only: the PDF with pypdf (A4 pages, bookmarks, the summary's numbers equal to the stored
CSVs, formatted here independently), the HTML in headless Chromium at 1,366 px (no table
wider than the window or hiding columns, no figure text below 9 px), and the figure cache
(a second build renders nothing and gives the same files).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bench.cli.main import main

REPO = Path(__file__).resolve().parent.parent
RUN = "lts-transxl-wt103-homogeneous-cpu"
BENCHMARK = "lts:transxl-wt103-homogeneous"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("slice")
    shutil.copytree(REPO / "results" / RUN, root / "results" / RUN)
    for name in ("across-benchmarks.csv", "across-benchmarks-summary.csv"):
        shutil.copy(REPO / "results" / name, root / "results" / name)
    cache = root / "cache"
    out = root / "report"
    assert main(["report", str(root / "results"), "--out", str(out), "--no-progress", "--figure-cache", str(cache)]) == 0
    return {"results": root / "results", "out": out, "cache": cache, "root": root}


def _signed(value: float) -> str:
    return f"{value:+.3f}"


def _interval(value: float, low: float, high: float) -> str:
    return f"{_signed(value)} [{_signed(low)}, {_signed(high)}]"


def _pdf_text(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(path).pages]


def test_the_pdf_summary_shows_the_stored_numbers(built):
    labels = {info["proxy"]: info["label"] for info in json.loads((built["results"] / RUN / "proxies.json").read_text())}
    summary = pd.read_csv(built["results"] / "across-benchmarks-summary.csv")
    across = pd.read_csv(built["results"] / "across-benchmarks.csv")
    pages = _pdf_text(built["out"] / "report.pdf")
    contents = next(i for i, text in enumerate(pages) if text.startswith("Contents"))
    front = " ".join(pages[:contents])  # the summary comes before the contents
    top = summary.sort_values("mean_rank").head(5)
    for place, row in enumerate(top.itertuples(), 1):
        size = " (size)" if row.size_descriptor else ""
        assert f"{place}. {labels[row.proxy]}{size} {row.mean_rank:.1f}" in front, row.proxy
    mine = across[(across["benchmark"] == BENCHMARK) & ~across["size_descriptor"].astype(bool)]
    best = mine.loc[mine["kendall_tau"].idxmax()]
    expected = (f"{labels[best.proxy]}: τ {_signed(best.kendall_tau)}",
                f"vs #Params Δτ {_interval(best.delta_params_tau, best.delta_params_tau_lo, best.delta_params_tau_hi)}",
                f"Δτ {_interval(best.delta_tau, best.delta_tau_lo, best.delta_tau_hi)}",
                f"stratified τ {_signed(best.stratified_tau)}")
    for text in expected:
        assert text in front, text
    proxies = across[~across["size_descriptor"].astype(bool)]
    wins = proxies[proxies["delta_tau_lo"] > 0]  # the answer names every proxy that beats its benchmark's best size descriptor
    assert len(wins) >= 1
    for row in wins.itertuples():
        name = row.benchmark.split(":", 1)[1]
        assert f"{labels[row.proxy]} on LTS {name} (Δτ {_interval(row.delta_tau, row.delta_tau_lo, row.delta_tau_hi)})" in front, row
    assert f"on {wins['benchmark'].nunique()} of {across['benchmark'].nunique()} benchmarks only" in front


def test_the_pdf_is_a4_bookmarked_and_within_its_page_budget(built):
    from reports.check import pdf_layout, pdf_problems

    index = json.loads((built["out"] / "report-index.json").read_text())
    sections = [s["title"] for s in index["sections"]]
    layout = pdf_layout(built["out"] / "report.pdf")
    assert pdf_problems(layout, sections) == []
    blocks = [b for s in index["sections"] for b in s["blocks"]]
    assert len(layout["sizes"]) <= len(blocks)  # one benchmark: fewer pages than blocks
    pages = {title: page for title, level, page in layout["bookmarks"]}
    assert pages["Contents"] < pages[sections[1]] < pages["Appendix: inputs and provenance"] == max(pages.values())


def test_html_at_1366_px_hides_no_column_and_shows_no_text_below_9_px(built, tmp_path, chromium):
    from reports.check import MIN_TEXT_PX, browser_layout, html_problems

    browser = chromium
    html = built["out"] / "report.html"
    layout = browser_layout(html, browser)
    index = json.loads((built["out"] / "report-index.json").read_text())
    kinds = [b["kind"] for s in index["sections"] for b in s["blocks"]]
    assert len(layout["figures"]) == kinds.count("FigureBlock") >= 3
    assert len(layout["tables"]) >= kinds.count("Table") >= 5
    assert layout["window"] <= 1366
    assert html_problems(layout) == []
    for figure in layout["figures"]:  # every figure carries the facts the check needs
        assert figure["pt"] >= 7 and figure["dpi"] > 0 and figure["shown"] > 0
    # the check sees what a reader would: a table forced onto one line, and a figure with 5 pt text, are reported
    broken = tmp_path / "report.html"
    text = html.read_text(encoding="utf-8")
    text = text.replace("</style>", "table.data td, table.data th { white-space: nowrap !important; }</style>", 1)
    text = re.sub(r'data-min-font-pt="[0-9.]+"', 'data-min-font-pt="5.0"', text, count=1)
    broken.write_text(text, encoding="utf-8")
    problems = html_problems(browser_layout(broken, browser))
    assert any("columns hidden" in p or "beyond the" in p for p in problems), problems
    assert any(f"below {MIN_TEXT_PX:g} px" in p for p in problems), problems


def test_a_second_build_reads_every_figure_from_the_cache_and_gives_the_same_files(built, caplog):
    import logging

    out = built["root"] / "again"
    with caplog.at_level(logging.INFO, logger="reports.rasters"):
        assert main(["report", str(built["results"]), "--out", str(out), "--no-progress", "--figure-cache", str(built["cache"])]) == 0
    counts = [r.getMessage() for r in caplog.records if r.name == "reports.rasters"]
    assert counts and re.fullmatch(r"figures: (\d+) from the cache, 0 to render", counts[-1]), counts
    for name in ("report.html", "report.pdf", "report-index.json"):
        assert (out / name).read_bytes() == (built["out"] / name).read_bytes(), name


def test_the_pdf_is_the_same_file_drawn_in_one_process_or_two(built):
    out = built["root"] / "one-process"
    assert main(["report", str(built["results"]), "--out", str(out), "--no-progress", "--figure-cache", str(built["cache"]), "--jobs", "1"]) == 0
    assert (out / "report.pdf").read_bytes() == (built["out"] / "report.pdf").read_bytes()


def test_a_figure_fingerprint_follows_every_input_value_and_type():
    import numpy as np

    from reports.rasters import fingerprint

    frame = pd.DataFrame({"value": [1.0, 2.0], "score": [0.5, 0.25]})
    key = fingerprint("f", [frame], {}, b"salt")
    assert key == fingerprint("f", [frame.copy()], {}, b"salt")  # equal inputs, equal key
    assert key != fingerprint("f", [frame.assign(score=[0.5, 0.2500001])], {}, b"salt")
    assert key != fingerprint("f", [frame.rename(columns={"score": "y"})], {}, b"salt")
    assert key != fingerprint("f", [frame.set_axis(pd.Index([0, 1], name="arch"))], {}, b"salt")
    assert key != fingerprint("g", [frame], {}, b"salt") and key != fingerprint("f", [frame], {}, b"other")
    assert key != fingerprint("f", [frame], {"ylabel": "x"}, b"salt")
    mixed = fingerprint("f", [pd.DataFrame({"c": [1, "a"]})], {}, b"s")
    assert mixed is not None and mixed != fingerprint("f", [pd.DataFrame({"c": ["1", "a"]})], {}, b"s")  # 1 is not "1"
    assert fingerprint("f", [np.array([object()], dtype=object)], {}, b"s") is None  # no stable fingerprint: not cached
    assert fingerprint("f", [object()], {}, b"s") is None
