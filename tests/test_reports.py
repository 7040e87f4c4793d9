"""`bench report`: HTML and PDF reports built from stored results only.

A module fixture makes a small results folder with the real harness (a smoke-scale
benchmark run over 6 architectures, a two-seed run, an ablation run, and the committed
proxy cost file), then builds the report once with `bench report`; the tests check the
HTML (valid, complete, images that decode), the PDF (pages and text), a real headless
browser (no broken images), and the pieces (loaders, drawings, paper values).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pandas as pd
import pytest

from bench.cli.main import main

REPO = Path(__file__).resolve().parent.parent
TINY = ["--batch-size", "2", "--seq-len", "8", "--no-progress"]
VOID = {"meta", "img", "br", "hr", "link", "input", "source", "col", "area", "base", "wbr"}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A results folder written by the real `bench run` / `bench ablation` commands."""
    root = tmp_path_factory.mktemp("results")
    assert main(["run", "--proxies", "all", "--limit", "6", *TINY, "--out", str(root / "smoke")]) == 0
    assert main(["run", "--proxies", "params,w-pca,head-confidence", "--limit", "4", "--seed", "0-1", *TINY, "--out", str(root / "seeds")]) == 0
    assert main(["run", "--proxies", "params,w-pca", "--limit", "6", "--mode", "train", *TINY, "--out", str(root / "ablation" / "mode-train")]) == 0
    (root / "benchmarks").mkdir()
    shutil.copy(REPO / "results" / "benchmarks" / "proxy_cost.json", root / "benchmarks" / "proxy_cost.json")
    return root


