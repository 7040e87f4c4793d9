"""Held-out distillation loss over training seeds: how far the students' ranking holds.

At the ``cpu`` budget the task scores sit at chance or the majority class, but the held-out
loss after general distillation (Appendix C's terms on WikiText-2 test batches) still
separates architectures. This block shows, per model, its mean, standard deviation, minimum
and maximum over the stored seeds (aggregated here from ``heldout*.csv``, one row per run),
and, where ``scripts/heldout_seeds.py --against`` stored them, the seed-by-seed comparisons
with a reference model read from ``<stem>-paired.csv``. The loss sums one term per student
layer, so models of different depth are compared within their space only.
"""

from __future__ import annotations

import json
import math

import pandas as pd

from reports.load import HeldoutSeedsFile
from reports.model import Cell, Provenance, Table
from reports.provenance import versions_text
from reports.tables import number

COMMAND = ("bench train --space <space> --arch results/search/<model>/best_arch.json --name <model>-seed<k> "
           "--scale cpu --seed <k> --tasks none --out runs/train/seeds/<model>-seed<k>-cpu, per model and seed; then "
           "python scripts/heldout_seeds.py runs/train/seeds/* --out <file> --against <reference>")


def _p_value(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value):.4f}" if float(value) >= 1e-4 else f"{float(value):.1e}"


def _unique(table: pd.DataFrame, column: str) -> str:
    if column not in table:
        return "not recorded"
    return "; ".join(dict.fromkeys(str(v) for v in table[column].dropna())) or "not recorded"


def heldout_seeds_table(stored: HeldoutSeedsFile) -> Table:
    """One row per model: seeds, mean, SD, min, max; then its paired comparison, if stored."""
    table = stored.table
    summary = (table.groupby(["space", "model"])["heldout_kd_loss"]
               .agg(["count", "mean", "std", "min", "max"]).reset_index().sort_values(["space", "mean"], kind="stable"))
    paired = stored.paired.set_index("model") if stored.paired is not None else None
    references = set(stored.paired["against"]) if stored.paired is not None else set()
    header = ["Model", "Space", "Seeds", "Mean", "SD", "Min", "Max"]
    kinds = ["", "", "ours", "ours", "ours", "ours", "ours"]
    if paired is not None:
        header += ["Reference", "Δ vs reference (mean ± SD)", "Reference lower in", "p (paired t)"]
        kinds += ["", "ours", "ours", "ours"]
    rows = []
    for entry in summary.itertuples(index=False):
        row = [Cell(entry.model, "label"), Cell(entry.space), Cell(str(entry.count), "ours"),
               *(Cell(number(v), "ours") for v in (entry.mean, entry.std, entry.min, entry.max))]
        if paired is not None:
            if entry.model in paired.index:
                match = paired.loc[[entry.model]].iloc[0]  # the first reference it was compared with
                row += [Cell(str(match["against"])), Cell(f"{float(match['mean_diff']):+.3f} ± {number(match['std_diff'])}", "ours"),
                        Cell(f"{int(match['wins_of_against'])} of {int(match['seeds'])} seeds", "ours"), Cell(_p_value(match["p_paired_t"]), "ours")]
            else:
                row += [Cell("reference" if entry.model in references else "—"), Cell("—"), Cell("—"), Cell("—")]
        rows.append(row)
    recorded = table["versions"].dropna() if "versions" in table else pd.Series(dtype=object)
    provenance = Provenance(
        source=str(stored.path),
        command=f"{COMMAND} (each run's own command is in the file's command column)",
        config=f"{len(table)} runs; steps {_unique(table, 'steps')}; seeds {', '.join(map(str, sorted(set(table['seed']))))}",
        versions=versions_text(json.loads(recorded.iloc[0]) if not recorded.empty else None),
        git_revision=_unique(table, "git_revision"),
        device=_unique(table, "device"),
        derived="mean/SD/min/max over seeds aggregated by the report from the runs' rows"
                + ("; paired columns read from " + stored.path.with_name(f"{stored.path.stem}-paired.csv").name if paired is not None else ""),
    )
    notes = [
        "Held-out loss: Appendix C's attention + hidden-state + embedding terms on 4 WikiText-2 test batches "
        "after general distillation only; lower means the student reproduces the teacher more closely. Each seed sets "
        "initialisation, data order, dropout and the held-out batches (the same for every model).",
        "Δ: the model's loss minus the reference's, seed by seed (positive: the reference is lower). p: two-sided "
        "paired t-test over the shared seeds; with several comparisons, correct the threshold (e.g. Bonferroni).",
    ]
    return Table(key=f"heldout-seeds-{stored.path.stem}", title=f"Held-out distillation loss over training seeds ({stored.path.name})",
                 caption="Each searched architecture's student after general distillation, over several training seeds.",
                 header=header, header_kinds=kinds, rows=rows, notes=notes if paired is not None else notes[:1], provenance=[provenance])


def heldout_seeds_blocks(files: list[HeldoutSeedsFile]) -> list[Table]:
    """One table per stored seed file."""
    return [heldout_seeds_table(f) for f in sorted(files, key=lambda f: str(f.path))]
