"""NLU experiments: Tables 2-5, 7 and 8, search traces, and Fig. 5 drawings.

Each paper table is shown row by row with the paper's numbers; under every row that this
project can reproduce (a proxy's search on an NLU space, or the SPOS baseline) comes an
``ours`` row filled from stored results, or marked missing with the commands that produce
it. Rows are keyed ``"<space>/<fitness>"`` (e.g. ``nlu-small/w-pca``), except the paper's
own BERT-base rows, keyed ``"teacher"``: under them come the scores of the fine-tuned
teachers our students learnt from (the ``teacher (<name>)`` models of ``metrics.csv``).
For the other keys:

* the search of that key (:class:`reports.load.SearchResult`) gives #Params of the best
  architecture and the search time;
* the evaluation rows of the model trained on that architecture (matched by space and
  architecture in ``metrics.csv``; else the model named ``<space>-<fitness>``) give the
  task scores, latency and #Params.

The ``metrics.csv`` rows read for each column are :data:`METRICS` (docs/reports.md). The
commands are :data:`SEARCH_COMMAND`, :data:`SPOS_COMMAND` and :data:`TRAIN_COMMAND`;
update them here when the search command's flags change.
"""

from __future__ import annotations

import json
import math
from typing import Sequence

import pandas as pd

from reports.figures import decode_nlu_blocks, defer, nlu_architecture_figure, trace_figure
from reports.load import EvaluationResult, SearchResult
from reports.model import Cell, FigureBlock, Missing, Provenance, Table
from reports.paper_values import NLU_TABLES, PaperTable
from reports.provenance import result_provenance

SEARCH_COMMAND = ("bench search --space {space} --proxy {method} --scale cpu --seed 0 "
                  "--out results/search/{space}-{method}")
SPOS_COMMAND = ("bench spos train --space {space} --scale cpu --seed 0 --out runs/spos/{space}-cpu && "
                "bench spos search --supernet runs/spos/{space}-cpu --seed 0 --out results/search/{space}-spos")
TRAIN_COMMAND = ("bench train --space {space} --arch results/search/{space}-{method}/best_arch.json --name {space}-{method} "
                 "--scale cpu --teacher-cache runs/train/teachers --out runs/train/{space}-{method}-cpu && "
                 "bench evaluate runs/train/{space}-{method}-cpu --out results/eval/{space}-{method}")

#: Key of the rows filled by the distillation teachers' own scores.
TEACHER_KEY = "teacher"
TEACHER_COMMAND = "bench evaluate runs/train/nlu-small-w-pca-cpu --out results/eval/teacher --teachers only"

#: Table column -> ``(task, metric, split)`` rows of metrics.csv (split ``None``: the
#: table's split if stored, else any); two entries for two-number cells. #Params takes the
#: first entry found.
METRICS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "#Params (M)": (("model", "params_official", None), ("model", "params", None)),
    "Latency (ms)": (("latency", "ms", None),),
    "QNLI": (("qnli", "score", None),),
    "MRPC": (("mrpc", "score", None),),
    "SST-2": (("sst-2", "score", None),),
    "CoLA": (("cola", "score", None),),
    "STS-B": (("sts-b", "score", None),),
    "MNLI-m": (("mnli", "score", "dev-m"),),
    "MNLI-m/mm": (("mnli", "score", "dev-m"), ("mnli", "score", "dev-mm")),
    "RTE": (("rte", "score", None),),
    "QQP": (("qqp", "score", None),),
    "AVG": (("glue", "avg", None),),
    "SQuAD v1.1 EM/F1": (("squad-v1.1", "em", None), ("squad-v1.1", "f1", None)),
    "SQuAD v2.0 EM/F1": (("squad-v2.0", "em", None), ("squad-v2.0", "f1", None)),
}
#: Default FFN unit of each NLU space (spaces/nlu: 132 for hidden 528, 264 for 1056).
FFN_UNIT = {"nlu-small": 132, "nlu-tiny": 132, "nlu-large": 264}
#: Searches the paper runs (Tables 2, 3, 5, 7, 8).
PAPER_SEARCHES = tuple(
    [f"nlu-small/{p}" for p in ("w-pca", "v-pca", "params", "synaptic-saliency", "activation-distance", "synaptic-diversity", "head-confidence", "softmax-confidence")]
    + ["nlu-tiny/w-pca", "nlu-large/w-pca", "nlu-small/spos", "nlu-tiny/spos"]
)


