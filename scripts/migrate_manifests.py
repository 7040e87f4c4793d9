"""Add the run ``kind`` to manifests written before manifests recorded one.

Usage:
    python scripts/migrate_manifests.py results [MORE_DIRS ...] [--check]

Every ``manifest.json`` under the given folders that lacks ``kind`` gets the kind its
directory holds (:data:`bench.store.schema.KINDS`), inferred once here from what the
directory contains, so that readers never have to guess:

* ``config.kind`` ``search`` or ``spos-supernet`` -> that kind;
* ``metrics.csv`` -> ``evaluation``; ``model.json`` or a ``general/`` stage -> ``training``;
* ``rows.csv`` -> ``proxy-run``.

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", type=Path, help="folders to search for manifest.json")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a manifest lacks its kind")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    missing = [str(r) for r in args.roots if not r.is_dir()]
    if missing:
        print(f"migrate_manifests: error: not a folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    changed, unknown = migrate(args.roots, args.check)
    log.info("%d manifest(s) %s, %d unknown", changed, "lack a kind" if args.check else "migrated", unknown)
    return 1 if unknown or (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
