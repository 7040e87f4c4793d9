"""Crash-safe run directories.

A run directory holds a ``manifest.json`` (kind, command, config, seeds, package versions,
git revision, device, start time), written atomically when the run starts. A later command
with a different config is refused, never merged or overwritten; a later command with the
same config that differs from every recorded one (e.g. one that adds tasks to a training)
is appended to ``later_commands`` with its time and revision.

For proxy runs and searches the directory also holds ``rows.csv``, one row per
architecture × proxy × seed (:data:`bench.store.schema.ROW_FIELDS`), appended through
:func:`bench.store.writer.append_rows` only when an architecture's proxies are complete;
rows whose key (:data:`~bench.store.schema.KEY_FIELDS`) is present are skipped, so
rerunning the same command finishes the run with every row once. A finished run may keep its
rows gzip-compressed as ``rows.csv.gz`` (committed results stay small); readers take either,
and resuming such a run unpacks it back to ``rows.csv`` first. File names and the kinds
of directories are those of :mod:`bench.store.schema`.

Statistics and reports read these files; they never recompute proxies.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from bench.errors import UserError
from bench.store import schema
from bench.store.manifest import canonical, config_differences, device_description, git_revision, now, package_versions
from bench.store.lock import held_or_refused
from bench.store.writer import append_rows, repair_tail, write_atomic


class RunStore:
    """One result directory: its manifest and, for proxy runs and searches, its rows and ground truth."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.dir = Path(run_dir)

    @property
    def rows_path(self) -> Path:
        return self.dir / schema.ROWS

    def manifest(self) -> dict[str, Any]:
        """The run's manifest.

        Raises:
            UserError: when the directory holds no readable run.
        """
        path = self.dir / schema.MANIFEST
        if not path.is_file():
            raise UserError(f"{self.dir} is not a run directory (no {schema.MANIFEST}); create one with `bench run --out {self.dir}`")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise UserError(f"{path} is not valid JSON ({exc}); the run directory is damaged") from exc

    def kind(self) -> str | None:
        """The kind the manifest records (:data:`bench.store.schema.KINDS`)."""
        return schema.kind_of(self.manifest())

    def open(self, config: Mapping[str, Any], command: list[str], *, kind: str) -> bool:
        """Start the run, or resume it when the directory holds the same config.

        Args:
            config: everything that determines the results; a rerun must match it.
            command: the command line, recorded in the manifest.
            kind: the directory's kind (one of :data:`bench.store.schema.KINDS`).

        Returns:
            ``True`` when an existing run is resumed.

        Raises:
            UserError: when the directory holds a run of another kind or with a different
                config, or is a non-empty directory that is not a run.
        """
        if kind not in schema.KINDS:
            raise ValueError(f"unknown run kind {kind!r}; known: {', '.join(schema.KINDS)}")
        config = canonical(config)
        path = self.dir / schema.MANIFEST
        if path.is_file():
            old = self.manifest()
            stored = schema.kind_of(old)
            if stored is not None and stored != kind:
                raise UserError(f"{self.dir} holds a {stored} directory, not a {kind}; use another --out directory")
            diffs = config_differences(old.get("config", {}), config)
            if diffs:
                raise UserError(
                    f"{self.dir} holds a run with a different config ({'; '.join(diffs)}); "
                    "use another --out directory, or rerun with the original options to resume"
                )
            changed = stored is None
            old["kind"] = kind
            if self._record_later_command(old, command) or changed:
                self._write_manifest(old)
            self._unpack_rows()
            repair_tail(self.rows_path)
            return True
        if self.dir.exists() and any(entry.name != schema.DIR_LOCK for entry in self.dir.iterdir()):
            raise UserError(f"{self.dir} is not empty and holds no run; choose an empty or new --out directory")
        manifest = {
            "kind": kind,
            "command": command,
            "config": config,
            "versions": package_versions(),
            "git_revision": git_revision(),
            "device": device_description(),
            "started": now(),
        }
        self._write_manifest(manifest)
        return False

    def begin_invocation(self) -> dict[str, Any]:
        """Start timing this process's work on the run (see :meth:`end_invocation`)."""
        return {"started": now(), "clock": time.monotonic()}

    def end_invocation(self, invocation: Mapping[str, Any], *, scored: int, worker_threads: set[int], complete: bool) -> None:
        """Record one invocation in the manifest's ``invocations``: when it started and ended, its wall
        seconds, the architectures it scored and the torch threads its workers really used. When
        the run first completes, ``finished`` and ``wall_seconds`` (summed over invocations) are set."""
        manifest = self.manifest()
        entry = {
            "started": invocation["started"],
            "ended": now(),
            "wall_seconds": round(time.monotonic() - invocation["clock"], 3),
            "scored": scored,
            "worker_threads": sorted(t for t in worker_threads if t > 0),
        }
        manifest.setdefault("invocations", []).append(entry)
        if complete and "finished" not in manifest:
            manifest["finished"] = entry["ended"]
            manifest["wall_seconds"] = round(sum(item["wall_seconds"] for item in manifest["invocations"]), 3)
        self._write_manifest(manifest)

    @staticmethod
    def _record_later_command(manifest: dict[str, Any], command: list[str]) -> bool:
        """Append ``command`` to ``later_commands`` unless it is already recorded; ``True`` when added."""
        later = manifest.get("later_commands", [])
        if not command or command == manifest.get("command") or any(entry.get("command") == command for entry in later):
            return False
        later.append({"command": command, "git_revision": git_revision(), "at": now()})
        manifest["later_commands"] = later
        return True

    def _unpack_rows(self) -> None:
        """Turn a compressed ``rows.csv.gz`` back into the ``rows.csv`` appends go to."""
        packed = self.dir / schema.ROWS_GZ
        if packed.is_file() and not self.rows_path.is_file():
            write_atomic(self.rows_path, gzip.decompress(packed.read_bytes()).decode("utf-8"))
            packed.unlink()

    def _write_manifest(self, manifest: Mapping[str, Any]) -> None:
        write_atomic(self.dir / schema.MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    def hold(self):
        """Hold the directory for one writer: a second process is refused at once (``.lock``)."""
        return held_or_refused(self.dir / schema.DIR_LOCK, f"run directory {self.dir}")

    def done_keys(self) -> set[tuple[str, ...]]:
        """Keys (space, arch_hash, proxy, proxy_version, seed) of the rows already stored."""
        content = row_bytes(self.rows_path)
        if content is None:
            return set()
        return {tuple(row[k] for k in schema.KEY_FIELDS) for row in csv.DictReader(io.StringIO(content.decode("utf-8"), newline=""))}

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append complete rows with one write and an fsync."""
        append_rows(self.rows_path, schema.ROW_FIELDS, rows)

    def record_failures(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append rows that failed for a reason that may not recur to ``failures.csv`` (not results)."""
        append_rows(self.dir / schema.FAILURES, schema.ROW_FIELDS, rows)

    def rows(self) -> pd.DataFrame:
        """All stored rows (NaN values kept, with their status)."""
        return read_row_table(self.rows_path)

    def write_ground_truth(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Store the benchmark scores of the run's architectures (bench_id, arch_hash, task, score)."""
        frame = pd.DataFrame(list(records), columns=list(schema.TRUTH_FIELDS))
        write_atomic(self.dir / schema.GROUND_TRUTH, frame.to_csv(index=False))

    def write_benchmark_info(self, info: Mapping[str, Any]) -> None:
        """Store which benchmark the ground truth comes from: ``space``, ``name``, ``main_task``
        (the task architectures are ranked by), ``main_label`` and ``tasks`` (readers such as
        the report need no space to know them)."""
        write_atomic(self.dir / schema.BENCHMARK_INFO, json.dumps(dict(info), indent=2, sort_keys=True) + "\n")

    def write_proxy_info(self, info: list[dict[str, Any]]) -> None:
        """Store what reports need to know about the run's proxies."""
        write_atomic(self.dir / schema.PROXY_INFO, json.dumps(info, indent=2) + "\n")

    def proxy_info(self) -> dict[str, dict[str, Any]]:
        """Proxy name -> stored label, version, direction, gradient use (empty when absent)."""
        path = self.dir / schema.PROXY_INFO
        if not path.is_file():
            return {}
        return {item["proxy"]: item for item in json.loads(path.read_text())}

    def ground_truth(self) -> pd.DataFrame | None:
        """The stored ground truth, or ``None`` for runs without benchmark scores."""
        path = self.dir / schema.GROUND_TRUTH
        if not path.is_file():
            return None
        return pd.read_csv(path, dtype={"arch_hash": str})


def row_bytes(path: Path) -> bytes | None:
    """The bytes of a ``rows.csv``, or of its compressed ``rows.csv.gz`` beside it; ``None`` when neither exists."""
    if path.is_file():
        return path.read_bytes()
    packed = path.with_name(path.name + ".gz")
    return gzip.decompress(packed.read_bytes()) if packed.is_file() else None


def read_row_table(path: Path, complete_only: bool = False) -> pd.DataFrame:
    """A ``rows.csv`` (or its ``rows.csv.gz``) as a frame (NaN values kept); empty with the schema's columns when absent.

    ``complete_only`` ignores everything after the last newline without touching the file
    (for readers of a run another process may be appending to).
    """
    content = row_bytes(path)
    if content is None:
        return pd.DataFrame(columns=list(schema.ROW_FIELDS))
    if complete_only:
        content = content[: content.rfind(b"\n") + 1]
    if not content.strip():
        return pd.DataFrame(columns=list(schema.ROW_FIELDS))
    return pd.read_csv(io.BytesIO(content), dtype=schema.ROW_DTYPES, keep_default_na=False, na_values={"value": ["nan", "NaN"]})