def commands_for(key: str, have_search: bool) -> list[str]:
    """The commands that produce the ``ours`` row of ``key`` (search first if it is missing;
    the teachers are fine-tuned by any student's training)."""
    if key == TEACHER_KEY:
        return [*commands_for("nlu-small/w-pca", have_search=True), TEACHER_COMMAND]
    space, method = key.split("/", 1)
    out = []
    if not have_search:
        out.append((SPOS_COMMAND if method == "spos" else SEARCH_COMMAND).format(space=space, method=method))
    out.append(TRAIN_COMMAND.format(space=space, method=method))
    return out


def gap_note(key: str, table: PaperTable, cells: list[Cell], rows: pd.DataFrame, have_search: bool) -> str:
    """Why an ``ours`` row has missing cells: nothing trained yet (with the commands), or per
    column, the task is absent from the local data (the ``missing`` rows ``bench evaluate``
    stored, with their note) or not evaluated yet."""
    commands = " && ".join(f"`{c}`" for c in commands_for(key, have_search))
    if rows.empty:
        return f"not trained yet; produce it with: {commands}"
    columns = table.columns
    absent: list[str] = []
    reasons: list[str] = []
    pending: list[str] = []
    status = rows["status"].astype(str) if "status" in rows else pd.Series("", index=rows.index)
    for column, cell in zip(columns, cells):
        if cell.kind != "missing" or column in ("AVG", "#Params (M)", "Time (GPU days)"):
            continue
        notes = [str(n) for task, _, _ in METRICS.get(column, ())
                 for n in rows.loc[(rows["task"].astype(str) == task) & (status == "missing"), "note"] if str(n) not in ("", "nan")]
        if notes:
            absent.append(column)
            if notes[0] not in reasons:
                reasons.append(notes[0])
        else:
            pending.append(column)
    parts = []
    if absent:
        parts.append(f"{', '.join(absent)}: not in the local data ({'; '.join(reasons)})")
    if pending:
        parts.append(f"{', '.join(pending)}: not trained or evaluated yet (the commands: {commands}, with --tasks)")
    if "AVG" in columns and cells[columns.index("AVG")].kind == "missing":
        parts.append("AVG: needs every task of the row")
    return "; ".join(parts) or "some cells are missing"


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def paper_cell(value: object) -> str:
    """The paper's number as printed (pairs as ``a/b``, ``-`` for none)."""
    if isinstance(value, tuple):
        return "/".join(_fmt(v) for v in value)
    return _fmt(value)  # type: ignore[arg-type]


def _metric(rows: pd.DataFrame, task: str, metric: str, split: str | None, table_split: str) -> tuple[float | None, str | None]:
    """The value of one (task, metric[, split]) in a model's evaluation rows, and its split."""
    if rows.empty:
        return None, None
    chosen = rows[(rows["task"].astype(str).str.lower() == task) & (rows["metric"].astype(str).str.lower() == metric)]
    chosen = chosen[pd.to_numeric(chosen["value"], errors="coerce").notna()]
    if "split" in chosen.columns:
        if split is not None:
            chosen = chosen[chosen["split"].astype(str) == split]
        else:
            preferred = chosen[chosen["split"].astype(str) == table_split]
            chosen = preferred if not preferred.empty else chosen
    if chosen.empty:
        return None, None
    return float(chosen["value"].iloc[0]), (str(chosen["split"].iloc[0]) if "split" in chosen.columns else None)


