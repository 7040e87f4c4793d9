"""The ``bench`` command line: one parser, one dispatch through each subcommand's handler.

Subcommands (each module under :mod:`bench.cli` registers its own):
  run, list                   score architectures; list proxies, spaces, variants, scales (bench.cli.run)
  correlate, table1, stability, verify, ablation   analyses of stored runs (bench.cli.correlate)
  report                      HTML/PDF report of stored results (bench.cli.report)
  train, evaluate             distillation and GLUE/SQuAD evaluation (bench.cli.train)
  compare, stratify, combine, combo-search         paired, stratified and combined analyses (bench.cli.compare)
  search, spos                architecture search and the one-shot baseline (bench.cli.search)

Run ``bench SUBCOMMAND --help`` for the options and examples of each.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys
from typing import Sequence

from bench import __version__
from bench.errors import user_errors

#: Modules that add subcommands, in ``--help`` order: each has ``register(subparsers)``,
#: which adds its parsers and sets ``handler=function(args) -> int`` as their default.
COMMAND_MODULES: tuple[str, ...] = ("bench.cli.run", "bench.cli.correlate", "bench.cli.report", "bench.cli.train", "bench.cli.compare", "bench.cli.search")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Benchmark training-free architecture proxies of transformer language models.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `bench SUBCOMMAND --help` for each subcommand's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"proxybench {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="logging verbosity (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


_WRITE_ERRORS = {
    errno.ENOSPC: "free some disk space or choose another --out",
    errno.EDQUOT: "free some disk space or choose another --out",
    errno.EACCES: "choose a directory you can write to",
    errno.EPERM: "choose a directory you can write to",
    errno.EROFS: "choose a directory on a writable file system",
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    logging.basicConfig(level=getattr(logging, args.log_level), format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args)
    except user_errors() as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of stdout went away (`bench correlate RUN | head`)
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as exc:
        if exc.errno not in _WRITE_ERRORS:
            raise
        where = f" {exc.filename}" if exc.filename else ""
        print(f"bench: error: cannot write{where}: {exc.strerror}; {_WRITE_ERRORS[exc.errno]}; what was stored before is kept, rerun the same command to resume", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
