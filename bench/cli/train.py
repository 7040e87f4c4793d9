"""Subcommands ``bench train`` and ``bench evaluate`` (knowledge distillation, GLUE, SQuAD).

See ``docs/training.md`` for the stages, the loss, the budgets per scale and the layout of
training and evaluation directories.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bench.cli.argtypes import add_common_options
from bench.errors import UserError

log = logging.getLogger("bench.train")

TRAIN_EXAMPLES = """\
examples:
  bench train --arch '[6,6,7,11,0,3,8,8,9,10,11,11]' --name my-model --scale smoke --tasks rte,squad --out runs/train/my-model-smoke
  bench train --arch results/search/w-pca.json --name W-PCA-Small --scale cpu --out runs/train/w-pca-small-cpu
  bench train --space nlu-tiny --arch tiny.json --name W-PCA-Tiny --scale cpu --device cuda --out runs/train/w-pca-tiny
  bench train --arch arch.json --name X --scale paper --teacher bert-base-uncased --device cuda --out runs/train/x-paper

Stages: general distillation on raw text (WikiText-2 here), then per task the teacher is
fine-tuned (cached in --teacher-cache) and the student distilled from it. Rerunning the same
command resumes an interrupted stage; more tasks can be added by later commands.
"""

EVALUATE_EXAMPLES = """\
examples:
  bench evaluate runs/train/my-model-smoke --out runs/eval-smoke
  bench evaluate runs/train/nlu-small-w-pca-cpu --out results/eval/nlu-small-w-pca
  bench evaluate runs/train/nlu-small-w-pca-cpu --out results/eval/teacher --teachers only