def our_cells(table: PaperTable, search: SearchResult | None, rows: pd.DataFrame) -> tuple[list[Cell], set[str]]:
    """Value cells of an ``ours`` row, and the data splits its scores came from.

    #Params (millions) come from the evaluation (the reference's accounting,
    ``params_official``, when stored), else from the search's best architecture; the
    search time from the search (wall-clock days on its device, named in a note, where the paper gives GPU days);
    task scores and latency from the evaluation rows. AVG is a stored ``glue/avg``, else
    the mean of the row's task scores when every one of them is present (the paper averages
    the printed numbers, MNLI-m and -mm both counted in its test tables).
    """
    values: dict[str, list[float | None]] = {}
    splits: set[str] = set()
    for column in table.columns:
        found: list[float | None] = []
        for task, metric, split in METRICS.get(column, ()):
            value, used = _metric(rows, task, metric, split, table.split)
            found.append(value)
            if used and value is not None and task not in ("model", "latency"):
                splits.add(used)
        if column == "#Params (M)":
            params = next((v for v in found if v is not None), None)
            if params is None and search is not None:
                params = search.params
            found = [params / 1e6] if params is not None else []
        values[column] = found
    tasks = [c for c in table.columns if c not in ("#Params (M)", "Latency (ms)", "Time (GPU days)", "AVG")]
    if "AVG" in values and not any(v is not None for v in values["AVG"]):
        task_values = [v for c in tasks for v in values[c]]
        complete = all(values[c] and all(v is not None for v in values[c]) for c in tasks)
        values["AVG"] = [sum(task_values) / len(task_values)] if complete and task_values else []  # type: ignore[arg-type]
    cells = []
    for column in table.columns:
        if column == "Time (GPU days)":
            seconds = search.wall_seconds if search else None
            cells.append(Cell(f"{seconds / 86400:.3f}", "ours") if seconds is not None and search else Cell("missing", "missing"))
            continue
        found = values[column]
        if not found or all(v is None for v in found):
            cells.append(Cell("missing", "missing"))
        else:
            cells.append(Cell("/".join("-" if v is None else f"{v:.1f}" for v in found), "ours"))
    return cells, splits


def evaluation_rows(key: str, search: SearchResult | None, evaluations: Sequence[EvaluationResult]) -> tuple[pd.DataFrame, list[EvaluationResult]]:
    """Evaluation rows of the model of ``key`` (by the search's architecture, else by name);
    where several evaluations hold the same task metric, the one trained longest is kept.
    The ``teacher`` key collects the rows of every ``teacher (<name>)`` model."""
    frames, used = [], []
    for evaluation in evaluations:
        if key == TEACHER_KEY:
            # bench evaluate names each teacher "teacher (<label>)" (bench/train/evaluate.py)
            teachers = [m for m in evaluation.models() if m.startswith("teacher (")]
            rows = pd.concat([evaluation.rows_for("", model=m) for m in teachers]) if teachers else pd.DataFrame()
        else:
            space, method = key.split("/", 1)
            rows = evaluation.rows_for(space, search.arch if search else None, model=f"{space}-{method}")
        if not rows.empty:
            frames.append(rows)
            used.append(evaluation)
    if not frames:
        return pd.DataFrame(columns=["task", "metric", "value", "split"]), used
    rows = pd.concat(frames, ignore_index=True)
    if "steps" in rows:  # several evaluations of one model: each metric from its longest training
        rows = rows.assign(_steps=pd.to_numeric(rows["steps"], errors="coerce")).sort_values("_steps", ascending=False, kind="stable", na_position="last")
        rows = rows.drop_duplicates([c for c in ("task", "metric", "split") if c in rows]).drop(columns="_steps")
    return rows, used


NOT_TASKS = ("model", "latency", "general", "glue")


def table_tasks(table: PaperTable) -> set[str]:
    """The tasks whose scores fill the table's columns."""
    return {task for column in table.columns for task, _, _ in METRICS.get(column, ()) if task not in NOT_TASKS}


def training_steps(rows: pd.DataFrame, tasks: set[str] | None = None) -> str | None:
    """The range of optimisation steps of the row's task stages (``300`` or ``100-300``: the
    ``steps`` of its rows for ``tasks``, default every task), or ``None`` when no such row is stored."""
    if rows.empty or "steps" not in rows:
        return None
    names = rows["task"].astype(str)
    task_rows = rows[names.isin(tasks) if tasks is not None else ~names.isin(NOT_TASKS)]
    steps = pd.to_numeric(task_rows["steps"], errors="coerce").dropna()
    if steps.empty:
        return None
    low, high = int(steps.min()), int(steps.max())
    return str(low) if low == high else f"{low}-{high}"