@pytest.fixture(scope="module")
def report_dir(results, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert main(["report", str(results), "--out", str(out), "--bootstrap", "50", "--no-progress"]) == 0
    return out


class _Checker(HTMLParser):
    """Collects ids, images and table/figure blocks; records unbalanced tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[str] = []
        self.blocks: dict[str, str] = {}
        self.ids: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if "data-kind" in attributes:
            self.blocks[attributes["id"]] = attributes["data-kind"]
        if tag == "img":
            self.images.append(attributes.get("src", ""))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        self.stack.pop()


def _parse(path: Path) -> _Checker:
    checker = _Checker()
    checker.feed(path.read_text(encoding="utf-8"))
    checker.close()
    return checker


def test_reports_import_no_torch_space_or_proxy():
    code = ("import sys, bench.cli.report, reports.build, reports.html, reports.pdf, reports.load, reports.figures, reports.tables; "
            "bad = [m for m in ('torch', 'spaces', 'proxies', 'transformers') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_reports_module_imports_no_analysis_torch_space_or_proxy():
    """reports/ reads stored numbers only: importing any of its modules loads no bench.analysis module."""
    code = ("import importlib, pkgutil, sys, reports; "
            "names = [m.name for m in pkgutil.walk_packages(reports.__path__, 'reports.')]; "
            "[importlib.import_module(n) for n in names]; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'spaces', 'proxies', 'transformers') or m.startswith('bench.analysis')); "
            "print(len(names), bad); sys.exit(1 if bad or len(names) < 15 else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_html_is_valid_and_has_every_result(report_dir):
    html = report_dir / "report.html"
    checker = _parse(html)
    assert checker.doctype and not checker.errors and not checker.stack, (checker.errors, checker.stack)
    assert len(checker.ids) == len(set(checker.ids)), "duplicate ids"
    index = json.loads((report_dir / "report-index.json").read_text())
    listed = {b["key"]: b["kind"] for s in index["sections"] for b in s["blocks"]}
    kinds = {"Table": "table", "FigureBlock": "figure", "Missing": "missing"}
    assert {k: kinds[v] for k, v in listed.items()} == checker.blocks
    # every stored result appears: benchmark run, multi-seed run, cost file, ablation run, paper tables
    for key in ("table1-smoke", "fig2-smoke", "heatmap-smoke", "table6", "stability-seeds", "fig4-seeds",
                "cost-benchmarks", "cost-figure-benchmarks", "ablation-runs", "table2", "table3", "table4", "table5", "table7", "table8"):
        assert key in checker.blocks, key
    assert checker.blocks["search"] == "missing"  # no search results stored: shown as missing, with commands
    text = html.read_text(encoding="utf-8")
    assert "bench search --space nlu-small --proxy w-pca --scale cpu --seed 0 --out results/search/nlu-small-w-pca" in text
    assert "0.513" in text and "0.689" in text  # the paper's W-PCA row beside ours
    assert "bench run --proxies all --limit 6" in text  # provenance: the recorded command
    assert "git revision" in text and "versions" in text
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text  # nothing loaded from the network
    from PIL import Image

    figures = [k for k, v in checker.blocks.items() if v == "figure"]
    assert len(checker.images) == len(figures) >= 4
    for src in checker.images:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(BytesIO(data)) as image:
            image.verify()
            assert image.width >= 600


def test_pdf_is_a4_with_bookmarks_contents_and_every_block(report_dir):
    from pypdf import PdfReader

    from reports.check import pdf_layout, pdf_problems

    reader = PdfReader(report_dir / "report.pdf")
    layout = pdf_layout(report_dir / "report.pdf")
    index = json.loads((report_dir / "report-index.json").read_text())
    sections = [s["title"] for s in index["sections"]]
    blocks = [b for s in index["sections"] for b in s["blocks"]]
    assert pdf_problems(layout, sections) == []
    assert {(round(w), round(h)) for w, h in layout["sizes"]} == {(842, 595)}  # A4 landscape, every page
    marks = layout["bookmarks"]
    starts = [page for _, level, page in marks if level == 1]
    assert len(set(starts)) < len(starts)  # blocks flow down the pages: some page starts more than one block
    titled = {title for title, level, _ in marks if level == 1}
    assert {b["title"] for b in blocks} <= titled  # every table, figure and missing result has a bookmark
    top = [title for title, level, _ in marks if level == 0]
    assert top == [sections[0], "Contents", *sections[1:], "Appendix: inputs and provenance"]
    pages = [" ".join(t.split()) for t in layout["texts"]]
    contents = next(i for i, t in enumerate(pages) if t.startswith("Contents"))
    for title, level, page in marks:  # the contents list every section with its bookmark's page
        if level == 0 and title not in (sections[0], "Contents"):
            assert re.search(re.escape(title[:40]) + r".*? " + str(page) + r"\b", pages[contents]), title
    footer = re.search(r"page 1 of (\d+)", pages[0])
    assert footer and int(footer.group(1)) == len(pages)
    everything = " ".join(pages)
    for text in ("Kendall τ", "Spearman ρ", "W-PCA", "0.513", "Figure 4", "Table 8", "MISSING", "Provenance", "git revision"):
        assert text in everything, text
    assert reader.metadata.title.startswith("proxybench report")
    assert pages[-1].startswith("Appendix: inputs and provenance") or any(p.startswith("Appendix: inputs and provenance") for p in pages[-3:])
    assert everything.count("command: bench run --proxies all --limit 6") == 1  # each source printed once, however many blocks name it
    assert "Provenance: P1" in everything
    figures = [b for b in blocks if b["kind"] == "FigureBlock"]
    assert len({image.name for page in reader.pages for image in page.images}) >= len(figures) >= 4  # an image per figure (pages share one resource list)


def test_browser_shows_no_broken_images(report_dir, tmp_path, chromium):
    page = tmp_path / "page.html"
    probe = ("<script>window.addEventListener('load', function () {var imgs = document.images, broken = 0;"
             "for (var i = 0; i < imgs.length; i++) { if (!imgs[i].complete || imgs[i].naturalWidth === 0) broken++; }"
             "document.body.setAttribute('data-images', imgs.length); document.body.setAttribute('data-broken', broken);});</script>")
    page.write_text((report_dir / "report.html").read_text(encoding="utf-8").replace("</body>", probe + "</body>"), encoding="utf-8")
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    match = re.search(r'data-images="(\d+)" data-broken="(\d+)"', done.stdout)
    assert match, done.stderr[-2000:]
    images, broken = int(match.group(1)), int(match.group(2))
    assert images == len(_parse(report_dir / "report.html").images) and images >= 4
    assert broken == 0


def test_report_is_deterministic(results, report_dir, tmp_path):
    assert main(["report", str(results), "--out", str(tmp_path), "--bootstrap", "50", "--no-progress", "--no-pdf"]) == 0
    assert (tmp_path / "report.html").read_bytes() == (report_dir / "report.html").read_bytes()


def test_report_stores_the_analyses_it_reads(results, report_dir):
    """`bench report` stored the τ/ρ, stability and ablation tables the results lacked, saying how."""
    correlations = pd.read_csv(results / "smoke" / "correlations.csv")
    assert set(correlations["written_by"]) == {"bench report"} and set(correlations["n_boot"]) == {50} and set(correlations["bootstrap_seed"]) == {0}
    assert set(correlations["task"]) == {"glue"} and set(correlations["split"]) == {"all"}
    stability = pd.read_csv(results / "seeds" / "stability.csv")
    assert set(stability["written_by"]) == {"bench report"} and {"rank_cv", "kendall_w"} <= set(stability.columns)
    ablation = pd.read_csv(results / "ablation" / "report-ablation.csv")
    assert set(ablation["written_by"]) == {"bench report"} and set(ablation["n_boot"]) == {0}
    assert list(dict.fromkeys(ablation["setting"])) == ["reference", "mode=train"]
    text = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "computed by `bench report` from rows.csv and ground_truth.csv with bench.analysis.stats (50 bootstrap resamples, bootstrap seed 0) and stored in correlations.csv" in text
    assert "computed by `bench report` from rows.csv with bench.analysis.stability and stored in stability.csv" in text
    assert "computed by `bench report` from the runs&#39; rows with bench.analysis.ablation (reference smoke, 0 bootstrap resamples)" in text


def test_stored_statistics_are_used_only_when_current(results, tmp_path):
    from bench.analysis.stats import correlation_table
    from bench.cli.report import store_missing_analyses
    from reports.build import build_report
    from reports.load import discover, load_run
    from reports.section_benchmark import main_correlations

    run_dir = tmp_path / "smoke"
    shutil.copytree(results / "smoke", run_dir)
    (run_dir / "correlations.csv").unlink(missing_ok=True)  # stored by the report fixture's `bench report`
    assert main_correlations(load_run(run_dir, "smoke"), 20, 0) is None
    found = discover([run_dir])
    report = build_report(found, n_boot=20, progress=False)
    assert {"table1-smoke", "fig2-smoke"} <= {b.key for b in report.missing()}  # reports compute nothing
    for figure in report.figures():
        figure.release()

    assert store_missing_analyses(found, 20, 0) == [run_dir / "correlations.csv"]
    stored = main_correlations(load_run(run_dir, "smoke"), 20, 0)
    assert stored.how.startswith("computed by `bench report`") and "20 bootstrap resamples, bootstrap seed 0" in stored.how
    run = load_run(run_dir, "smoke")
    direct = correlation_table(run.rows, run.truth, 0, ["glue"], 20, 0).set_index("proxy")
    pd.testing.assert_series_equal(stored.frame["kendall_lo"], direct["kendall_lo"], check_exact=False, rtol=1e-12)
    assert main_correlations(run, 30, 0) is None and main_correlations(run, 20, 1) is None  # other bootstrap settings: not the report's
    assert store_missing_analyses(discover([run_dir]), 20, 0) == []  # current: nothing recomputed

    assert main(["correlate", str(run_dir), "--bootstrap", "20"]) == 0
    fresh = main_correlations(load_run(run_dir, "smoke"), 20, 0)
    assert fresh.how.startswith("read from correlations.csv (written by `bench correlate`")
    written = pd.read_csv(run_dir / "correlations.csv")
    assert fresh.frame.loc["w-pca", "kendall_tau"] == pytest.approx(written.set_index("proxy").loc["w-pca", "kendall_tau"])
    assert main_correlations(load_run(run_dir, "smoke"), 30, 0) is not None  # a command's own table is used as it is
    written.loc[written["proxy"] == "w-pca", "n"] -= 1  # as if rows were appended after `bench correlate`
    written.to_csv(run_dir / "correlations.csv", index=False)
    assert main_correlations(load_run(run_dir, "smoke"), 20, 0) is None
    assert store_missing_analyses(discover([run_dir]), 20, 0) == [run_dir / "correlations.csv"]
    restored = main_correlations(load_run(run_dir, "smoke"), 20, 0)
    assert restored.how.startswith("computed by `bench report`")
    assert restored.frame.loc["w-pca", "kendall_tau"] == pytest.approx(fresh.frame.loc["w-pca", "kendall_tau"])


def test_stale_stability_table_is_replaced_by_the_report(results, tmp_path):
    from bench.analysis.stability import stability_table
    from bench.cli.report import store_missing_analyses
    from reports.load import discover, load_run
    from reports.section_analysis import stability_blocks, stored_stability

    run_dir = tmp_path / "seeds"
    shutil.copytree(results / "seeds", run_dir)
    assert main(["stability", str(run_dir)]) == 0
    frame, how = stored_stability(load_run(run_dir, "seeds"))
    assert how == "read from stability.csv (written by `bench stability`)"
    table = pd.read_csv(run_dir / "stability.csv")
    table.loc[0, "seeds"] += 1
    table.to_csv(run_dir / "stability.csv", index=False)
    run = load_run(run_dir, "seeds")
    assert stored_stability(run) is None
    from reports.model import Missing

    blocks = stability_blocks(run)
    assert [b.key for b in blocks] == ["stability-seeds", "fig4-seeds"] and all(isinstance(b, Missing) for b in blocks)
    assert store_missing_analyses(discover([run_dir]), 0, 0) == [run_dir / "stability.csv"]
    frame, how = stored_stability(load_run(run_dir, "seeds"))
    assert how.startswith("computed by `bench report`")
    expected = stability_table(run.rows).set_index("proxy")
    assert frame["kendall_w"].to_dict() == pytest.approx(expected["kendall_w"].to_dict())


def test_stored_ablation_table_is_rendered(results, tmp_path):
    from reports.build import build_report
    from reports.load import discover

    csv = tmp_path / "table1-ablation.csv"
    assert main(["ablation", str(results / "smoke"), str(results / "ablation" / "mode-train"), "--out", str(csv)]) == 0
    found = discover([results, csv])
    assert len([a for a in found.ablations if not a.by_report]) == 1
    report = build_report(found, n_boot=0, progress=False)
    assert "ablation-runs" not in {t.key for t in report.tables()}  # a table of `bench ablation` replaces the report's own
    table = next(t for t in report.tables() if t.key.startswith("ablation-") and "table1-ablation" in t.key)
    assert any("mode=train" in h for h in table.header) and table.header[-1] == "paper (Table 1)"
    stored = pd.read_csv(csv).set_index(["proxy", "setting"])
    w_pca = next(r for r in table.rows if r[0].text == "W-PCA")  # labelled as the runs stored it
    assert w_pca[1].text.startswith(f"{stored.loc[('w-pca', 'reference'), 'kendall_tau']:+.3f}")
    assert w_pca[-1].text == "0.513 / 0.689"
    for figure in report.figures():
        figure.release()


def test_torn_rows_line_is_ignored_and_not_repaired(results, tmp_path):
    from reports.load import read_rows

    path = tmp_path / "rows.csv"
    content = (results / "smoke" / "rows.csv").read_bytes()
    torn = content + content.splitlines(keepends=True)[1][:40]
    path.write_bytes(torn)
    rows = read_rows(path)
    assert len(rows) == len(content.splitlines()) - 1
    assert path.read_bytes() == torn


def test_search_and_evaluation_results_fill_the_nlu_tables(tmp_path):
    """Directories in the layout of bench/store/search.py and bench/train/evaluate.py (see
    docs/reports.md) turn missing rows into ours rows."""
    from reports.build import build_report
    from reports.load import discover

    search = tmp_path / "search" / "nlu-small-w-pca"
    search.mkdir(parents=True)
    arch = [0, 6, 7, 11, 5, 8, 9, 10, 11, 6, 7, 8]
    (search / "manifest.json").write_text(json.dumps({"kind": "search", "command": ["bench", "search", "--space", "nlu-small", "--proxy", "w-pca"], "config": {"space": "nlu-small"}, "device": "cpu: test"}))
    (search / "best_arch.json").write_text(json.dumps(arch) + "\n")
    (search / "rows.csv").write_text("space,arch_id,arch_hash,arch,proxy,proxy_version,seed,value,seconds,pass_seconds,status,error\n")  # the evaluation cache
    (search / "summary.json").write_text(json.dumps({
        "status": "complete", "space": "nlu-small", "method": "ga",
        "fitness": {"name": "w-pca", "label": "W-PCA", "version": "1", "higher_is_better": True, "seed": 0},
        "best": {"arch": arch, "fitness": 1.5e9, "params_built": 15_500_000, "params_official": 15_400_000},
        "cost": {"wall_seconds": 5400.0, "device": "cpu: test", "evaluations": 250},
    }))
    pd.DataFrame({"generation": range(5), "evaluations": [50, 100, 150, 200, 250], "best_fitness": [1.0, 1.2, 1.3, 1.5, 1.5],
                  "best_arch": [json.dumps(arch)] * 5, "generation_best": [1.0, 1.2, 1.3, 1.5, 1.4],
                  "generation_mean": [0.5, 0.8, 1.0, 1.1, 1.2], "seconds": [1080.0] * 5}).to_csv(search / "trace.csv", index=False)
    evaluation = tmp_path / "eval-cpu"
    evaluation.mkdir()
    (evaluation / "manifest.json").write_text(json.dumps({"kind": "evaluation", "command": ["bench", "evaluate"], "config": {"scale": "cpu"}}))
    scores = {("qnli", "dev"): 80.0, ("mrpc", "dev"): 81.0, ("sst-2", "dev"): 82.0, ("cola", "dev"): 20.0, ("sts-b", "dev"): 70.0,
              ("mnli", "dev-m"): 70.0, ("mnli", "dev-mm"): 69.0, ("rte", "dev"): 60.0, ("qqp", "dev"): 75.0}
    common = {"seed": 0, "steps": 10, "n": 100, "status": "ok", "note": "", "space": "nlu-small", "arch": json.dumps(arch), "teacher": "t", "train_dir": "x"}
    rows = [{"model": "W-PCA-Small", "task": t, "metric": "score", "value": v, "split": sp, **common} for (t, sp), v in scores.items()]
    rows += [{"model": "W-PCA-Small", "task": "model", "metric": "params_official", "value": 15_400_000, "split": "-", **common},
             {"model": "W-PCA-Small", "task": "latency", "metric": "ms", "value": 12.5, "split": "batch1-seq128", **common},
             {"model": "W-PCA-Small", "task": "squad-v1.1", "metric": "em", "value": 50.0, "split": "dev-heldout-articles", **common},
             {"model": "other", "task": "qnli", "metric": "score", "value": 10.0, "split": "dev", **{**common, "arch": json.dumps([0] * 12)}}]
    teacher = {**common, "space": "", "arch": ""}
    rows += [{"model": "teacher (mini)", "task": t, "metric": m, "value": v, "split": sp, **teacher}
             for t, m, v, sp in [("sst-2", "score", 83.0, "dev"), ("squad-v1.1", "em", 37.9, "dev-heldout-articles"),
                                 ("squad-v1.1", "f1", 51.7, "dev-heldout-articles"), ("model", "params", 22_700_000, "-")]]
    pd.DataFrame(rows).to_csv(evaluation / "metrics.csv", index=False)

    found = discover([tmp_path])
    assert [s.key for s in found.searches] == ["nlu-small/w-pca"] and not found.runs
    assert found.evaluations[0].models() == ["W-PCA-Small", "other", "teacher (mini)"]
    report = build_report(found, n_boot=0, progress=False)
    table5 = next(t for t in report.tables() if t.key == "table5")
    ours = next(r for r in table5.rows if r[0].text.startswith("ours: nlu-small/w-pca"))
    dev8 = [80.0, 81.0, 82.0, 20.0, 70.0, 70.0, 60.0, 75.0]
    assert [c.text for c in ours[1:]] == ["15.4", *(f"{v:.1f}" for v in dev8), f"{sum(dev8) / 8:.1f}"]
    v_pca = next(r for r in table5.rows if r[0].text.startswith("ours: nlu-small/v-pca"))
    assert all(c.kind == "missing" for c in v_pca[1:])
    assert any("bench search --space nlu-small --proxy v-pca" in n for n in table5.notes)
    table2 = next(t for t in report.tables() if t.key == "table2")
    ours2 = next(r for r in table2.rows if r[0].text.startswith("ours: nlu-small/w-pca"))
    assert [c.text for c in ours2[2:4]] == ["15.4", "12.5"] and ours2[9].text == "70.0/69.0"
    assert any("dev" in n and "test labels are not public" in n for n in table2.notes)
    table3 = next(t for t in report.tables() if t.key == "table3")
    ours3 = next(r for r in table3.rows if r[0].text.startswith("ours: nlu-small/w-pca"))
    assert ours3[2].text == f"{1.5 / 24:.3f}"  # 1.5 hours, in the column's days
    assert "Our search time: wall-clock days on cpu: test, not GPU days." in table3.notes
    table4 = next(t for t in report.tables() if t.key == "table4")
    ours4 = next(r for r in table4.rows if r[0].text.startswith("ours: nlu-small/w-pca"))
    assert ours4[2].text == "50.0/-" and ours4[3].kind == "missing"
    teacher4 = next(r for r in table4.rows if r[0].text.startswith("ours: teacher (mini)"))
    assert [c.text for c in teacher4[1:3]] == ["22.7", "37.9/51.7"] and teacher4[3].kind == "missing"
    teacher2 = next(r for r in table2.rows if r[0].text.startswith("ours: teacher (mini)"))
    assert teacher2[6].text == "83.0" and teacher2[5].kind == "missing"
    assert table2.rows.index(teacher2) == 1 + next(i for i, r in enumerate(table2.rows) if r[0].text == "BERT-base (ours) (paper)")
    assert any("ours: teacher: the fine-tuned teacher" in n for n in table4.notes)
    keys = {b.key for b in report.blocks()}
    assert {"searches", "search-traces", "fig5"} <= keys and "table1" in keys  # no benchmark run: Table 1 missing
    for figure in report.figures():
        figure.release()


def test_discovery_dispatches_on_the_manifest_kind(results, tmp_path):
    """What a directory holds is its manifest's kind, not its name or files; no kind: skipped, naming the migration."""
    from reports.load import MIGRATE_COMMAND, discover

    run = tmp_path / "search" / "nlu-small-w-pca"  # named and laid out like a search, but a proxy run
    shutil.copytree(results / "smoke", run)
    (run / "best_arch.json").write_text("[0]")
    (run / "trace.csv").write_text("generation,best_fitness\n0,1.0\n")
    old = tmp_path / "old-run"
    shutil.copytree(results / "smoke", old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["kind"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    training = tmp_path / "train" / "student"
    training.mkdir(parents=True)
    (training / "manifest.json").write_text(json.dumps({"kind": "training", "config": {}}))
    (training / "metrics.csv").write_text("model,task,metric,value\nx,sst-2,score,1.0\n")  # ignored: a training is not an evaluation
    found = discover([tmp_path])
    assert [r.name for r in found.runs] == ["search/nlu-small-w-pca"] and not found.searches and not found.evaluations
    skipped = dict(found.skipped)
    assert MIGRATE_COMMAND in skipped["old-run"] and "records no kind" in skipped["old-run"]
    assert "training" in skipped["train/student"]


def test_nlu_architecture_drawing_matches_the_space():
    from matplotlib.patches import Rectangle

    from reports.figures import BLOCK_COLOURS, decode_nlu_blocks, nlu_architecture_figure
    from spaces.nlu.arch import block_type, ffn_width

    for index in range(12):
        assert decode_nlu_blocks([index], 132) == [(block_type(index), ffn_width(index, 132))]
    with pytest.raises(ValueError, match="position 1: block index 12"):
        decode_nlu_blocks([0, 12], 132)
    archs = [("made-up A", decode_nlu_blocks([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 132)), ("made-up B", decode_nlu_blocks([6] * 6, 132))]
    fig = nlu_architecture_figure(archs)
    rects = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert len(rects) == 18
    first = rects[:12]
    heights = [r.get_height() for r in first]
    assert heights[:6] == sorted(heights[:6]) and heights[6:] == sorted(heights[6:]) and heights[5] > heights[0]
    assert [tuple(r.get_facecolor()[:3]) for r in first] == [tuple(BLOCK_COLOURS["bert"])] * 6 + [tuple(BLOCK_COLOURS["mobilebert"])] * 6
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels[:12] == [str(132 * (i + 1)) for i in range(6)] + [str(132 * (i + 1)) for i in range(6)]


def test_paper_tables_are_transcribed_consistently():
    """Each row has one value per column, and AVG is the mean of the row's task scores."""
    from reports.paper_values import NLU_TABLES, TABLE1

    assert TABLE1["w-pca"][2:] == (0.513, 0.689)
    inconsistent = []
    for table in NLU_TABLES:
        for model, _, values, _ in table.rows:
            assert len(values) == len(table.columns), (table.number, model)
        if "AVG" not in table.columns:
            continue
        tasks = [i for i, c in enumerate(table.columns) if c not in ("#Params (M)", "Latency (ms)", "Time (GPU days)", "AVG")]
        for model, _, values, _ in table.rows:
            scores = [x for i in tasks for x in (values[i] if isinstance(values[i], tuple) else (values[i],))]
            if None in scores:
                continue
            if abs(sum(scores) / len(scores) - values[table.columns.index("AVG")]) > 0.06:
                inconsistent.append((table.number, model))
    # the paper's own inconsistency: its printed EfficientBERT scores in Table 7 average 79.0, not 78.7
    assert inconsistent == [(7, "EfficientBERT (Dong et al., 2021)")]


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert "no stored results found" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["report", str(tmp_path / "empty"), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_wide_ablation_is_transposed_with_one_table_per_statistic():
    from reports.section_analysis import WIDE_ABLATION, _ablation_table

    settings = ["reference", *(f"eta={i}" for i in range(WIDE_ABLATION))]
    frame = pd.DataFrame([
        {"setting": s, "proxy": p, "n": 10, "kendall_tau": 0.1 * i + (0.01 if p == "w-pca" else 0.0), "spearman_rho": 0.2 * i}
        for i, s in enumerate(settings) for p in (("w-pca", "params") if s == "reference" else ("w-pca",))
    ])
    tau, rho = _ablation_table(frame, "test", [], "x", {"w-pca": "W-PCA"})
    assert tau.header == ["Setting", "W-PCA", "params"] and rho.header == tau.header  # stored labels, else the name
    assert [row[0].text for row in tau.rows] == [f"{s} (n=10)" for s in settings] + ["paper (Table 1)"]
    assert tau.rows[1][1].text == "+0.110" and tau.rows[1][2].text == "—" and rho.rows[1][1].text == "+0.200"
    assert tau.rows[-1][1].text == "0.513" and rho.rows[-1][1].text == "0.689"  # the paper's W-PCA


def test_training_budget_of_an_ours_row_is_read_from_its_task_rows():
    from reports.section_nlu import training_budget

    rows = pd.DataFrame({"task": ["model", "general", "sst-2", "rte"], "metric": ["params", "loss", "score", "score"],
                         "value": [1.0, 2.0, 50.0, 47.0], "steps": [3, 250, 100, 80]})
    assert training_budget(rows).startswith("80-100 training steps per task")
    assert training_budget(rows[rows["task"] == "model"]) is None


def test_the_longest_trained_evaluation_of_a_model_supplies_each_metric():
    from reports.section_nlu import evaluation_rows

    class Stored:
        def __init__(self, steps, value):
            self.frame = pd.DataFrame({"task": ["sst-2", "rte"], "metric": ["score", "score"], "value": [value, 47.0], "split": ["dev", "dev"], "steps": [steps, steps]})

        def rows_for(self, space, arch=None, model=None):
            return self.frame

    short, long = Stored(100, 50.9), Stored(300, 67.0)
    long.frame = long.frame[long.frame["task"] == "sst-2"]
    rows, used = evaluation_rows("nlu-small/w-pca", None, [short, long])
    assert used == [short, long]
    assert rows.set_index("task")["value"].to_dict() == {"sst-2": 67.0, "rte": 47.0}


def test_budget_counts_only_the_tables_tasks_and_gap_notes_say_why_cells_are_missing():
    from reports.model import Cell
    from reports.paper_values import NLU_TABLES
    from reports.section_nlu import gap_note, our_cells, table_tasks, training_budget

    table5 = next(t for t in NLU_TABLES if t.number == 5)
    rows = pd.DataFrame({
        "task": ["model", "sst-2", "mrpc", "squad-v1.1", "qnli", "qnli"],
        "metric": ["params_official", "score", "score", "f1", "accuracy", "score"],
        "value": [15.7e6, 67.0, 80.9, 9.2, None, None],
        "split": ["-", "dev", "dev", "dev-heldout-articles", "dev", "dev"],
        "steps": [300, 300, 300, 100, None, None],
        "status": ["ok", "ok", "ok", "ok", "missing", "missing"],
        "note": ["", "", "", "", "QNLI has no training set here", "QNLI has no training set here"],
    })
    assert "squad-v1.1" not in table_tasks(table5) and {"sst-2", "qnli", "mrpc"} <= table_tasks(table5)
    assert training_budget(rows, table_tasks(table5)).startswith("300 training steps")  # SQuAD's 100 is not in Table 5
    cells, _ = our_cells(table5, None, rows)
    note = gap_note("nlu-small/w-pca", table5, cells, rows, have_search=True)
    assert note.startswith("QNLI: not in the local data (QNLI has no training set here)")
    assert "CoLA, STS-B, MNLI-m, RTE, QQP: not trained or evaluated yet" in note and "bench train" in note
    assert note.endswith("AVG: needs every task of the row")
    empty = pd.DataFrame(columns=rows.columns)
    assert gap_note("nlu-small/v-pca", table5, [Cell("missing", "missing")] * len(table5.columns), empty, True).startswith("not trained yet; produce it with: `bench train")


def test_provenance_lists_the_commands_that_resumed_a_result():
    from types import SimpleNamespace

    from reports.provenance import result_provenance

    manifest = {"command": ["bench", "train", "--tasks", "sst-2"], "config": {"scale": "cpu"},
                "later_commands": [{"command": ["bench", "train", "--tasks", "cola"], "at": "t", "git_revision": "r"}]}
    provenance = result_provenance(SimpleNamespace(path="results/eval/x", manifest=manifest))
    assert provenance.command == "bench train --tasks sst-2; then: bench train --tasks cola"
    assert result_provenance(SimpleNamespace(path="p", manifest={})).command == "not recorded"


def test_heldout_seed_table_is_discovered_and_summarised(tmp_path):
    from reports.load import discover
    from reports.section_heldout_seeds import heldout_seeds_table

    losses = {("a", 0): 4.10, ("a", 1): 4.20, ("b", 0): 4.15, ("b", 1): 4.30}
    runs = pd.DataFrame([{"name": f"{m}-seed{s}", "model": m, "space": "nlu-small", "arch": "[1]", "seed": s, "heldout_kd_loss": v,
                          "steps": 300, "device": "cpu", "git_revision": "abc", "versions": json.dumps({"torch": "2"}), "command": "bench train"}
                         for (m, s), v in losses.items()])
    runs.to_csv(tmp_path / "heldout.csv", index=False)
    pd.DataFrame([{"model": "b", "against": "a", "seeds": 2, "mean_diff": 0.075, "std_diff": 0.035, "wins_of_against": 2, "p_paired_t": 0.205}]).to_csv(
        tmp_path / "heldout-paired.csv", index=False)
    results = discover([tmp_path])
    assert len(results.heldout_seeds) == 1 and results.heldout_seeds[0].paired is not None
    assert not results.ablations  # the paired file is part of its seed table, not a result of its own
    table = heldout_seeds_table(results.heldout_seeds[0])
    cells = {row[0].text: [c.text for c in row] for row in table.rows}
    assert list(cells) == ["a", "b"]  # lowest mean first
    assert cells["a"][2:7] == ["2", "4.150", f"{pd.Series([4.10, 4.20]).std():.3f}", "4.100", "4.200"]
    assert cells["a"][7] == "reference"
    assert cells["b"][7:] == ["a", "+0.075 ± 0.035", "2 of 2 seeds", "0.2050"]
    assert table.provenance[0].device == "cpu" and "torch 2" in table.provenance[0].versions
