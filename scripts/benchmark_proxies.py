"""Measure proxy cost side by side, as ratios to a bare pass of the same model and batch.

For each architecture (spread evenly over the benchmark's GLUE ranking) and each repeat,
in one process and in interleaved order, this times:

* a bare forward pass (eval mode, no_grad) and a bare forward + backward of the token-ce loss;
* every proxy alone (its own shared pass plus its body);
* all gradient-free proxies fused, every registered proxy fused (one shared forward + backward,
  then the passes of the proxies that run their own), the paper's ten fused (one forward + one
  backward), and the ten but V-PCA/W-PCA fused;
* V-PCA by the direct path: a forward pass plus, per layer, PCA_dim from the D×D covariance
  of the FFN's first-linear outputs (:func:`proxies.pca.pca_dim`), the cost V-PCA had before
  its factored h×h path;
* each proxy's body alone (its seconds inside ``score``, after the pass), to show where the
  time of a proxy above its pass goes.

The fused speed-up is the sum of the proxies' one-pass-each times (one pass per proxy, the way
zero-cost-nas and NASLib evaluate them) over the fused time.

Ratios use the median over repeats, then the median over architectures. The Table 1
"Time" column is 1,000 × the mean measured seconds of one evaluation of the proxy alone.

Usage:
    python scripts/benchmark_proxies.py --archs 10 --repeats 3 --out results/benchmarks/proxy_cost.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import proxies
from bench.inputs import proxy_batch
from bench.scales import SCALES
from bench.store.manifest import device_description, package_versions
from proxies.losses import proxy_loss
from proxies.pca import pca_dim
from bench.scoring.benchmarks import default_benchmark, load_entries
from spaces import get_space


#: The W-PCA paper's ten proxies (Table 1), fused as the paper's comparison runs them.
PAPER_TEN = (
    "synaptic-saliency", "synaptic-diversity", "activation-distance", "jacobian-cosine", "head-importance",
    "head-confidence", "softmax-confidence", "params", "v-pca", "w-pca",
)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bare_forward(model, batch) -> None:
    model.eval()
    with torch.no_grad():
        model(**batch)


def bare_forward_backward(model, batch) -> None:
    model.eval()
    model.zero_grad(set_to_none=True)
    last = model(**batch).last_hidden_state
    proxy_loss(model, last, batch, "token-ce", 0).backward()


def pca_direct(model, batch) -> None:
    """Forward + PCA_dim of every layer by the direct D×D path."""
    outputs = []
    hooks = [tap.register_forward_hook(lambda m, i, o: outputs.append(o)) for tap in model.proxy_taps()["ffn_first_linear"]]
    model.eval()
    with torch.no_grad():
        model(**batch)
        for out in outputs:
            pca_dim(out.reshape(-1, out.shape[-1]), 0.99)
    for hook in hooks:
        hook.remove()


def alone(model, batch, spec) -> float:
    """Score one proxy alone; returns its body's seconds (the pass is timed by the caller)."""
    results, _ = proxies.score(model, batch, [spec])
    return results[0].seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", default="cpu", choices=sorted(SCALES))
    parser.add_argument("--variant", default="trained")
    parser.add_argument("--out", default="results/benchmarks/proxy_cost.json")
    args = parser.parse_args()

    space = get_space("flexibert")
    benchmark = default_benchmark(space)
    entries = sorted(load_entries(benchmark, None), key=lambda e: e.scores[benchmark.main_task])
    picks = [entries[i] for i in np.round(np.linspace(0, len(entries) - 1, args.archs)).astype(int)]
    scale = SCALES[args.scale]
    batch = proxy_batch(scale.batch_size, scale.seq_len, seed=0)
    specs = proxies.select_proxies(["all"])
    free = [s for s in specs if s.gradient_free]
    paper = [s for s in specs if s.name in PAPER_TEN]
    no_pca = [s for s in paper if not s.name.endswith("-pca")]
    names = [s.name for s in specs]
    samples: dict[str, list[list[float]]] = {}

    def add(key: str, arch_index: int, seconds: float) -> None:
        samples.setdefault(key, [[] for _ in picks])[arch_index].append(seconds)

    load_start = os.getloadavg()[0]
    wall_start = time.perf_counter()
    for i, entry in enumerate(picks):
        model = space.build_model(entry.arch, seed=0, variant=args.variant)
        bare_forward(model, batch)  # warm-up
        for _ in range(args.repeats):
            add("forward", i, timed(lambda: bare_forward(model, batch)))
            add("forward+backward", i, timed(lambda: bare_forward_backward(model, batch)))
            add("pca-direct", i, timed(lambda: pca_direct(model, batch)))
            add("fused-gradient-free", i, timed(lambda: proxies.score(model, batch, free)))
            add("fused-all", i, timed(lambda: proxies.score(model, batch, specs)))
            add("fused-paper-ten", i, timed(lambda: proxies.score(model, batch, paper)))
            add("fused-paper-ten-but-pca", i, timed(lambda: proxies.score(model, batch, no_pca)))
            for spec in specs:
                body: list[float] = []
                add(spec.name, i, timed(lambda: body.append(alone(model, batch, spec))))
                add(f"body:{spec.name}", i, body[0])

    medians = {key: [statistics.median(v) for v in per_arch] for key, per_arch in samples.items()}

    def ratio(key: str, base: str) -> float:
        return float(statistics.median(a / b for a, b in zip(medians[key], medians[base])))

    def speedup(members, fused: str) -> float:
        return float(statistics.median(sum(medians[m][i] for m in members) / medians[fused][i] for i in range(len(picks))))

    report = {
        "machine": device_description(),
        "platform": platform.platform(),
        "versions": package_versions(),
        "scale": args.scale,
        "batch": [scale.batch_size, scale.seq_len],
        "variant": args.variant,
        "archs": [e.id for e in picks],
        "repeats": args.repeats,
        "load_average_1min": {"start": load_start, "end": os.getloadavg()[0]},
        "median_seconds": {key: float(statistics.median(v)) for key, v in medians.items()},
        "ratios": {
            **{name: ratio(name, "forward" if proxies.get_proxy(name).gradient_free else "forward+backward") for name in names},
            "fused-gradient-free / forward": ratio("fused-gradient-free", "forward"),
            "fused-all / forward+backward": ratio("fused-all", "forward+backward"),
            "fused-paper-ten / forward+backward": ratio("fused-paper-ten", "forward+backward"),
            "fused-paper-ten-but-pca / forward+backward": ratio("fused-paper-ten-but-pca", "forward+backward"),
            "pca-direct / forward": ratio("pca-direct", "forward"),
            "v-pca / pca-direct": ratio("v-pca", "pca-direct"),
            "paper-ten one pass each / fused": speedup(PAPER_TEN, "fused-paper-ten"),
            "every proxy one pass each / fused": speedup(names, "fused-all"),
            **{f"body:{name} / forward": ratio(f"body:{name}", "forward") for name in names},
        },
        "time_1000_evaluations_s": {name: 1000.0 * float(np.mean([t for per in samples[name] for t in per])) for name in names},
        "wall_seconds": time.perf_counter() - wall_start,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"machine: {report['machine']}; batch {scale.batch_size}x{scale.seq_len}; {len(picks)} archs x {args.repeats} repeats")
    print("| measurement | ratio | baseline |\n|---|---|---|")
    for key, value in report["ratios"].items():
        base = "" if "/" in key else ("forward" if proxies.get_proxy(key).gradient_free else "forward+backward")
        print(f"| {key} | {value:.3f} | {base} |")
    print("\n| proxy | time of 1,000 evaluations (s) |\n|---|---|")
    for name, seconds in report["time_1000_evaluations_s"].items():
        if name.startswith("body:"):
            continue
        print(f"| {name} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