def training_budget(rows: pd.DataFrame, tasks: set[str] | None = None) -> str | None:
    """How long the row's model was trained (:func:`training_steps`), as a note, or ``None``."""
    steps = training_steps(rows, tasks)
    return None if steps is None else f"{steps} training steps per task (the paper trains for epochs: compare with care)"


def nlu_table(table: PaperTable, searches: dict[str, SearchResult], evaluations: Sequence[EvaluationResult]) -> Table:
    """One of Tables 2-5, 7, 8 with the paper's rows and our rows beneath reproducible ones."""
    header = ["Model", *(["Type"] if table.has_type else []), *table.columns]
    rows: list[list[Cell]] = []
    notes: list[str] = []
    provenance: list[Provenance] = []
    pending: dict[str, list[str]] = {}  # gap note -> the rows it explains (one letter per distinct note)
    splits: set[str] = set()
    budgets: dict[str, list[str]] = {}  # one note per distinct training budget, naming its rows
    measured: set[str] = set()  # devices our latencies were measured on
    searched_on: set[str] = set()  # devices our searches ran on
    for model, kind, values, key in table.rows:
        rows.append([Cell(f"{model} (paper)", "label"), *([Cell(kind)] if table.has_type else []), *(Cell(paper_cell(v), "paper") for v in values)])
        if key is None:
            continue
        search = searches.get(key)
        rows_of_key, used_evaluations = evaluation_rows(key, search, evaluations)
        cells, used = our_cells(table, search, rows_of_key)
        splits |= used
        marker = ""
        if any(c.kind == "missing" for c in cells):
            note = gap_note(key, table, cells, rows_of_key, search is not None)
            pending.setdefault(note, []).append(key)
            marker = f" [{chr(ord('a') + list(pending).index(note))}]"
        label = key
        if key == TEACHER_KEY and "model" in rows_of_key and not rows_of_key.empty:
            label = ", ".join(dict.fromkeys(rows_of_key["model"].astype(str)))
        steps = training_steps(rows_of_key, table_tasks(table))
        budget_label = f" ({steps} steps)" if steps else ""
        rows.append([Cell(f"ours: {label}{budget_label}{marker}", "label"), *([Cell(kind)] if table.has_type else []), *cells])
        budget = training_budget(rows_of_key, table_tasks(table))
        if budget:
            budgets.setdefault(budget, []).append(key)
        if "Time (GPU days)" in table.columns and search is not None and cells[table.columns.index("Time (GPU days)")].kind == "ours":
            searched_on.add(str(search.device))
        if "Latency (ms)" in table.columns and cells[table.columns.index("Latency (ms)")].kind == "ours":
            measured.update(str(e.manifest.get("device", "device not recorded")) for e in used_evaluations)
        for result in [search, *used_evaluations]:
            if result is not None:
                provenance.append(result_provenance(result, f"row ours: {key}"))
    notes += [f"ours: {', '.join(keys)}: {budget}." for budget, keys in budgets.items()]
    if searched_on:
        notes.append(f"Our search time: wall-clock days on {'; '.join(sorted(searched_on))}, not GPU days.")
    if measured:
        notes.append(f"Our latency was measured on {'; '.join(sorted(measured))}, not on the paper's NVIDIA A100: compare the order, not the milliseconds.")
    if splits and table.split not in splits:
        notes.append(f"Our scores are on the {', '.join(sorted(splits))} split(s), the paper's on the {table.split} set"
                     + (" (GLUE test labels are not public)." if table.split == "test" else "."))
    for index, (note, keys) in enumerate(pending.items()):
        notes.append(f"[{chr(ord('a') + index)}] {', '.join(dict.fromkeys(keys))}: {note}")
    if any(key == TEACHER_KEY for *_, key in table.rows):
        notes.append("ours: teacher: the fine-tuned teacher our students were distilled from (all-MiniLM-L6-v2 below the "
                     "paper scale), beside the paper's BERT-base: the ceiling of the distillation, not the same model.")
    notes.append("Rows marked (paper) are the paper's numbers (its own models, or other work it cites); rows marked ours are measured here.")
    if not provenance:
        provenance.append(Provenance(source="no search or evaluation results yet", derived="every ours row is missing; see the commands above"))
    return Table(
        key=f"table{table.number}",
        title=f"Table {table.number} — {table.caption.split(';')[0].split('.')[0]}",
        caption=table.caption + f" Paper's split: {table.split}.",
        header=header,
        rows=rows,
        notes=notes,
        provenance=provenance,
    )


