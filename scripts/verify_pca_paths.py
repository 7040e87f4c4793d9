"""Check, layer by layer, that V-PCA's factored path gives the same PCA_dim as the direct one.

For every layer of every architecture scored (the 500 FlexiBERT benchmark models, and random
architectures of each NLU space), one capture pass records the FFN's first-linear output X, its
input H and the layer's weight W, and PCA_dim is computed three ways for each η:

* ``direct``: the D×D covariance of X, float32 (:func:`proxies.pca.pca_dim`);
* ``factored``: the h×h matrix of :func:`proxies.pca.factored_eigenvalues` (float32 Grams, float64 rest);
* ``reference``: float64 end to end (H and W in float64, C_H's eigenvectors, then the h×h spectrum),

with ``chosen``, the path :func:`proxies.pca.factored_is_cheaper` picks, and ``margin``, the
distance of the reference's cumulative share from η at the boundary (|share_k − η| for the two
k around it, the smaller): a disagreement with a margin of 1e-7 is float32 rounding, one with a
margin of 1e-2 would be a bug.

Rows are appended per architecture to ``OUT/layers.csv`` (rerunning skips finished architectures);
``OUT/summary.json`` gets the counts and every disagreement.

Usage:
    python scripts/verify_pca_paths.py --out results/pca-paths --nlu-archs 100
    python scripts/verify_pca_paths.py --out /tmp/pca-check --flexibert-archs 5 --nlu-archs 2 --scale smoke
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import proxies
from bench.scales import SCALES
from bench.scoring.benchmarks import default_benchmark, load_entries
from bench.scoring.score import init_seed, proxy_input
from bench.store.manifest import device_description, package_versions
from proxies.capture import capture
from proxies.pca import dim_from_eigenvalues, factored_eigenvalues, factored_is_cheaper, pca_dim, root_eigenvalues, token_rows
from spaces import arch_hash, get_space

LOG = logging.getLogger("verify_pca_paths")
ETAS = (0.5, 0.9, 0.99, 0.999)
FIELDS = ["space", "arch_id", "layer", "rows", "inputs", "outputs", "chosen", "eta", "direct", "factored", "reference", "margin"]


def reference_eigenvalues(inputs: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Spectrum of Cov(H·Wᵀ) in float64 throughout, through C_H's eigenvectors (no Cholesky)."""
    h = inputs.to(torch.float64)
    h = h - h.mean(dim=0, keepdim=True)
    return root_eigenvalues((h.T @ h) / max(h.shape[0] - 1, 1), weight.detach().to(torch.float64))


def boundary_margin(eigenvalues: torch.Tensor, eta: float) -> float:
    """How far the cumulative share is from η where it crosses it (the smaller side)."""
    values = eigenvalues.clamp_min(0.0).sort(descending=True).values
    share = torch.cumsum(values, 0) / values.sum()
    k = int(torch.count_nonzero(share <= eta))
    below = eta - float(share[k - 1]) if k > 0 else float("inf")
    above = float(share[k]) - eta if k < len(share) else float("inf")
    return min(below, above)


def layer_rows(space_name: str, arch_id: str, model, batch, spec) -> list[dict]:
    ctx = capture(model, batch, [spec])
    mask = batch.get("attention_mask")
    rows = []
    for layer, (x, h, tap) in enumerate(zip(ctx.captured["ffn_first_linear"], ctx.captured["ffn_input"], ctx.captured_taps["ffn_input"])):
        out_rows, in_rows, weight = token_rows(x, mask), token_rows(h, mask), tap.reader.weight
        factored, reference = factored_eigenvalues(in_rows, weight), reference_eigenvalues(in_rows, weight)
        chosen = "factored" if factored_is_cheaper(out_rows.shape[0], weight.shape[1], weight.shape[0]) else "direct"
        for eta in ETAS:
            rows.append({
                "space": space_name, "arch_id": arch_id, "layer": layer, "rows": out_rows.shape[0],
                "inputs": weight.shape[1], "outputs": weight.shape[0], "chosen": chosen, "eta": eta,
                "direct": pca_dim(out_rows, eta), "factored": dim_from_eigenvalues(factored, eta),
                "reference": dim_from_eigenvalues(reference, eta), "margin": boundary_margin(reference, eta),
            })
    return rows


