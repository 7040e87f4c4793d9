"""Collect the held-out distillation loss of general-distillation runs into one tidy table.

The held-out loss (Appendix C's loss terms on 4 WikiText-2 test batches drawn by the seed,
written by ``bench train`` to ``<run>/general/heldout.json``) is the number of the
``cpu``-scale students that separates architectures most clearly, so its spread across
training seeds says how far a ranking by it can be trusted. Train more seeds of each architecture with general
distillation only, then collect every run:

    bench train --space nlu-small --arch results/search/nlu-small-w-pca/best_arch.json \\
        --name nlu-small-w-pca-seed1 --scale cpu --seed 1 --tasks none \\
        --out runs/train/seeds/nlu-small-w-pca-seed1-cpu
    python scripts/heldout_seeds.py runs/train/seeds/* --out results/kd-seeds/heldout.csv \\
        --against nlu-small-w-pca --against nlu-tiny-w-pca

One row per run: its name, architecture (space, blocks), seed, the loss and its terms, the
general stage's steps and wall time, and the training's device, revision, package versions
and command. Runs whose general stage has not finished are logged and left out.

With ``--against MODEL`` (repeatable; a run name without its ``-seedN`` suffix), every other
model of the same space is compared with it seed by seed (the same seed gives both the same
training batches and the same held-out batches): mean and standard deviation of the paired
difference (other - MODEL; positive: MODEL has the lower loss), how many seeds MODEL wins,
and the paired t-test's two-sided p-value (``scipy.stats.ttest_rel``), written to
``<out>-paired.csv``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

import pandas as pd
from scipy import stats

from bench.store.writer import write_atomic

log = logging.getLogger("heldout_seeds")


def run_row(run: Path) -> dict[str, object] | None:
    """The table row of one training directory, or ``None`` if its general stage is unfinished."""
    heldout, done, manifest = run / "general" / "heldout.json", run / "general" / "done.json", run / "manifest.json"
    if not (heldout.is_file() and done.is_file() and manifest.is_file()):
        return None
    loss, stage, info = (json.loads(p.read_text()) for p in (heldout, done, manifest))
    config = info["config"]
    return {
        "name": config["name"],
        "model": re.sub(r"-seed\d+$", "", config["name"]),
        "space": config["space"],
        "arch": json.dumps(config["arch"]),
        "seed": config["seed"],
        "run": run.name,
        "heldout_kd_loss": loss["loss"],
        "attn": loss["attn"],
        "hidd": loss["hidd"],
        "embd": loss["embd"],
        "steps": stage["steps"],
        "seconds": stage["seconds"],
        "device": info.get("device", ""),
        "git_revision": info.get("git_revision", ""),
        "versions": json.dumps(info.get("versions", {}), sort_keys=True),
        "command": " ".join(info.get("command", [])),
    }


def paired_comparison(table: pd.DataFrame, against: str) -> pd.DataFrame:
    """Each other model of ``against``'s space against it, over the seeds both have."""
    reference = table[table["model"] == against]
    if reference.empty:
        raise ValueError(f"--against {against!r} names no collected run; models: {sorted(set(table['model']))}")
    space = reference["space"].iloc[0]
    ref_loss = reference.set_index("seed")["heldout_kd_loss"]
    rows = []
    for model, runs in table[(table["space"] == space) & (table["model"] != against)].groupby("model"):
        loss = runs.set_index("seed")["heldout_kd_loss"]
        seeds = sorted(set(loss.index) & set(ref_loss.index))
        diff = loss[seeds] - ref_loss[seeds]
        p_value = stats.ttest_rel(loss[seeds], ref_loss[seeds]).pvalue if len(seeds) > 1 else float("nan")
        rows.append({"model": model, "against": against, "seeds": len(seeds), "mean_diff": diff.mean(),
                     "std_diff": diff.std(), "wins_of_against": int((diff > 0).sum()), "p_paired_t": p_value})
    return pd.DataFrame(rows).sort_values("mean_diff", kind="stable")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="training directories made by `bench train`")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write (replaced atomically)")
    parser.add_argument("--against", metavar="MODEL", action="append", default=[],
                        help="compare every other model of its space with MODEL, seed by seed (repeatable)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    rows = []
    for run in args.runs:
        row = run_row(run)
        if row is None:
            log.warning("%s: no finished general-distillation stage; left out", run)
        else:
            rows.append(row)
    if not rows:
        log.error("none of the %d directories has a finished general-distillation stage", len(args.runs))
        return 2
    table = pd.DataFrame(rows).sort_values(["space", "model", "seed"], kind="stable")
    try:
        paired = pd.concat([paired_comparison(table, model) for model in args.against], ignore_index=True) if args.against else None
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out, table.to_csv(index=False))
    summary = table.groupby(["space", "model"])["heldout_kd_loss"].agg(["count", "mean", "std", "min", "max"]).sort_values(["space", "mean"])
    log.info("wrote %s (%d runs)\n%s", args.out, len(table), summary.to_string())
    if paired is not None:
        paired_out = args.out.with_name(f"{args.out.stem}-paired.csv")
        write_atomic(paired_out, paired.to_csv(index=False))
        log.info("wrote %s\n%s", paired_out, paired.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