def search_blocks(searches: Sequence[SearchResult]) -> list[Table | FigureBlock | Missing]:
    """Search summary table, GA traces (one panel per search) and Fig. 5 drawings."""
    if not searches:
        return [Missing(
            "search", "Genetic searches: traces and Figure 5 (found architectures)",
            "No stored search results (directories with best_arch.json and trace.csv).",
            [(SPOS_COMMAND if k.endswith("/spos") else SEARCH_COMMAND).format(space=k.split("/")[0], method=k.split("/")[1]) for k in PAPER_SEARCHES],
        )]
    rows = []
    for s in searches:
        fitness, params, seconds = s.best_fitness, s.params, s.wall_seconds
        rows.append([
            Cell(s.name, "label"), Cell(s.space), Cell(s.label), Cell(s.algorithm),
            Cell(f"{fitness:.6g}" if fitness is not None else "—", "ours"),
            Cell(f"{params / 1e6:.2f}" if params is not None else "—", "ours"),
            Cell(str(s.cost.get("evaluations", len(s.trace))), "ours"),
            Cell(f"{seconds / 3600:.2f} h" if seconds is not None else "—", "ours"),
            Cell(json.dumps(s.arch), "ours"),
        ])
    provenance = [result_provenance(s, "best_arch.json, summary.json and trace.csv") for s in searches]
    blocks: list[Table | FigureBlock | Missing] = [Table(
        key="searches", title="Genetic searches: best architecture found", caption="One row per stored search.",
        header=["Search", "Space", "Fitness", "Method", "Best fitness", "#Params (M)", "Evaluations", "Wall time", "Architecture (block indices)"],
        header_kinds=["", "", "", "", "ours", "ours", "ours", "ours", "ours"], rows=rows, provenance=provenance,
        notes=["Block indices: 0-5 BERT blocks with FFN width unit·(i+1), 6-11 MobileBERT blocks with width unit·(i−5) (docs/nlu.md).",
               "Wall time on: " + "; ".join(f"{', '.join(s.name for s in searches if s.device == d)}: {d}" for d in dict.fromkeys(s.device for s in searches)) + "."],
    )]
    traced = [(s.display, s.trace) for s in searches if {"generation", "best_fitness"} <= set(s.trace.columns)]
    if traced:
        blocks.append(FigureBlock("search-traces", "Genetic-search traces", "Best and population-mean fitness per generation.", defer(trace_figure, traced), provenance))
    drawn = []
    for s in searches:
        blocks_of = architecture_blocks(s)
        if blocks_of:
            drawn.append((s.display, blocks_of))
    if drawn:
        blocks.append(FigureBlock("fig5", "Figure 5 — searched architectures", "Blocks from layer 1 (left); colour: block type; height and number: FFN width d.",
                                  defer(nlu_architecture_figure, drawn), provenance))
    return blocks


def architecture_blocks(search: SearchResult) -> list[tuple[str, int]]:
    """``(type, ffn_width)`` per layer of a search's best NLU architecture (empty if not NLU).

    The FFN unit is the space's (:data:`FFN_UNIT`), or ``ffn_unit`` in summary.json.
    """
    arch = search.arch
    if not search.space.startswith("nlu") or not isinstance(arch, list):
        return []
    unit = int(search.summary.get("ffn_unit") or FFN_UNIT.get(search.space, 132))
    return decode_nlu_blocks(arch, unit)


def nlu_blocks(searches: Sequence[SearchResult], evaluations: Sequence[EvaluationResult]) -> list[Table | FigureBlock | Missing]:
    """All NLU blocks: Tables 2, 3, 4, 5, 7, 8, then searches."""
    by_search = {s.key: s for s in searches}
    return [*(nlu_table(t, by_search, evaluations) for t in NLU_TABLES), *search_blocks(searches)]

