"""Add the run ``kind`` to manifests written before manifests recorded one, and ``benchmark.json`` to benchmark runs written before it.

Usage:
    python scripts/migrate_manifests.py results [MORE_DIRS ...] [--check]

Every ``manifest.json`` under the given folders that lacks ``kind`` gets the kind its
directory holds (:data:`bench.store.schema.KINDS`), inferred once here from what the
directory contains, so that readers never have to guess:

* ``config.kind`` ``search`` or ``spos-supernet`` -> that kind;
* ``metrics.csv`` -> ``evaluation``; ``model.json`` or a ``general/`` stage -> ``training``;
* ``rows.csv`` -> ``proxy-run``.

Every proxy run with ground truth but no ``benchmark.json`` gets it, from the benchmark its
config names (:func:`bench.scoring.benchmarks.run_benchmark`), as ``bench run`` writes it now.

A manifest whose kind cannot be inferred is reported and left as it is (exit code 1).
``--check`` changes nothing and exits 1 when a manifest lacks its kind.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bench.store import schema
from bench.store.writer import write_atomic

log = logging.getLogger("migrate_manifests")


def infer_kind(directory: Path, manifest: dict) -> str | None:
    """The kind of an old result directory, from its config and files."""
    config = manifest.get("config", {})
    if isinstance(config, dict) and config.get("kind") in (schema.SEARCH, schema.SUPERNET):
        return config["kind"]
    if (directory / schema.METRICS).is_file():
        return schema.EVALUATION
    if (directory / schema.MODEL_INFO).is_file() or (directory / "general").is_dir():
        return schema.TRAINING
    if (directory / schema.ROWS).is_file():
        return schema.PROXY_RUN
    return None


def migrate(roots: list[Path], check: bool = False) -> tuple[int, int]:
    """Returns (manifests changed or needing a change, manifests whose kind is unknown)."""
    changed = unknown = 0
    for root in roots:
        for path in sorted(root.rglob(schema.MANIFEST)):
            manifest = json.loads(path.read_text())
            if schema.kind_of(manifest) is not None:
                continue
            kind = infer_kind(path.parent, manifest)
            if kind is None:
                log.error("%s: cannot tell what this directory holds; add \"kind\" by hand (one of %s)", path, ", ".join(schema.KINDS))
                unknown += 1
                continue
            changed += 1
            if check:
                log.error("%s lacks its kind (%s)", path, kind)
                continue
            manifest["kind"] = kind
            write_atomic(path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            log.info("%s: kind %s", path, kind)
    return changed, unknown


def add_benchmark_info(roots: list[Path], check: bool = False) -> int:
    """Write ``benchmark.json`` into every proxy run with ground truth that lacks one; returns how many lack (or got) it."""
    from bench.errors import UserError
    from bench.scoring.benchmarks import benchmark_info, run_benchmark
    from bench.store.runs import RunStore
    from spaces import SpaceError

    count = 0
    for root in roots:
        for path in sorted(root.rglob(schema.MANIFEST)):
            directory = path.parent
            if (directory / schema.BENCHMARK_INFO).is_file() or not (directory / schema.GROUND_TRUTH).is_file():
                continue
            manifest = json.loads(path.read_text())
            if schema.kind_of(manifest) != schema.PROXY_RUN:
                continue
            count += 1
            if check:
                log.error("%s lacks %s", directory, schema.BENCHMARK_INFO)
                continue
            config = manifest["config"]
            try:
                benchmark = run_benchmark(config)
            except (UserError, SpaceError, KeyError) as exc:
                log.error("%s: cannot tell its benchmark (%s); left without %s", directory, exc, schema.BENCHMARK_INFO)
                continue
            RunStore(directory).write_benchmark_info(benchmark_info(config["space"], benchmark))
            log.info("%s: benchmark %s", directory, benchmark.name)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", type=Path, help="folders to search for manifest.json")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a manifest lacks its kind or a benchmark run its benchmark.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    missing = [str(r) for r in args.roots if not r.is_dir()]
    if missing:
        print(f"migrate_manifests: error: not a folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    changed, unknown = migrate(args.roots, args.check)
    log.info("%d manifest(s) %s, %d unknown", changed, "lack a kind" if args.check else "migrated", unknown)
    infos = add_benchmark_info(args.roots, args.check)
    log.info("%d benchmark run(s) %s %s", infos, "lack" if args.check else "got", schema.BENCHMARK_INFO)
    return 1 if unknown or (args.check and (changed or infos)) else 0


if __name__ == "__main__":
    sys.exit(main())
