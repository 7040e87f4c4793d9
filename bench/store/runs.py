"""Crash-safe run directories.

A run directory holds:

``manifest.json``      command, config, seeds, package versions, git revision, device, start
                       time; written (atomically) when the run starts. A later command with
                       a different config is refused, never merged or overwritten; a later
                       command with the same config that differs from every recorded one
                       (e.g. one that adds tasks to a training) is appended to
                       ``later_commands`` with its time and revision.
``rows.csv``           the tidy result table, one row per architecture × proxy × seed,
                       appended (one ``write`` + ``fsync`` per architecture) only when an
                       architecture's proxies are complete. A torn last line left by a kill
                       is cut off on the next open; rows whose key is present are skipped,
                       so rerunning the same command finishes the run with every row once.
``ground_truth.csv``   for benchmark architectures: benchmark id, architecture hash, task, score.
``proxies.json``       label, version, direction and gradient use of each proxy of the run.

Statistics and reports read these files; they never recompute proxies.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from bench.errors import UserError

ROW_FIELDS: tuple[str, ...] = (
    "space",
    "arch_id",
    "arch_hash",
    "arch",
    "proxy",
    "proxy_version",
    "seed",
    "value",
    "seconds",
    "pass_seconds",
    "status",
    "error",
)
KEY_FIELDS: tuple[str, ...] = ("space", "arch_hash", "proxy", "proxy_version", "seed")
MANIFEST = "manifest.json"
PROXY_INFO = "proxies.json"
ROWS = "rows.csv"
GROUND_TRUTH = "ground_truth.csv"
_PACKAGES = ("proxybench", "torch", "transformers", "numpy", "scipy", "pandas", "joblib")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as tmp:
        tmp.write(text)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, path)


def git_revision() -> str:
    """The project's git revision (with ``+dirty`` for uncommitted changes), or ``unknown``."""
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, timeout=10)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages results depend on."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def device_description() -> str:
    """CPU model and thread count (or the CUDA device) the run used."""
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu: {model}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"


def _canonical(obj: Any) -> Any:
    return json.loads(json.dumps(obj, sort_keys=True))


def config_differences(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Human-readable differences between two configs (``key: old -> new``)."""
    diffs = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            diffs.extend(config_differences(a, b, f"{prefix}{key}."))
        elif a != b:
            diffs.append(f"{prefix}{key}: {json.dumps(a)} -> {json.dumps(b)}")
    return diffs


def repair_tail(path: Path) -> None:
    """Cut an incomplete last line (from a kill during a write) off ``path``."""
    if not path.is_file():
        return
    with open(path, "rb+") as handle:
        content = handle.read()
        if content and not content.endswith(b"\n"):
            handle.truncate(content.rfind(b"\n") + 1)


class RunStore:
    """One run directory: its manifest, its append-only rows and its ground truth."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.dir = Path(run_dir)

    @property
    def rows_path(self) -> Path:
        return self.dir / ROWS

    def manifest(self) -> dict[str, Any]:
        """The run's manifest.

        Raises:
            UserError: when the directory holds no readable run.
        """
        path = self.dir / MANIFEST
        if not path.is_file():
            raise UserError(f"{self.dir} is not a run directory (no {MANIFEST}); create one with `bench run --out {self.dir}`")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise UserError(f"{path} is not valid JSON ({exc}); the run directory is damaged") from exc

    def open(self, config: Mapping[str, Any], command: list[str]) -> bool:
        """Start the run, or resume it when the directory holds the same config.

        Returns:
            ``True`` when an existing run is resumed.

        Raises:
            UserError: when the directory holds a run with a different config, or is a
                non-empty directory that is not a run.
        """
        config = _canonical(config)
        path = self.dir / MANIFEST
        if path.is_file():
            old = self.manifest()
            diffs = config_differences(old.get("config", {}), config)
            if diffs:
                raise UserError(
                    f"{self.dir} holds a run with a different config ({'; '.join(diffs)}); "
                    "use another --out directory, or rerun with the original options to resume"
                )
            self._record_later_command(old, command)
            self._repair_rows()
            return True
        if self.dir.exists() and any(self.dir.iterdir()):
            raise UserError(f"{self.dir} is not empty and holds no run; choose an empty or new --out directory")
        manifest = {
            "command": command,
            "config": config,
            "versions": package_versions(),
            "git_revision": git_revision(),
            "device": device_description(),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        self._write_manifest(manifest)
        return False

    def _record_later_command(self, manifest: dict[str, Any], command: list[str]) -> None:
        """Append ``command`` to ``later_commands`` unless it is already recorded."""
        later = manifest.get("later_commands", [])
        if not command or command == manifest.get("command") or any(entry.get("command") == command for entry in later):
            return
        later.append({"command": command, "git_revision": git_revision(),
                      "at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        manifest["later_commands"] = later
        self._write_manifest(manifest)

    def _write_manifest(self, manifest: Mapping[str, Any]) -> None:
        write_atomic(self.dir / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    def _repair_rows(self) -> None:
        """Cut a torn last line (from a kill during a write) off ``rows.csv``."""
        repair_tail(self.rows_path)

    def done_keys(self) -> set[tuple[str, ...]]:
        """Keys (space, arch_hash, proxy, proxy_version, seed) of the rows already stored."""
        if not self.rows_path.is_file():
            return set()
        with open(self.rows_path, newline="", encoding="utf-8") as handle:
            return {tuple(row[k] for k in KEY_FIELDS) for row in csv.DictReader(handle)}

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append complete rows with one write and an fsync."""
        rows = list(rows)
        if not rows:
            return
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=ROW_FIELDS, lineterminator="\n")
        new_file = not self.rows_path.is_file() or self.rows_path.stat().st_size == 0
        if new_file:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: _format(row.get(k, "")) for k in ROW_FIELDS})
        payload = buffer.getvalue().encode("utf-8")
        fd = os.open(self.rows_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)

    def rows(self) -> pd.DataFrame:
        """All stored rows (NaN values kept, with their status)."""
        if not self.rows_path.is_file():
            return pd.DataFrame(columns=list(ROW_FIELDS))
        return pd.read_csv(self.rows_path, dtype={"arch_hash": str, "proxy_version": str, "error": str}, keep_default_na=False, na_values={"value": ["nan", "NaN"]})

    def write_ground_truth(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Store the benchmark scores of the run's architectures (bench_id, arch_hash, task, score)."""
        frame = pd.DataFrame(list(records), columns=["bench_id", "arch_hash", "task", "score"])
        write_atomic(self.dir / GROUND_TRUTH, frame.to_csv(index=False))

    def write_proxy_info(self, info: list[dict[str, Any]]) -> None:
        """Store what reports need to know about the run's proxies."""
        write_atomic(self.dir / PROXY_INFO, json.dumps(info, indent=2) + "\n")

    def proxy_info(self) -> dict[str, dict[str, Any]]:
        """Proxy name -> stored label, version, direction, gradient use (empty when absent)."""
        path = self.dir / PROXY_INFO
        if not path.is_file():
            return {}
        return {item["proxy"]: item for item in json.loads(path.read_text())}

    def ground_truth(self) -> pd.DataFrame | None:
        """The stored ground truth, or ``None`` for runs without benchmark scores."""
        path = self.dir / GROUND_TRUTH
        if not path.is_file():
            return None
        return pd.read_csv(path, dtype={"arch_hash": str})


def _format(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)
    return value


def stderr_is_terminal() -> bool:
    """Whether progress bars should be drawn."""
    return sys.stderr.isatty()
