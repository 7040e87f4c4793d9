"""``bench run`` (score architectures with proxies) and ``bench list``."""

from __future__ import annotations

import argparse
import logging

from bench.cli.argtypes import add_common_options, positive_int, proxy_option, seed_list

log = logging.getLogger("bench")

RUN_EXAMPLES = """\
examples:
  bench run --proxies all --space flexibert --archs benchmark --limit 8 --out runs/quick
  bench run --proxies params,w-pca --archs benchmark --scale cpu --jobs 2 --out runs/table1
  bench run --proxies 'v-*' --archs 100 --seed 0-9 --out runs/seeds
  bench run --proxies w-pca --proxy-option w-pca.eta=0.95 --archs my_archs.json --out runs/mine
  bench run --plugin my_proxies --proxies my-proxy --out runs/plugin

Rerunning the same command resumes an interrupted run; a different config in the same
--out directory is refused.
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``run`` and ``list``."""
    run = sub.add_parser("run", help="score architectures with proxies", description="Score architectures of a search space with registered proxies and store one row per architecture x proxy x seed.", epilog=RUN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--proxies", default="all", help="comma-separated proxy names, aliases or globs ('all', 'head-*'); default all")
    run.add_argument("--exclude", default="", help="comma-separated names or globs to leave out")
    run.add_argument("--space", default="flexibert", help="search space (see `bench list spaces`); default flexibert")
    run.add_argument("--variant", default=None, help="model variant of the space (see `bench list variants`); default: the space's first")
    run.add_argument("--archs", default="benchmark", help="'benchmark' (the space's default benchmark: for flexibert the 500 trained models), 'benchmark:NAME' (one of the space's benchmarks, e.g. lts-gpt2's gpt2-lm1b), 'deciles[:NAME]' (one per decile of the main score), a number N of architectures sampled uniformly, or a JSON file of architectures; default benchmark")
    run.add_argument("--limit", type=positive_int, default=None, help="keep K architectures (for 'benchmark': spread evenly over the ranking by the main score)")
    run.add_argument("--seed", type=seed_list, default=[0], help="initialisation seed(s): 0, 0,3,5 or 0-9; default 0")
    run.add_argument("--sample-seed", type=int, default=0, help="seed of the input batch and of sampled architectures; default 0")
    run.add_argument("--scale", default="smoke", help="smoke | cpu | paper: sets the default batch size and sequence length; default smoke")
    run.add_argument("--batch-size", type=positive_int, default=None, help="proxy input batch size (overrides the scale)")
    run.add_argument("--seq-len", type=positive_int, default=None, help="proxy input sequence length in tokens (overrides the scale)")
    run.add_argument("--text", default="wikitext-2", help="input text source: wikitext-2 (validation split, default), wikitext-2-test, or glue-sst2 (SST-2 training sentences)")
    run.add_argument("--mode", choices=["eval", "train"], default="eval", help="model mode during the pass: eval (no dropout, default) or train (seeded dropout)")
    run.add_argument("--loss", default=None, help="loss for gradient-based proxies: token-ce (tied-decoder token cross-entropy; default of the encoder spaces), next-token (next-token cross-entropy through the tied softmax; default of the decoder space lts) or ones (sum of the last hidden state, as the published code; degenerate, see docs)")
    run.add_argument("--tokenizer", default=None, help="how the proxy input is tokenized: bert-wordpiece (the encoder spaces' default), word-rank (frequency-ranked words; the lts default) or bpe-rank (a byte-level BPE trained on the text, ids frequency-ranked); see bench/inputs.py")
    run.add_argument("--init", default="default", help="weight initialisation: default (the space's own, BERT N(0, 0.02)), xavier-uniform, kaiming-normal or torch-default")
    run.add_argument("--proxy-option", type=proxy_option, action="append", default=[], metavar="PROXY.OPTION=VALUE", help="set a proxy option, e.g. w-pca.eta=0.95 (repeatable)")
    run.add_argument("--plugin", action="append", default=[], metavar="MODULE", help="import a module that registers proxies (repeatable)")
    add_common_options(run, device=True)
    run.add_argument("--jobs", type=positive_int, default=1, help="worker processes (joblib); default 1")
    run.add_argument("--backend", default="joblib", choices=["joblib", "dask"], help="joblib worker processes (default) or a dask.distributed cluster")
    run.add_argument("--scheduler", default=None, metavar="ADDRESS", help="dask scheduler address for --backend dask, e.g. tcp://10.0.0.1:8786")
    run.add_argument("--out", default=None, help="run directory; default runs/SPACE-SCALE")
    run.set_defaults(handler=cmd_run)

    lst = sub.add_parser("list", help="list proxies, spaces, variants or scales", description="List what the harness knows.")
    lst.add_argument("what", choices=["proxies", "spaces", "variants", "scales"], help="what to list")
    lst.add_argument("--plugin", action="append", default=[], metavar="MODULE", help="import a module that registers proxies first (repeatable)")
    lst.set_defaults(handler=cmd_list)


def cmd_run(args: argparse.Namespace) -> int:
    from bench.config import RunConfig
    from bench.scoring.runner import failure_summary, run

    config = RunConfig.from_args(args)
    out = args.out or f"runs/{args.space}-{args.scale}"
    store = run(config, out, command=["bench", *args.argv], progress=not args.no_progress)
    rows = store.rows()
    status = rows["status"].value_counts().to_dict()
    log.info("run %s holds %d rows (%s)", out, len(rows), ", ".join(f"{k}: {v}" for k, v in sorted(status.items())))
    if len(rows) and (rows["status"] == "error").all():
        log.error("every row of %s failed: %s", out, failure_summary(rows["error"].fillna("").tolist()))
        return 1
    if store.ground_truth() is not None:
        log.info("next: bench correlate %s", out)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from bench.scales import SCALES
    from proxies import list_proxies, load_plugins
    from bench.cli.tables import render
    from spaces import get_space, list_spaces

    load_plugins(args.plugin)
    if args.what == "proxies":
        rows = [
            (s.name, s.label, "yes" if s.gradient_free else "no", "own" if s.own_pass else "shared", "higher" if s.higher_is_better else "lower", s.version, ", ".join(s.aliases), s.description)
            for s in list_proxies()
        ]
        print(render(("name", "label", "gradient-free", "pass", "better", "version", "aliases", "description"), rows))
    elif args.what == "spaces":
        rows = [(name, f"{get_space(name).size():,}", ", ".join(get_space(name).variants)) for name in list_spaces()]
        print(render(("space", "architectures", "model variants (first is default)"), rows))
    elif args.what == "variants":
        rows = [(name, variant, "default" if i == 0 else "") for name in list_spaces() for i, variant in enumerate(get_space(name).variants)]
        print(render(("space", "variant", ""), rows))
    else:
        print(render(("scale", "batch size", "sequence length", "purpose"), [(s.name, str(s.batch_size), str(s.seq_len), s.description) for s in SCALES.values()]))
    return 0
