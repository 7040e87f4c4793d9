"""Collect the held-out distillation loss of general-distillation runs into one tidy table.

The held-out loss (Appendix C's loss terms on 4 fixed WikiText-2 test batches, written by
``bench train`` to ``<run>/general/heldout.json``) is the one number of the ``cpu``-scale
students that differs between architectures beyond noise, so its spread across training
seeds says how far a ranking by it can be trusted. Train more seeds of an architecture with
general distillation only, then collect every run:

    bench train --space nlu-small --arch results/search/nlu-small-w-pca/best_arch.json \\
        --name nlu-small-w-pca-seed1 --scale cpu --seed 1 --tasks none \\
        --out runs/train/seeds/nlu-small-w-pca-seed1-cpu
    python scripts/heldout_seeds.py runs/train/nlu-small-*-cpu runs/train/seeds/* \\
        --out results/kd-seeds/heldout.csv

One row per run: its architecture (space, blocks), seed, the loss and its terms, the
general stage's steps and wall time, and the training's device and revision. Runs whose
general stage has not finished are listed on stderr and left out of the table.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import pandas as pd

from bench.store import write_atomic

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
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="training directories made by `bench train`")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write (replaced atomically)")
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
    table = pd.DataFrame(rows).sort_values(["space", "arch", "seed"], kind="stable")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out, table.to_csv(index=False))
    summary = table.groupby(["space", "arch"]).agg(
        first_run=("name", "first"), runs=("seed", "count"), mean=("heldout_kd_loss", "mean"),
        std=("heldout_kd_loss", "std"), min=("heldout_kd_loss", "min"), max=("heldout_kd_loss", "max"),
    ).reset_index(drop=True).sort_values("mean")
    log.info("wrote %s (%d runs)\n%s", args.out, len(table), summary.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