"""


def _arch(text: str) -> list[int]:
    """An architecture: a JSON list of block indices, or a JSON file holding one (or {"arch": [...]})."""
    path = Path(text)
    source = path.read_text() if path.is_file() else text
    try:
        value = json.loads(source)
    except json.JSONDecodeError:
        raise UserError(f"--arch {text!r} is neither a JSON list of block indices nor a readable JSON file") from None
    if isinstance(value, dict):
        for key in ("arch", "blocks", "architecture"):
            if key in value:
                value = value[key]
                break
    if not isinstance(value, list):
        raise UserError(f"--arch {text!r}: expected a list of block indices such as [6, 6, 7, 11, 0, 3, 8, 8, 9, 10, 11, 11]")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train`` and ``evaluate`` to the ``bench`` command line."""
    from bench.train.config import TRAIN_SCALES
    from bench.train.distill import ATTN_TARGETS
    from bench.train.teacher import DEFAULT_TEACHER

    tr = subparsers.add_parser(
        "train",
        help="distil a searched NLU architecture (general + task distillation)",
        description="Knowledge-distillation training of one NLU-space architecture (paper Sec. 6.2.2, Appendix C): general distillation on raw text, then task distillation and fine-tuning on each task.",
        epilog=TRAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tr.add_argument("--arch", required=True, help="the architecture: a JSON list of block indices or a JSON file with one")
    tr.add_argument("--name", required=True, help="the model's name in result rows, e.g. W-PCA-Small")
    tr.add_argument("--space", default="nlu-small", help="NLU search space: nlu-small (default), nlu-tiny, nlu-large")
    tr.add_argument("--tasks", default="all", help="'all' (default), 'glue', 'none' (general distillation only), or comma-separated: cola,sst-2,mrpc,sts-b,qqp,mnli,qnli,rte,wnli,squad,squad-v2; tasks absent from the data are reported and skipped")
    tr.add_argument("--scale", default="smoke", help=f"training budget: {' | '.join(TRAIN_SCALES)} (default smoke)")
    tr.add_argument("--seed", type=int, default=0, help="seed of initialisation, data order and dropout (default 0)")
    tr.add_argument("--teacher", default=DEFAULT_TEACHER, help=f"teacher model name or path for transformers.AutoModel (default {DEFAULT_TEACHER}, the local package copy; the paper: bert-base-uncased)")
    tr.add_argument("--teacher-cache", default=None, help="directory of fine-tuned teachers shared by students (default: <out>/../teachers)")
    tr.add_argument("--attn-target", default="output", choices=ATTN_TARGETS, help="attention term of the KD loss: MHA outputs (default, Appendix C) or attention maps")
    tr.add_argument("--temperature", type=float, default=1.0, help="temperature of the soft cross-entropy (default 1)")
    tr.add_argument("--text", default=None, help="general-distillation text: wikitext-2 (default below paper) or wikipedia+bookcorpus (default at paper)")
    tr.add_argument("--max-steps", type=int, default=None, help="at most N steps in every stage, teacher fine-tuning included (replaces the scale's cap; e.g. a tiny-budget check of a cpu command)")
    tr.add_argument("--save-every", type=int, default=None, help="steps between checkpoints (default: the scale's; smoke 2, cpu 50)")
    add_common_options(tr, device=True)
    tr.add_argument("--out", default=None, help="training directory (default runs/train/NAME-SCALE)")
    tr.set_defaults(handler=cmd_train)

    ev = subparsers.add_parser(
        "evaluate",
        help="GLUE / SQuAD scores, #params and latency of trained models",
        description="Evaluate training directories made by `bench train`: each task's official metric on its dev set (SQuAD: held-out dev articles), parameter counts and latency (batch 1, 128 tokens). Appends tidy rows to OUT/metrics.csv; tasks absent from the data are reported as missing.",
        epilog=EVALUATE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ev.add_argument("train_dirs", metavar="TRAIN_DIR", nargs="+", help="training directories (all of one scale)")
    ev.add_argument("--out", required=True, help="evaluation directory")
    ev.add_argument("--tasks", default="all", help="'all' (default), 'glue', or comma-separated task names")
    ev.add_argument("--teachers", default="no", choices=("no", "also", "only"), help="also (or only) evaluate the fine-tuned teachers the students learned from (default no)")
    ev.add_argument("--limit", type=int, default=None, help="evaluate the first N examples of each dev set (default: the scale's; smoke 24)")
    add_common_options(ev, device=True)
    ev.set_defaults(handler=cmd_evaluate)


def cmd_train(args: argparse.Namespace) -> int:
    from bench.train.config import get_train_scale
    from bench.train.distill import ATTN_TARGETS
    from bench.train.stages import TrainSettings, train
    from bench.train.tasks import parse_tasks

    scale = get_train_scale(args.scale).capped(args.max_steps, args.save_every)
    tasks = parse_tasks(args.tasks)
    if args.temperature <= 0:
        raise UserError(f"--temperature must be > 0, got {args.temperature}")
    if args.attn_target not in ATTN_TARGETS:
        raise UserError(f"unknown --attn-target {args.attn_target!r}; allowed: {', '.join(ATTN_TARGETS)}")
    text = args.text or ("wikipedia+bookcorpus" if scale.name == "paper" else "wikitext-2")
    out = Path(args.out or f"runs/train/{args.name}-{scale.name}")
    settings = TrainSettings(
        name=args.name, space=args.space, arch=_arch(args.arch), scale=scale, seed=args.seed, teacher=args.teacher,
        attn_target=args.attn_target, temperature=args.temperature, text=text, data_dir=args.data_dir, device=args.device,
    )
    from spaces import get_space

    get_space(args.space).parse(settings.arch)
    cache = Path(args.teacher_cache) if args.teacher_cache else out.parent / "teachers"
    outcome = train(out, settings, tasks, teacher_cache=cache, progress=not args.no_progress, command=["bench", *sys.argv[1:]])
    for task, state in outcome.items():
        print(f"{task}: {state}")
    target = f"runs/eval-{scale.name}" if scale.name == "smoke" else f"results/eval/{args.name}"
    print(f"trained {args.name} in {out}; next: bench evaluate {out} --out {target}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from bench.train.evaluate import evaluate, summary_table
    from bench.train.tasks import parse_tasks
    from bench.cli.tables import render

    tasks = parse_tasks(args.tasks)
    dirs = [Path(d) for d in args.train_dirs]
    rows = evaluate(dirs, Path(args.out), tasks, device=args.device, teachers=args.teachers, limit=args.limit,
                    data_dir=args.data_dir, progress=not args.no_progress, command=["bench", *sys.argv[1:]])
    headers, table = summary_table(rows)
    print(render(headers, table))
    missing = rows[rows["status"] == "missing"][["task", "note"]].drop_duplicates()
    for task, note in missing.itertuples(index=False):
        print(f"missing {task}: {note}")
    print(f"rows: {Path(args.out) / 'metrics.csv'}")
    return 0