def architectures(flexibert: int | None, nlu: int, seed: int):
    """(space name, arch id, arch) of the benchmark's models and of random NLU architectures."""
    space = get_space("flexibert")
    entries = load_entries(default_benchmark(space), None)
    for entry in entries[:flexibert] if flexibert is not None else entries:
        yield "flexibert", str(entry.id), entry.arch
    for name in ("nlu-tiny", "nlu-small", "nlu-large"):
        rng = np.random.default_rng(seed)
        for _ in range(nlu):
            arch = get_space(name).sample(rng)
            yield name, arch_hash(arch), arch


def summarise(path: Path) -> dict:
    import pandas as pd

    frame = pd.read_csv(path)
    disagreements = frame[(frame.direct != frame.factored) | (frame.factored != frame.reference) | (frame.direct != frame.reference)]
    per_path = {
        f"{a}_vs_{b}": int((frame[a] != frame[b]).sum()) for a, b in (("direct", "factored"), ("factored", "reference"), ("direct", "reference"))
    }
    chosen = frame.chosen.map({"direct": "direct", "factored": "factored"})
    product = np.where(chosen == "factored", frame.factored, frame.direct)
    return {
        "layers": int(len(frame) / len(ETAS)),
        "architectures": {str(k): int(v) for k, v in frame.groupby("space").arch_id.nunique().items()},
        "etas": list(ETAS),
        "layer_evaluations": int(len(frame)),
        "chosen_factored_share": float((frame.chosen == "factored").mean()),
        "disagreements": per_path,
        "product_vs_reference": int((product != frame.reference).sum()),
        "largest_margin_of_a_disagreement": float(disagreements.margin.max()) if len(disagreements) else None,
        "listed": disagreements.to_dict(orient="records"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("results/pca-paths"))
    parser.add_argument("--scale", default="cpu", choices=sorted(SCALES))
    parser.add_argument("--flexibert-archs", type=int, default=None, help="first N benchmark models (default: all 500)")
    parser.add_argument("--nlu-archs", type=int, default=100, help="random architectures per NLU space")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "layers.csv"
    done: set[tuple[str, str]] = set()
    if path.exists():
        with path.open() as handle:
            done = {(row["space"], row["arch_id"]) for row in csv.DictReader(handle)}
    scale = SCALES[args.scale]
    spec = proxies.get_proxy("v-pca")
    todo = [a for a in architectures(args.flexibert_archs, args.nlu_archs, args.seed) if (a[0], a[1]) not in done]
    LOG.info("%d architectures done, %d to check", len(done), len(todo))
    start = time.perf_counter()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        if not done:
            writer.writeheader()
        for space_name, arch_id, arch in tqdm(todo, desc="architectures"):
            space = get_space(space_name)
            model = space.build_model(arch, init_seed(space, args.seed, arch_hash(arch)), None)
            batch = proxy_input(scale.batch_size, scale.seq_len, args.seed, "wikitext-2", None, space.tokenizer)
            writer.writerows(layer_rows(space_name, arch_id, model, batch, spec))
            handle.flush()
            os.fsync(handle.fileno())
    summary = summarise(path)
    summary.update({
        "scale": args.scale, "seed": args.seed, "seconds_this_call": time.perf_counter() - start,
        "machine": device_description(), "versions": package_versions(),
        "command": ["python", "scripts/verify_pca_paths.py", "--out", str(args.out), "--scale", args.scale, "--nlu-archs", str(args.nlu_archs)],
    })
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    LOG.info("layers %d; disagreements %s; product vs reference %d", summary["layers"], summary["disagreements"], summary["product_vs_reference"])


if __name__ == "__main__":
    main()
